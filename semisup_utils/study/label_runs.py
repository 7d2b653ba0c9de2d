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

from ..data.dataset import split_known
from ..teachers.label_inference import check_method, expected_calibration_error, probabilities
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
              test: bool = False, validation: float | int | None = None) -> dict:
    """The stored row of ``method`` on ``views`` at (M, seed), computed by
    :func:`score_teacher` and stored when missing: the one writer of ``labels.jsonl``.
    ``test``: a row computed now also holds the fitted classifier's accuracy and ECE on the
    test images (``test_acc``, ``test_ece``: what a student taught by it is compared with),
    for methods that can label new images; a row stored without them is returned as it is.
    ``validation``: a share (or number) of the known images held out of the fit and scored
    (``val_acc``, ``val_ece``: what a teacher is chosen by; ``teacher_eval.held_out_run``),
    stored under the key plus ``validation``, so the two fits never mix."""
    from .runs import provenance

    store = store or label_store(ctx)
    key = label_key(data, method, views, m, seed, validation=validation)
    row = store.find(key)
    if row is not None:
        return row
    scores = score_teacher(data, method, views, m, seed, ctx, validation=validation,
                           test=test or bool(validation))
    return store.add(key, {**label_row(scores), "provenance": provenance(data, ctx)})


# the fields of a row of labels.jsonl, in order, from score_teacher's names (the unknown
# images' ECE is stored as "ece", its name since the first rows)
_ROW_FIELDS = {"label_acc": "label_acc", "label_ece": "ece", "val_acc": "val_acc",
               "val_ece": "val_ece", "test_acc": "test_acc", "test_ece": "test_ece",
               "fit_s": "seconds", "embed_s": "embed_s", "n_unknown": "n_unknown"}


def label_row(scores: dict) -> dict:
    """The row layout of ``labels.jsonl`` (provenance aside): :func:`score_teacher`'s scores
    under their stored names, the ones it did not compute left out."""
    return {stored: scores[name] for name, stored in _ROW_FIELDS.items() if name in scores}


def score_teacher(data, method: str, views, m: int, seed: int, ctx, *,
                  validation: float | int | None = None, test: bool = True, model_a=None,
                  engine: str | None = None) -> dict:
    """The one fit-and-score path of a teacher: ``method`` fitted on the known images' features
    of ``views`` at (M, seed) (less a ``validation`` share, held out and scored), through the
    label cache the training runs' teachers share (:meth:`teachers.Teacher.fit`), scored on
    the unknown images (``label_acc``, ``label_ece``), the held-out ones (``val_acc``,
    ``val_ece``) and, with ``test``, on the test images (``test_acc``, ``test_ece``; left out
    for a method that cannot label new images). The test images are labelled by the fitted
    model, refitted when the fit came from the cache (which keeps no classifier).
    ``model_a``: Model A's network, averaged with the teacher (teachers.average_with_model_a).
    ``fit_s``: the fit's seconds (as cached); ``embed_s``: the embeddings' seconds, train and
    test images (as cached; None when unknown)."""
    from ..data.dataset import validation_split
    from ..teachers.label_inference import fit_method
    from ..teachers.teachers import average_with_model_a, get_teacher, lazy_features, view_features

    teacher = get_teacher(method)
    engine = engine or ctx.embed_engine
    known, unknown = split_known(data.y_train, m, seed)
    fit, held = (validation_split(data.y_train, known, validation, seed) if validation
                 else (known, known[:0]))
    features = lazy_features(data, views, seed, ctx, engine)
    guess, seconds = teacher.fit(data, views, fit, seed, ctx, features)
    proba = probabilities(guess)  # over every image not fit on: unknown and held out
    if model_a is not None:
        proba = average_with_model_a(proba, model_a, data.x_train[guess.indices], ctx.device)
    rows = {name: np.searchsorted(guess.indices, idx) for name, idx in
            (("label", unknown), ("val", held))}
    out = {**_scores(proba[rows["label"]], data.y_train[unknown], "label")}
    if len(held):
        out.update(_scores(proba[rows["val"]], data.y_train[held], "val"))
    if test:
        if guess.predict is None:  # read from the cache: the classifier is refitted
            guess = fit_method(method, features(), fit, data.y_train[fit], seed=seed,
                               n_classes=data.n_classes)
        if guess.predict is not None:
            test_proba = guess.predict(view_features(data, views, seed, ctx, split="test",
                                                     engine=engine))
            if model_a is not None:
                test_proba = average_with_model_a(test_proba, model_a, data.x_test,
                                                  ctx.device)
            out.update(_scores(test_proba, data.y_test, "test"))
    embed = [views_embed_seconds(data, views, ctx, split, engine) for split in ("train", "test")]
    return {**out, "fit_s": round(float(seconds), 3),
            "embed_s": None if None in embed else round(sum(embed), 2),
            "n_unknown": int(len(unknown))}


def _scores(proba: np.ndarray, truth: np.ndarray, prefix: str) -> dict:
    """Accuracy and ECE of probabilities against true labels, under ``prefix``."""
    correct = proba.argmax(1) == truth
    return {f"{prefix}_acc": float(correct.mean()),
            f"{prefix}_ece": float(expected_calibration_error(proba.max(1), correct))}


def views_embed_seconds(data, views, ctx, split: str = "train",
                        engine: str = "torch") -> float | None:
    """Seconds the views' embeddings took when they were computed (cached record), summed;
    None when one is not cached. PCA views count 0 (seconds, not minutes)."""
    from ..teachers.features import embed_seconds
    from ..teachers.teachers import parse_view

    images = data.x_train if split == "train" else data.x_test
    fingerprint = data.fingerprint if split == "train" else f"{data.fingerprint}:test"
    total = 0.0
    for view in views:
        backbone, size, flip = parse_view(view)
        if backbone == "pca":
            continue
        seconds = embed_seconds(images, backbone, size, cache_dir=ctx.cache_dir,
                                fingerprint=fingerprint, engine=engine, flip=flip)
        if seconds is None:
            return None
        total += seconds
    return total


def label_study(data, methods, views_list, ms, seed: int, ctx) -> pd.DataFrame:
    """One row per (views, M, method): what :func:`label_run` stores, as a table."""
    from ..teachers.teachers import view_name

    store = label_store(ctx)
    rows = []
    for views in views_list:
        for m in ms:
            for method in methods:
                row = label_run(data, method, views, m, seed, ctx, store)
                rows.append({"views": view_name(views),
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
    from ..teachers.teachers import view_features

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
    from ..teachers.teachers import get_teacher, known_probabilities, view_name

    known, _ = split_known(data.y_train, m, seed)
    rows, seen = [], set()
    for recipe in recipes:
        if recipe.known_mix:
            known_probabilities(recipe, data, known, seed, ctx)
        if (recipe.teacher, recipe.views) in seen:
            continue
        seen.add((recipe.teacher, recipe.views))
        get_teacher(recipe.teacher).fit(data, recipe.views, known, seed, ctx)
        row = label_run(data, recipe.teacher, recipe.views, m, seed, ctx, test=True)
        rows.append({"teacher": recipe.teacher,
                     "views": view_name(recipe.views),
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

    from .executors import WorkerContext

    where = WorkerContext.of(ctx, "cpu", threads)
    with ProcessPoolExecutor(min(workers, len(work)), initializer=_init_fit_worker,
                             initargs=(data, where),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return [row for rows in pool.map(_fit_in_worker, work) for row in rows]


__all__ = ["LABELS_FILE", "fit_teachers", "label_key", "label_row", "label_run", "label_store",
           "label_study", "score_teacher", "views_embed_seconds"]
