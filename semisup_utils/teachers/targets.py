"""What a teacher's probabilities become: the training set of the CNN (which inferred labels
are kept, hard or soft at a temperature, weighted, the known images' targets mixed with the
teacher's out-of-fold view). Plain arrays in, arrays out; the teachers that give probabilities
before training (:mod:`semisup_utils.teachers.teachers`) build their students' training sets here."""
from __future__ import annotations

import numpy as np

def select(proba: np.ndarray, selection: str, threshold: float) -> np.ndarray:
    """Boolean mask of the inferred labels to keep.

    ``threshold``: confidence >= threshold. ``topk``: in every predicted class, the most
    confident ``threshold`` share (class-balanced, so no class is crowded out).
    """
    confidence, labels = proba.max(1), proba.argmax(1)
    if selection == "all":
        return np.ones(len(proba), dtype=bool)
    if selection == "threshold":
        return confidence >= threshold
    keep = np.zeros(len(proba), dtype=bool)
    for label in range(proba.shape[1]):
        members = np.flatnonzero(labels == label)
        count = int(np.ceil(threshold * len(members)))
        keep[members[np.argsort(-confidence[members], kind="stable")[:count]]] = True
    return keep


def soften(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities p**(1/T), renormalised: the teacher's distribution at temperature T
    (T > 1 softer, T < 1 sharper, T = 1 unchanged but renormalised)."""
    if temperature != 1:  # in float64: p**(1/T) of a small p underflows float32
        proba = np.power(np.clip(np.asarray(proba, np.float64), 1e-12, None), 1.0 / temperature)
    # at T = 1 the very operation the stored soft runs trained with, in the input's precision
    return (proba / proba.sum(1, keepdims=True).clip(1e-12)).astype(np.float32)


def training_set(y_train: np.ndarray, known: np.ndarray, unknown: np.ndarray,
                 proba: np.ndarray, recipe, known_proba: np.ndarray | None = None):
    """Indices (in dataset order), targets (ints, or (n, classes) probabilities when the recipe
    is soft) and weights the CNN trains on, and the mask of the inferred labels kept.

    Known images keep their true label (one-hot when soft) and weight 1; a kept unknown image
    gets the teacher's label, or its probabilities at the recipe's temperature, and the
    recipe's weight. With ``recipe.known_mix`` = a > 0, a known image's target is
    (1 - a) one-hot + a ``known_proba`` (the teacher's out-of-fold probabilities of the known
    images, in the order of ``known``, at the same temperature).
    """
    n, n_classes = len(y_train), proba.shape[1]
    keep = select(proba, recipe.selection, recipe.threshold)
    used = np.zeros(n, dtype=bool)
    used[known] = True
    used[unknown[keep]] = True
    weights = np.ones(n, dtype=np.float32)
    weights[unknown] = recipe.weight * (proba.max(1) if recipe.confidence_weight else 1)
    if recipe.soft:
        targets = np.zeros((n, n_classes), dtype=np.float32)
        targets[known, y_train[known]] = 1.0
        targets[unknown] = soften(proba, recipe.temperature)
        if recipe.known_mix:
            targets[known] = _mix_known(targets[known], known_proba, recipe, len(known))
    else:
        targets = np.asarray(y_train).copy()
        targets[unknown] = proba.argmax(1)
    index = np.flatnonzero(used)
    return index, targets[index], weights[index], keep


def _mix_known(one_hot: np.ndarray, known_proba, recipe, n_known: int) -> np.ndarray:
    """(1 - a) one-hot + a softened teacher probabilities of the known images."""
    if known_proba is None or np.shape(known_proba) != one_hot.shape:
        raise ValueError(f"recipe {recipe.name!r} mixes the known images' labels with the "
                         f"teacher's (known_mix={recipe.known_mix}): give known_proba= of shape "
                         f"({n_known}, {one_hot.shape[1]}), out-of-fold")
    return (1 - recipe.known_mix) * one_hot + recipe.known_mix * soften(known_proba,
                                                                        recipe.temperature)


__all__ = ["select", "soften", "training_set"]
