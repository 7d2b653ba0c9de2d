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


__all__ = ["LABELS_FILE", "label_key", "label_run", "label_store", "label_study",
           "test_metrics"]
