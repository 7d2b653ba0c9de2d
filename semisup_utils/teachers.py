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
            for view in recipe.views:
                parse_view(view)


VIEW_OPTIONS = ("flip",)


def parse_view(view) -> tuple[str, int, bool]:
    """(backbone, input size, flip) of a view: ``(backbone, size)`` as the stored recipes have
    it, or ``(backbone, size, "flip")`` for flip test-time augmentation (the mean of the
    features of each image and of its mirror, :func:`features.embed`). Refuses what it cannot
    honour, naming the view."""
    view = tuple(view)
    if len(view) not in (2, 3) or (len(view) == 3 and view[2] not in VIEW_OPTIONS):
        raise ValueError(f"view {view!r}: expected (backbone, input size) or (backbone, input "
                         f"size, option) with option one of {', '.join(VIEW_OPTIONS)}")
    backbone, size = view[0], check_input_size(view[1])
    flip = len(view) == 3
    if backbone == "pca":
        if flip:
            raise ValueError(f"view {view!r}: flip applies to backbone embeddings, not to PCA")
    else:
        get_backbone(backbone)
    return backbone, size, flip


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


def view_features(data, views, seed: int, ctx, split: str = "train",
                  engine: str | None = None) -> np.ndarray:
    """The images' features of every view, concatenated: backbone embeddings (cached on disk;
    a ``"flip"`` view averages each image's with its mirror's) or, for the view ``("pca", _)``,
    PCA of the pixels (80% of variance, whitened, fit on the training images). ``split``:
    ``train`` (what the teachers fit on) or ``test`` (to measure a teacher on the test set).
    ``engine``: what computes the embeddings (default: the context's ``embed_engine``)."""
    engine = engine or ctx.embed_engine
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r}: expected 'train' or 'test'")
    images = data.x_train if split == "train" else data.x_test
    # the training images keep the key every cached embedding has; the test images their own
    fingerprint = data.fingerprint if split == "train" else f"{data.fingerprint}:test"
    parts = []
    for view in views:
        backbone, size, flip = parse_view(view)
        if backbone == "pca":
            pca, train_features = fit_pca(data.x_train, 0.8, whiten=True, seed=seed)
            parts.append(train_features if split == "train" else pca.transform(
                images.reshape(len(images), -1).astype(np.float32) / 255).astype(np.float32))
        else:
            parts.append(embed(images, backbone, size, device=ctx.device,
                               cache_dir=ctx.cache_dir, fingerprint=fingerprint,
                               progress=ctx.progress, engine=engine, flip=flip))
    return np.concatenate(parts, axis=1)


def inferred_labels(method: str, data, views, known: np.ndarray, seed: int, ctx,
                    features=None):
    """(labels, seconds): ``method`` fitted on the known images' features of ``views``, through
    the on-disk cache, so a label-inference study and the teachers of the runs share every
    fit (one cache key: the data, the views, the method, the seed and the known images).
    ``features``: a function giving those features, called only on a cache miss (default:
    :func:`view_features`), e.g. one :func:`lazy_features` shared by several fits."""
    return infer_labels_cached(
        method, features or (lambda: view_features(data, views, seed, ctx)), known,
        data.y_train[known], seed=seed, cache_dir=ctx.cache_dir, n=data.n_train,
        key={"data": data.fingerprint, "views": [list(v) for v in views]},
        n_classes=data.n_classes)


def lazy_features(data, views, seed: int, ctx):
    """The training images' view features, loaded on the first call only and then kept (a
    cache hit of the labels loads none; several fits on a miss load them once)."""
    held = []

    def load():
        if not held:
            held.append(view_features(data, views, seed, ctx))
        return held[0]
    return load


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


def known_folds(labels: np.ndarray, seed: int, folds: int = 5) -> list[np.ndarray]:
    """Positions of the known images split into ``folds`` seeded folds, stratified by label
    when every class has at least ``folds`` known images, else as many as the rarest allows
    (plain folds when some class has a single one)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(labels)
    stratified = int(min(folds, counts[counts > 0].min()))
    splitter = (StratifiedKFold(stratified, shuffle=True, random_state=seed) if stratified >= 2
                else KFold(min(folds, len(labels)), shuffle=True, random_state=seed))
    return [held for _, held in splitter.split(np.zeros(len(labels)), labels)]


def known_probabilities(recipe, data, known: np.ndarray, seed: int, ctx,
                        folds: int = 5) -> np.ndarray:
    """(n_known, n_classes) the embedding teacher's out-of-fold probabilities of the known
    images (cross-fitting): each fold is labelled by the teacher fit on the other folds, so no
    known image's own label leaks into its soft target. Each fold's fit is cached like any
    inference. Model A is left out even when the recipe averages with it: it saw every known
    label, so it has no out-of-fold view of them."""
    teacher = get_teacher(recipe.teacher)
    if not teacher.uses_embeddings:
        raise ValueError(f"teacher {teacher.name!r} has no out-of-fold view of the known images")
    known = np.asarray(known)
    labels = data.y_train[known]
    features = lazy_features(data, recipe.views, seed, ctx)
    out = np.zeros((len(known), data.n_classes), dtype=np.float32)
    for held in known_folds(labels, seed, folds):
        fit_known = np.delete(known, held)
        guess, _ = inferred_labels(teacher.name, data, recipe.views, fit_known, seed, ctx,
                                   features)
        out[held] = probabilities(guess)[np.searchsorted(guess.indices, known[held])]
    return out


__all__ = ["TEACHERS", "Teacher", "UnknownTeacherError", "check_teacher", "get_teacher",
           "inferred_labels", "known_probabilities", "lazy_features", "parse_view",
           "probabilities_of", "view_features", "BACKBONES"]
