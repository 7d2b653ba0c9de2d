"""Where the unknown images' labels come from: a registry of teachers, as USB registers its
algorithms, each teacher an object that carries its own behaviour.

Every teacher is one entry of :data:`TEACHERS`, an instance of one class:

- :class:`KnownOnly` (``none``): no inferred labels (Model A learns from the known images alone);
- :class:`Truth` (``truth``): every true label (the ceiling: the same CNN on all labels);
- :class:`Consistency` (``fixmatch``): no labels before training; the student labels the
  unknown images itself as it trains (FixMatch, an objective of
  :func:`semisup_utils.training.train.train`);
- :class:`ModelA` (``cnn``): Model A's predictions (the report's Model C);
- :class:`Embeddings` (every method of :data:`labels.FEATURE_METHODS`): a label-inference
  method (K-means with a cluster map, kNN, logistic regression, calibrated or not, label
  spreading) fitted on the known images' features of a recipe's views (backbones or PCA).

What a run asks of its teacher (:func:`semisup_utils.study.runs.execute`): the unknown images'
probabilities before training (:meth:`Teacher.probabilities`, None where it gives none) and the
training set of a round (:meth:`Teacher.lesson`). An embedding teacher is also fitted and scored
on its own (:meth:`Teacher.fit`, :func:`semisup_utils.study.label_runs.score_teacher`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import targets
from .features import BACKBONES, check_input_size, embed, fit_pca, get_backbone
from .label_inference import FEATURE_METHODS, fit_method_cached, probabilities


class UnknownTeacherError(KeyError):
    def __str__(self):
        return str(self.args[0])


@dataclass
class Lesson:
    """What one round trains on: dataset indices (in dataset order), targets (ints, or
    probabilities when soft), weights (None: 1), the trainer's extra options (an objective,
    Hinton's temperatures), how many unknown images it uses and, for a teacher that labelled
    them, the mask of its labels kept (None otherwise)."""
    index: np.ndarray
    targets: np.ndarray
    weights: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    n_used: int = 0
    keep: np.ndarray | None = None


class Teacher:
    """A registered teacher. The defaults are a teacher that gives no labels before training,
    is fitted on nothing and needs no Model A; each kind overrides what it does."""
    uses_embeddings = False  # fitted on view features (label runs, known_mix, view banks)
    needs_model_a = False    # its labels are Model A's predictions
    reads_m = True           # its run depends on which M images are known (the key's m)

    def __init__(self, name: str, description: str):
        self.name, self.description = name, description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def infers_labels(self) -> bool:
        """Whether it gives labels for the unknown images before training."""
        return False

    def check(self, recipe) -> None:
        """Refuse recipe settings this teacher cannot honour."""

    def recipe_views(self, views) -> tuple:
        """The views a recipe of this teacher keeps (none: it reads no features)."""
        return ()

    def probabilities(self, recipe, data, known, unknown, seed: int, ctx,
                      model_a=None) -> np.ndarray | None:
        """(n_unknown, n_classes) the unknown images' target probabilities before training,
        or None for a teacher that gives none."""
        return None

    def lesson(self, data, known, unknown, recipe, proba=None, known_proba=None) -> Lesson:
        """The training set of one round (``proba``: this round's probabilities of the unknown
        images, where the teacher gives them)."""
        raise NotImplementedError

    def fit(self, data, views, known, seed: int, ctx, features=None):
        """(labels, seconds) of the teacher fitted on the known images' features."""
        raise ValueError(f"teacher {self.name!r} is not fit on features; its labels are "
                         "measured by the run itself (label_acc in the store)")

    def known_probabilities(self, recipe, data, known, seed: int, ctx,
                            folds: int = 5) -> np.ndarray:
        """(n_known, n_classes) out-of-fold probabilities of the known images."""
        raise ValueError(f"teacher {self.name!r} has no out-of-fold view of the known images")


class KnownOnly(Teacher):
    """No inferred labels: the known images alone (Model A)."""

    def lesson(self, data, known, unknown, recipe, proba=None, known_proba=None) -> Lesson:
        return Lesson(known, data.y_train[known])


class Truth(Teacher):
    """Every true label: the ceiling, one run for every M."""
    reads_m = False

    def lesson(self, data, known, unknown, recipe, proba=None, known_proba=None) -> Lesson:
        return Lesson(np.arange(data.n_train), data.y_train)


class Consistency(Teacher):
    """No labels before training: FixMatch's consistency objective on the unknown images."""

    def check(self, recipe) -> None:
        if (recipe.selection != "threshold" or recipe.soft or recipe.rounds != 1
                or recipe.with_model_a):
            raise ValueError(f"teacher={self.name!r} keeps pseudo-labels by confidence: use "
                             "selection='threshold', hard labels, one round, no Model A")

    def lesson(self, data, known, unknown, recipe, proba=None, known_proba=None) -> Lesson:
        from ..training.objectives import FixMatch

        objective = FixMatch(data.x_train[unknown], recipe.threshold, recipe.weight)
        return Lesson(known, data.y_train[known], extra={"objective": objective},
                      n_used=len(unknown))


class Labelling(Teacher):
    """A teacher that labels the unknown images before training: its students learn from its
    probabilities, as the recipe keeps, softens and weighs them (:mod:`targets`)."""

    @property
    def infers_labels(self) -> bool:
        return True

    def lesson(self, data, known, unknown, recipe, proba=None, known_proba=None) -> Lesson:
        index, y, weights, keep = targets.training_set(data.y_train, known, unknown, proba,
                                                       recipe, known_proba=known_proba)
        return Lesson(index, y, weights, recipe.train_kwargs(index, unknown),
                      int(keep.sum()), keep)


class ModelA(Labelling):
    """Model A's predictions on the unknown images (Model C)."""
    needs_model_a = True

    def probabilities(self, recipe, data, known, unknown, seed: int, ctx,
                      model_a=None) -> np.ndarray:
        from ..training.train import predict_proba

        if model_a is None:
            raise ValueError(f"recipe {recipe.name!r} needs Model A's network (model_a=)")
        return predict_proba(model_a, data.x_train[unknown], device=ctx.device)


class Embeddings(Labelling):
    """A label-inference method of :mod:`labels` fitted on the known images' view features;
    averaged with Model A where the recipe asks (:func:`average_with_model_a`)."""
    uses_embeddings = True

    def check(self, recipe) -> None:
        if not recipe.views:
            raise ValueError(f"teacher={self.name!r} needs at least one view "
                             "(backbone, input size)")
        for view in recipe.views:
            parse_view(view)

    def recipe_views(self, views) -> tuple:
        return tuple(tuple(v) for v in views)

    def fit(self, data, views, known, seed: int, ctx, features=None):
        """(labels, seconds): this method fitted on the known images' features of ``views``,
        through the on-disk cache, so a label-inference study and the teachers of the runs
        share every fit (one cache key: the data, the views, the method, the seed and the
        known images). ``features``: a function giving those features, called only on a
        cache miss (default: :func:`view_features`), e.g. one :func:`lazy_features` shared
        by several fits."""
        return fit_method_cached(
            self.name, features or (lambda: view_features(data, views, seed, ctx)), known,
            data.y_train[known], seed=seed, cache_dir=ctx.cache_dir, n=data.n_train,
            key={"data": data.fingerprint, "views": [list(v) for v in views]},
            n_classes=data.n_classes)

    def probabilities(self, recipe, data, known, unknown, seed: int, ctx,
                      model_a=None) -> np.ndarray:
        guess, _ = self.fit(data, recipe.views, known, seed, ctx)
        proba = probabilities(guess)
        if recipe.with_model_a:
            if model_a is None:
                raise ValueError(f"recipe {recipe.name!r} needs Model A's network (model_a=)")
            proba = average_with_model_a(proba, model_a, data.x_train[unknown], ctx.device)
        return proba

    def known_probabilities(self, recipe, data, known, seed: int, ctx,
                            folds: int = 5) -> np.ndarray:
        known = np.asarray(known)
        labels = data.y_train[known]
        features = lazy_features(data, recipe.views, seed, ctx)
        out = np.zeros((len(known), data.n_classes), dtype=np.float32)
        for held in known_folds(labels, seed, folds):
            guess, _ = self.fit(data, recipe.views, np.delete(known, held), seed, ctx, features)
            out[held] = probabilities(guess)[np.searchsorted(guess.indices, known[held])]
        return out


def average_with_model_a(proba: np.ndarray, model_a, images: np.ndarray,
                         device=None) -> np.ndarray:
    """The teacher's probabilities of ``images`` averaged with Model A's (``model_a``, a
    trained network): what a ``with_model_a`` recipe's student is taught, and what its
    teacher is scored by."""
    from ..training.train import predict_proba

    return np.mean([proba, predict_proba(model_a, images, device=device)], axis=0)


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
    "none": KnownOnly("none", "no inferred labels: the known images only"),
    "truth": Truth("truth", "every true label (the ceiling)"),
    "fixmatch": Consistency("fixmatch", "the student's own confident predictions on a weak "
                            "view, learnt on a strong view (FixMatch)"),
    "cnn": ModelA("cnn", "Model A's predictions on the unknown images"),
    **{name: Embeddings(name, f"{name} on the known images' features")
       for name in FEATURE_METHODS},
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


def lazy_features(data, views, seed: int, ctx, engine: str | None = None):
    """The training images' view features, loaded on the first call only and then kept (a
    cache hit of the labels loads none; several fits on a miss load them once)."""
    held = []

    def load():
        if not held:
            held.append(view_features(data, views, seed, ctx, engine=engine))
        return held[0]
    return load


def probabilities_of(recipe, data, known: np.ndarray, unknown: np.ndarray, seed: int, ctx,
                     model_a=None) -> np.ndarray:
    """(n_unknown, n_classes) probabilities the recipe's teacher gives the unknown images,
    averaged with Model A's (``model_a``) when the recipe asks for both."""
    teacher = get_teacher(recipe.teacher)
    proba = teacher.probabilities(recipe, data, known, unknown, seed, ctx, model_a)
    if proba is None:
        raise ValueError(f"teacher {teacher.name!r} gives no labels before training")
    return proba


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
    return get_teacher(recipe.teacher).known_probabilities(recipe, data, known, seed, ctx, folds)


def view_name(views) -> str:
    """The one printed name of a teacher's views, in every table, figure and finding:
    'lite0@224 flip + lite0@96 flip' (the EfficientNet prefix dropped, ``flip`` kept)."""
    return " + ".join(f"{b.replace('effnet-', '')}@{s}" + (" flip" if rest else "")
                      for b, s, *rest in views)


__all__ = ["TEACHERS", "Consistency", "Embeddings", "KnownOnly", "Labelling", "Lesson",
           "ModelA", "Teacher", "Truth", "UnknownTeacherError", "average_with_model_a",
           "check_teacher", "get_teacher", "known_probabilities",
           "lazy_features", "parse_view", "probabilities_of", "view_features", "view_name",
           "BACKBONES"]
