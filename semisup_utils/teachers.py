"""Where the unknown images' labels come from: a registry of teachers, as USB registers its
algorithms.

Every teacher is one entry of :data:`TEACHERS`, of one kind:

- ``none``: no inferred labels (Model A learns from the known images alone);
- ``truth``: every true label (the ceiling: the same CNN on all labels);
- ``consistency``: no labels before training; the student labels the unknown images itself as
  it trains (FixMatch, an objective of :func:`semisup_utils.train.train`);
- ``model``: Model A's predictions (the report's Model C);
- ``embeddings``: a label-inference method of :mod:`semisup_utils.labels` (K-means with a
  cluster map, kNN, logistic regression, calibrated or not, label spreading) fitted on the
  known images' features from pretrained backbones or PCA.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import BACKBONES, check_input_size, embed, fit_pca, get_backbone
from .labels import METHODS, infer_labels_cached, probabilities


class UnknownTeacherError(KeyError):
    def __str__(self):
        return str(self.args[0])


@dataclass(frozen=True)
class Teacher:
    name: str
    kind: str  # none | truth | consistency | model | embeddings
    description: str

    @property
    def uses_embeddings(self) -> bool:
        return self.kind == "embeddings"

    @property
    def infers_labels(self) -> bool:
        """Whether it gives labels for the unknown images before training."""
        return self.kind in ("model", "embeddings")

    def check(self, recipe) -> None:
        """Refuse recipe settings this teacher cannot honour."""
        if self.kind == "consistency" and (recipe.selection != "threshold" or recipe.soft
                                           or recipe.rounds != 1 or recipe.with_model_a):
            raise ValueError(f"teacher={self.name!r} keeps pseudo-labels by confidence: use "
                             "selection='threshold', hard labels, one round, no Model A")
        if self.uses_embeddings:
            if not recipe.views:
                raise ValueError(f"teacher={self.name!r} needs at least one view "
                                 "(backbone, input size)")
            for backbone, size in recipe.views:
                if backbone != "pca":
                    get_backbone(backbone)
                check_input_size(size)


TEACHERS: dict[str, Teacher] = {
    "none": Teacher("none", "none", "no inferred labels: the known images only"),
    "truth": Teacher("truth", "truth", "every true label (the ceiling)"),
    "fixmatch": Teacher("fixmatch", "consistency",
                        "the student's own confident predictions on a weak view, learnt on a "
                        "strong view (FixMatch)"),
    "cnn": Teacher("cnn", "model", "Model A's predictions on the unknown images"),
    **{name: Teacher(name, "embeddings", f"{name} on the known images' features")
       for name in METHODS if name != "cnn"},
}


def check_teacher(name: str) -> str:
    if name not in TEACHERS:
        raise UnknownTeacherError(f"teacher={name!r}: expected one of {', '.join(TEACHERS)}")
    return name


def get_teacher(name: str) -> Teacher:
    return TEACHERS[check_teacher(name)]


def view_features(data, views, seed: int, ctx) -> np.ndarray:
    """The training images' features of every view, concatenated: backbone embeddings (cached
    on disk) or, for the view ``("pca", _)``, PCA of the pixels (80% of variance, whitened)."""
    parts = []
    for backbone, size in views:
        if backbone == "pca":
            parts.append(fit_pca(data.x_train, 0.8, whiten=True, seed=seed)[1])
        else:
            parts.append(embed(data.x_train, backbone, size, device=ctx.device,
                               cache_dir=ctx.cache_dir, fingerprint=data.fingerprint,
                               progress=ctx.progress))
    return np.concatenate(parts, axis=1)


def inferred_labels(method: str, data, views, known: np.ndarray, seed: int, ctx):
    """(labels, seconds): ``method`` fitted on the known images' features of ``views``, through
    the on-disk cache, so a label-inference study and the teachers of the runs share every
    fit (one cache key: the data, the views, the method, the seed and the known images)."""
    return infer_labels_cached(
        method, lambda: view_features(data, views, seed, ctx), known, data.y_train[known],
        seed=seed, cache_dir=ctx.cache_dir, n=data.n_train,
        key={"data": data.fingerprint, "views": [list(v) for v in views]},
        n_classes=data.n_classes)


def probabilities_of(recipe, data, known: np.ndarray, unknown: np.ndarray, seed: int, ctx,
                     model_a=None) -> np.ndarray:
    """(n_unknown, n_classes) probabilities the recipe's teacher gives the unknown images,
    averaged with Model A's (``model_a``) when the recipe asks for both."""
    from .train import predict_proba

    teacher = get_teacher(recipe.teacher)
    if not teacher.infers_labels:
        raise ValueError(f"teacher {teacher.name!r} gives no labels before training")
    parts = []
    if teacher.uses_embeddings:
        guess, _ = inferred_labels(teacher.name, data, recipe.views, known, seed, ctx)
        parts.append(probabilities(guess))
    if recipe.needs_model_a:
        if model_a is None:
            raise ValueError(f"recipe {recipe.name!r} needs Model A's network (model_a=)")
        parts.append(predict_proba(model_a, data.x_train[unknown], device=ctx.device))
    return np.mean(parts, axis=0)


__all__ = ["TEACHERS", "Teacher", "UnknownTeacherError", "check_teacher", "get_teacher",
           "inferred_labels", "probabilities_of", "view_features", "BACKBONES"]
