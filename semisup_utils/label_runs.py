"""Label-inference runs: a method fitted on the features of some views at one (M, seed), its
label accuracy on the unknown images and calibration, kept in ``results/labels.jsonl``.

A label-inference study costs embeddings of every training image and tens of fits (minutes
each at large M); like a trained CNN, its result is computed once, stored beside the runs and
read back, so the published book renders without refitting. A missing row is computed (the
fitted labels themselves go to the on-disk cache, shared with the teachers of training runs).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import split_known
from .labels import check_method, expected_calibration_error, probabilities
from .schema import SCHEMA
from .store import ResultsStore

LABELS_FILE = "labels.jsonl"


def label_store(ctx) -> ResultsStore:
    """The label-inference rows, in the folder of the context's results store."""
    return ResultsStore(ctx.store.directory, LABELS_FILE)


def label_key(data, method: str, views, m: int, seed: int,
              validation: float | int | None = None) -> dict:
    """The fields that make two label-inference runs the same (``validation``: the share or
    number of known images held out of the fit, when some are)."""
    key = {"schema": SCHEMA, "kind": "labels", "data": data.fingerprint,
           "n_train": int(data.n_train), "method": check_method(method),
           "views": [list(v) for v in views], "m": int(m), "seed": int(seed),
           "labels_version": 1}
    if validation:
        key["validation"] = validation
    return key


def label_run(data, method: str, views, m: int, seed: int, ctx, store=None,
              test: bool = False) -> dict:
    """The stored row of ``method`` on ``views`` at (M, seed), computed and stored when
    missing: label accuracy on the unknown images, ECE of the confidences, fit seconds.
    ``test``: a row computed now also holds the fitted classifier's accuracy and ECE on the
    test images (``test_acc``, ``test_ece``: what a student taught by it is compared with),
    for methods that can label new images; a row stored without them is returned as it is.
    (A fit that holds some known images out is ``teacher_eval.held_out_run``'s, stored here
    under the key plus ``validation``.)"""
    from .runs import provenance
    from .teachers import inferred_labels

    store = store or label_store(ctx)
    key = label_key(data, method, views, m, seed)
    row = store.find(key)
    if row is not None:
        return row
    known, unknown = split_known(data.y_train, m, seed)
    guess, seconds = inferred_labels(method, data, views, known, seed, ctx)
    proba = probabilities(guess)
    right = guess.labels == data.y_train[unknown]
    result = {"label_acc": float(right.mean()),
              "ece": float(expected_calibration_error(proba.max(1), right)),
              "seconds": float(seconds), "n_unknown": int(len(unknown)),
              "provenance": provenance(data, ctx)}
    if test:
        result.update(test_metrics(data, method, views, known, seed, ctx, guess))
    return store.add(key, result)


def test_metrics(data, method: str, views, known: np.ndarray, seed: int, ctx,
                 guess=None) -> dict:
    """``test_acc`` and ``test_ece`` of ``method`` fitted on the known images' features,
    applied to the test images' features ({} for a method that cannot label new images).
    ``guess``: the fit, when it still holds its classifier (a cached one does not: refit)."""
    from .labels import infer_labels
    from .teachers import view_features

    if guess is None or guess.predict is None:
        guess = infer_labels(method, view_features(data, views, seed, ctx), known,
                             data.y_train[known], seed=seed, n_classes=data.n_classes)
    if guess.predict is None:
        return {}
    proba = guess.predict(view_features(data, views, seed, ctx, split="test"))
    right = proba.argmax(1) == data.y_test
    return {"test_acc": float(right.mean()),
            "test_ece": float(expected_calibration_error(proba.max(1), right))}


def label_study(data, methods, views_list, ms, seed: int, ctx) -> pd.DataFrame:
    """One row per (views, M, method): what :func:`label_run` stores, as a table."""
    store = label_store(ctx)
    rows = []
    for views in views_list:
        for m in ms:
            for method in methods:
                row = label_run(data, method, views, m, seed, ctx, store)
                rows.append({"views": " + ".join(f"{b}@{s}" for b, s, *_ in views),
                             "input_size": int(views[0][1]) if len(views) == 1 else None,
                             "M": int(m), "method": method, "label_acc": row["label_acc"],
                             "ece": row["ece"], "seconds": row["seconds"]})
    return pd.DataFrame(rows)


def fit_teachers(data, runs, ctx, workers: int = 1, threads: int = 1) -> pd.DataFrame:
    """The label run of every embedding teacher of ``runs`` (per teacher, views, M and seed)
    with its test accuracy, fitted now or read from the label store: what the teachers
    chapter shows beside its students (``findings.teacher_scores``); and every fit in the
    label cache, also where its row is stored, so that no training process fits one (two
    runs of one teacher side by side would each fit it) and the cache alone can travel to
    the machine that trains. A ``known_mix`` recipe's out-of-fold fits are cached too.

    ``workers``: processes fitting side by side (one (M, seed) each, ``threads`` torch
    threads), after each view is embedded here, once."""
    from .teachers import view_features

    jobs: dict[tuple, dict] = {}  # (M, seed): {(teacher, views, known_mix): recipe}
    for run in runs:
        recipe = run.recipe
        if recipe.uses_embeddings:
            jobs.setdefault((int(run.m), int(run.seed)), {})[
                (recipe.teacher, tuple(recipe.views), recipe.known_mix)] = recipe
    for views in {key[1] for recipes in jobs.values() for key in recipes}:
        if all(view[0] != "pca" for view in views):  # PCA is fitted per seed, in the fit
            for split in ("train", "test"):
                view_features(data, views, 0, ctx, split=split)
    work = [(m, seed, list(recipes.values())) for (m, seed), recipes in jobs.items()]
    if workers <= 1 or len(work) <= 1:
        rows = [row for job in work for row in _fit_job(data, ctx, *job)]
    else:
        rows = _fit_in_pool(data, ctx, work, workers, threads)
    return pd.DataFrame(rows, columns=["teacher", "views", "M", "seed", "label_acc",
                                       "test_acc", "seconds"])


def _fit_job(data, ctx, m: int, seed: int, recipes) -> list[dict]:
    """One (M, seed): each recipe's teacher fitted (or read) into the label cache and its
    label run stored, with its test accuracy; a ``known_mix`` recipe's out-of-fold fits."""
    from .teachers import inferred_labels, known_probabilities

    known, _ = split_known(data.y_train, m, seed)
    rows, seen = [], set()
    for recipe in recipes:
        if recipe.known_mix:
            known_probabilities(recipe, data, known, seed, ctx)
        if (recipe.teacher, recipe.views) in seen:
            continue
        seen.add((recipe.teacher, recipe.views))
        inferred_labels(recipe.teacher, data, recipe.views, known, seed, ctx)
        row = label_run(data, recipe.teacher, recipe.views, m, seed, ctx, test=True)
        rows.append({"teacher": recipe.teacher,
                     "views": " + ".join(f"{b}@{s}" + (" flip" if rest else "")
                                         for b, s, *rest in recipe.views),
                     "M": m, "seed": seed, "label_acc": row["label_acc"],
                     "test_acc": row.get("test_acc"), "seconds": row["seconds"]})
    return rows


_FIT_WORKER = {}


def _init_fit_worker(data, where) -> None:
    _FIT_WORKER["data"], _FIT_WORKER["ctx"] = data, where.context()


def _fit_in_worker(job) -> list[dict]:
    return _fit_job(_FIT_WORKER["data"], _FIT_WORKER["ctx"], *job)


def _fit_in_pool(data, ctx, work, workers: int, threads: int) -> list[dict]:
    """:func:`_fit_job` of each (M, seed) in a pool of spawned processes on the CPU (the
    data sent once per process; the embeddings read from the cache)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .executors import Where

    where = Where.of(ctx, "cpu", threads)
    with ProcessPoolExecutor(min(workers, len(work)), initializer=_init_fit_worker,
                             initargs=(data, where),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return [row for rows in pool.map(_fit_in_worker, work) for row in rows]


__all__ = ["LABELS_FILE", "fit_teachers", "label_key", "label_run", "label_store",
           "label_study", "test_metrics"]
