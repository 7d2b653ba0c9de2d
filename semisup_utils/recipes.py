"""Beyond the report: better inferred labels, better use of them, at an equal training budget.

A :class:`Recipe` says where the unknown images' labels come from (an embedding classifier,
Model A, both, the true labels for the ceiling, or none for Model A), which of them are kept
(all, a confidence threshold, or the most confident share of each class), whether the CNN sees
hard labels or the teacher's probabilities, how much they weigh, and how many rounds of
self-training follow. A :class:`Budget` fixes the optimizer steps, so every model of a
comparison gets the same compute whatever its training-set size.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from .cache import ArrayCache
from .cnn import check_arch
from .data import CIFAR10, check_m, split_known
from .device import pick_device
from .experiments import (Context, MissingRunError, _model_from_arrays, _provenance,
                          _state_to_arrays, refuse_missing, warn_left_out)
from .features import check_input_size, embed, get_backbone
from .labels import METHODS, infer_labels_cached, probabilities
from .train import PRECISIONS, SCHEDULES, predict_proba, train

# fixmatch: no teacher; the student labels the unknown images itself as it trains (weak view,
# confidence >= threshold) and learns those labels on strong views, weighted by `weight`
TEACHERS = ("none", "truth", "cnn", "fixmatch", *[m for m in METHODS if m != "cnn"])
SELECTIONS = ("all", "threshold", "topk")
NO_TEACHER_LABELS = ("none", "truth", "fixmatch")  # no inferred labels to select or relabel


@dataclass(frozen=True)
class Budget:
    """Optimizer steps per trained CNN (self-training spends this once per round), and how
    they are spent: the report's constant Adam rate in the default precision, or a one-cycle
    schedule, label smoothing and bf16 on the CPU (see :func:`semisup_utils.train.train`)."""

    steps: int
    batch_size: int = 128
    lr: float = 1e-3
    arch: str = "report"
    precision: str = "auto"
    schedule: str = "constant"
    label_smoothing: float = 0.0

    def __post_init__(self):
        for name in ("steps", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name}={value!r}: must be a positive whole number")
        check_arch(self.arch)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r}: expected one of "
                             f"{', '.join(PRECISIONS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r}: expected one of "
                             f"{', '.join(SCHEDULES)}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing={self.label_smoothing!r}: must lie in [0, 1)")

    def train_kwargs(self) -> dict:
        """The keyword arguments of :func:`train` this budget fixes."""
        return {"arch": self.arch, "steps": self.steps, "batch_size": self.batch_size,
                "lr": self.lr, "precision": self.precision, "schedule": self.schedule,
                "label_smoothing": self.label_smoothing}

    @classmethod
    def epochs_of(cls, epochs: int, n_images: int = 50000, **kwargs) -> "Budget":
        """The steps that ``epochs`` passes over ``n_images`` take."""
        batch = kwargs.get("batch_size", 128)
        return cls(steps=int(epochs * -(-n_images // batch)), **kwargs)


@dataclass(frozen=True)
class Recipe:
    name: str
    teacher: str = "logreg"       # see TEACHERS
    backbone: str = "effnet-lite0"
    input_size: int = 96
    with_model_a: bool = False    # average the teacher's probabilities with Model A's
    selection: str = "all"        # all | threshold | topk
    threshold: float = 0.0        # min confidence (threshold) or kept share per class (topk)
    soft: bool = False            # train on the teacher's probabilities, not its argmax
    weight: float = 1.0           # loss weight of an inferred sample
    confidence_weight: bool = False  # ... times the teacher's confidence
    rounds: int = 1               # > 1: the student relabels the unknown images, retrained
    extra_views: tuple = ()       # ((backbone, input_size), ...) concatenated to the features

    def __post_init__(self):
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher={self.teacher!r}: expected one of {', '.join(TEACHERS)}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection={self.selection!r}: expected one of "
                             f"{', '.join(SELECTIONS)}")
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold={self.threshold!r}: must lie in [0, 1]")
        if not 0 < self.weight <= 1:
            raise ValueError(f"weight={self.weight!r}: must lie in (0, 1]")
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise ValueError(f"rounds={self.rounds!r}: must be a whole number >= 1")
        if self.extra_views and not self.uses_embeddings:
            raise ValueError(f"extra_views={self.extra_views!r}: only a teacher on embeddings "
                             "(not none, truth, cnn or fixmatch) has features to concatenate")
        if self.teacher == "fixmatch" and (self.selection != "threshold" or self.soft
                                           or self.rounds != 1 or self.with_model_a):
            raise ValueError("teacher='fixmatch' keeps pseudo-labels by confidence: use "
                             "selection='threshold', hard labels, one round, no Model A")
        for backbone, size in self.views if self.uses_embeddings else ():
            get_backbone(backbone)
            check_input_size(size)

    @property
    def views(self) -> tuple:
        """Every (backbone, input size) whose embeddings the teacher sees, concatenated."""
        return ((self.backbone, self.input_size), *map(tuple, self.extra_views))

    @property
    def uses_embeddings(self) -> bool:
        return self.teacher not in (*NO_TEACHER_LABELS, "cnn")

    def key(self) -> dict:
        fields = asdict(self)
        fields.pop("name")
        if not self.extra_views:  # runs stored before the field existed had none
            fields.pop("extra_views")
        else:
            fields["extra_views"] = [list(v) for v in self.extra_views]
        if not self.uses_embeddings:
            fields["backbone"], fields["input_size"] = "none", 0
        return fields


RECIPES = {r.name: r for r in [
    Recipe("A", teacher="none"),
    Recipe("ceiling", teacher="truth"),
    Recipe("B-report", teacher="kmeans", input_size=32, weight=0.1),
    Recipe("C-report", teacher="cnn", weight=0.1),
    Recipe("logreg", teacher="logreg"),
    Recipe("logreg-soft", teacher="logreg", soft=True),
    Recipe("logreg-top50", teacher="logreg", selection="topk", threshold=0.5),
    Recipe("logreg-confweight", teacher="logreg", confidence_weight=True),
    Recipe("logreg+A-soft", teacher="logreg", with_model_a=True, soft=True),
    Recipe("knn", teacher="knn"),
    Recipe("spread", teacher="spread"),
    Recipe("self-train-2", teacher="logreg", with_model_a=True, soft=True, rounds=2),
    Recipe("logreg-cal-soft", teacher="logreg-cal", soft=True),
    Recipe("fixmatch", teacher="fixmatch", selection="threshold", threshold=0.95),
    Recipe("multiscale-soft", teacher="logreg-cal", soft=True,
           extra_views=(("effnet-lite0", 64),)),
    Recipe("multiscale+A-soft", teacher="logreg-cal", soft=True, with_model_a=True,
           extra_views=(("effnet-lite0", 64),)),
]}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}")
    return RECIPES[name]


# ----------------------------------------------------------------------------- pieces
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


def training_set(data: CIFAR10, known: np.ndarray, unknown: np.ndarray, proba: np.ndarray,
                 recipe: Recipe):
    """Indices, targets (int or (n, 10) soft) and weights the CNN trains on."""
    keep = select(proba, recipe.selection, recipe.threshold)
    chosen = unknown[keep]
    index = np.concatenate([known, chosen])
    if recipe.soft:
        targets = np.zeros((len(index), proba.shape[1]), dtype=np.float32)
        targets[np.arange(len(known)), data.y_train[known]] = 1.0
        targets[len(known):] = proba[keep] / proba[keep].sum(1, keepdims=True).clip(1e-12)
    else:
        targets = np.concatenate([data.y_train[known], proba[keep].argmax(1)])
    weights = np.ones(len(index), dtype=np.float32)
    weights[len(known):] = recipe.weight * (proba[keep].max(1) if recipe.confidence_weight else 1)
    return index, targets, weights, keep


_BUDGET_DEFAULTS = {"precision": "auto", "schedule": "constant", "label_smoothing": 0.0}


def _budget_key(budget: Budget) -> dict:
    """The budget's fields; those added later are left out at their defaults, so the runs
    stored before they existed (which used those defaults) still match."""
    return {k: v for k, v in asdict(budget).items()
            if k not in _BUDGET_DEFAULTS or v != _BUDGET_DEFAULTS[k]}


def _model_a_key(data, m, seed, budget) -> dict:
    return {"data": data.fingerprint, "m": m, "seed": seed, "recipe": "A", **_budget_key(budget)}


def _cached_model_a(data, known, m, seed, budget, ctx):
    key = _model_a_key(data, m, seed, budget)
    cache = ArrayCache(ctx.cache_dir)
    stored = cache.load("models", key)
    if stored is not None:
        return _model_from_arrays(stored, budget.arch, pick_device(ctx.device))
    model, _ = train(data.x_train[known], data.y_train[known], None, seed=seed,
                     n_classes=data.n_classes,
                     device=ctx.device, progress=ctx.progress, desc=f"Model A, M={m}",
                     **budget.train_kwargs())
    cache.save("models", key, _state_to_arrays(model))
    return model


def teacher_probabilities(data, known, recipe, budget, m, seed, ctx) -> np.ndarray:
    """(n_unknown, 10) probabilities of the recipe's teacher for the unknown images."""
    parts = []
    if recipe.uses_embeddings:
        def features():  # loaded only when the teacher's labels are not cached
            return np.concatenate([
                embed(data.x_train, backbone, size, device=ctx.device, cache_dir=ctx.cache_dir,
                      fingerprint=data.fingerprint, progress=ctx.progress)
                for backbone, size in recipe.views], axis=1)

        guess, _ = infer_labels_cached(
            recipe.teacher, features, known, data.y_train[known], seed=seed,
            cache_dir=ctx.cache_dir, n=data.n_train,
            key={"data": data.fingerprint, "views": [list(v) for v in recipe.views]},
            n_classes=data.n_classes)
        parts.append(probabilities(guess))
    if recipe.teacher == "cnn" or recipe.with_model_a:
        model_a = _cached_model_a(data, known, m, seed, budget, ctx)
        unknown = np.setdiff1d(np.arange(data.n_train), known)
        parts.append(predict_proba(model_a, data.x_train[unknown], device=ctx.device))
    return np.mean(parts, axis=0)


# ----------------------------------------------------------------------------- one run
def run_key(data: CIFAR10, m: int, seed: int, recipe: Recipe, budget: Budget) -> dict:
    if recipe.teacher == "truth":  # the ceiling knows every label: the same run for every M
        m = 0
    return {"kind": "recipe", "data": data.fingerprint, "n_train": data.n_train, "m": int(m),
            "seed": int(seed), "recipe": recipe.key(), **_budget_key(budget)}


def run_recipe(data: CIFAR10, m: int, seed: int, recipe: Recipe | str, budget: Budget,
               ctx: Context | None = None) -> dict:
    """Train one recipe at (M, seed) with the budget; the stored row when already done."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    ctx = ctx or Context()
    m = check_m(m, data.n_train)
    key = run_key(data, m, seed, recipe, budget)
    stored = ctx.store.find(key)
    if stored is not None:
        return stored
    refuse_missing(ctx, f"recipe {recipe.name} at M={m}, seed {seed}, {budget.steps} steps",
                   f"semisup compare --profile {ctx.profile} -p M_list '[{m}]' "
                   f"-p sweep_seeds '[{seed}]'")
    known, unknown = split_known(data.y_train, m, seed)
    start = time.perf_counter()
    label_acc = kept_acc = None
    n_used = 0
    consistency = {}  # the FixMatch arguments of train(), for that recipe only
    if recipe.teacher == "none":
        index, targets, weights = known, data.y_train[known], None
    elif recipe.teacher == "truth":
        index, targets, weights = np.arange(data.n_train), data.y_train, None
    elif recipe.teacher == "fixmatch":
        index, targets, weights = known, data.y_train[known], None
        consistency = {"unlabeled": data.x_train[unknown], "threshold": recipe.threshold,
                       "unlabeled_weight": recipe.weight}
        n_used = len(unknown)
    else:
        proba = teacher_probabilities(data, known, recipe, budget, m, seed, ctx)
    rounds = 1 if recipe.teacher in NO_TEACHER_LABELS else recipe.rounds
    history = []
    for round_ in range(rounds):
        if recipe.teacher not in NO_TEACHER_LABELS:
            index, targets, weights, keep = training_set(data, known, unknown, proba, recipe)
            truth = data.y_train[unknown]
            label_acc = float((proba.argmax(1) == truth).mean())
            kept_acc = float((proba.argmax(1)[keep] == truth[keep]).mean()) if keep.any() else None
            n_used = int(keep.sum())
        model, history = train(data.x_train[index], targets, weights,
                               seed=seed + 1000 * round_, device=ctx.device,
                               n_classes=data.n_classes,
                               test=(data.x_test, data.y_test), progress=ctx.progress,
                               desc=f"{recipe.name}, M={m}, round {round_ + 1}/{rounds}",
                               **consistency, **budget.train_kwargs())
        if recipe.teacher == "none":  # Model A: the teacher of C and of the "+A" recipes
            ArrayCache(ctx.cache_dir).save("models", _model_a_key(data, m, seed, budget),
                                           _state_to_arrays(model))
        if round_ + 1 < rounds:  # the student becomes the teacher
            proba = predict_proba(model, data.x_train[unknown], device=ctx.device)
    result = {
        "name": recipe.name, "test_acc": history[-1]["test_acc"],
        "label_acc": None if label_acc is None else round(label_acc, 5),
        "kept_label_acc": None if kept_acc is None else round(kept_acc, 5),
        "n_inferred": n_used, "total_steps": budget.steps * rounds,
        "wall_s": round(time.perf_counter() - start, 2),
        "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in h.items()}
                    for h in history],
        **_provenance(data, ctx),
    }
    return ctx.store.add(key, result)


def compare(data: CIFAR10, ms, seeds, recipes, budget: Budget, ctx: Context | None = None):
    """Every recipe at every (M, seed) (the ceiling once per seed), as a DataFrame, plus the
    share of the gap between Model A and the ceiling each recipe closes."""
    import pandas as pd

    from .progress import bar

    ctx = ctx or Context()
    recipes = [get_recipe(r) if isinstance(r, str) else r for r in recipes]
    # seed-major: an interrupted sweep has every M for the first seeds, not all seeds of one M
    grid = [(m, s, r) for s in seeds for m in ms for r in recipes]
    rows, missing = [], []
    for m, seed, recipe in bar(grid, show=ctx.progress, desc="runs", unit="run"):
        try:
            row = run_recipe(data, m, seed, recipe, budget, ctx)
        except MissingRunError:  # raised only by a context that does not train
            missing.append(f"{recipe.name}, M={m}, seed {seed}")
            continue
        rows.append({"m": m, "seed": seed, "recipe": recipe.name, "test_acc": row["test_acc"],
                     "label_acc": row.get("label_acc"), "kept_label_acc": row.get("kept_label_acc"),
                     "n_inferred": row.get("n_inferred"), "total_steps": row.get("total_steps"),
                     "wall_s": row.get("wall_s"), "device": row.get("device")})
    warn_left_out(missing)
    frame = pd.DataFrame(rows)
    return add_gap_closed(frame)


def add_gap_closed(frame):
    """gap_closed = (acc - acc_A) / (acc_ceiling - acc_A), per (M, seed)."""
    frame = frame.copy()
    base = frame[frame["recipe"] == "A"].set_index(["m", "seed"])["test_acc"]
    top = frame[frame["recipe"] == "ceiling"].set_index(["m", "seed"])["test_acc"]
    def gap(row):
        k = (row["m"], row["seed"])
        if k not in base.index or k not in top.index or top[k] <= base[k]:
            return np.nan
        return (row["test_acc"] - base[k]) / (top[k] - base[k])
    frame["gap_closed"] = frame.apply(gap, axis=1)
    return frame


def at_input_size(recipe: Recipe, input_size: int) -> Recipe:
    """The recipe with its backbone fed ``input_size`` pixels; the report's recipes keep 32."""
    if not recipe.uses_embeddings or recipe.name.endswith("-report"):
        return recipe
    return replace(recipe, input_size=input_size)
