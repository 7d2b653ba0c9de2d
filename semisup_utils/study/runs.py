"""One training run: (data, M, seed, recipe, budget) -> one row of the results store.

Every model of the study, the report's Models A, B and C included, is a :class:`Run`;
:func:`execute` is the only way one is trained. A run already in the store is returned without
training; Model A's network is cached on disk under its own run's key, so Model C and the
recipes that average with Model A reuse it instead of training it again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..base.cache import ArrayCache
from ..base.device import pick_device
from ..data.dataset import CIFAR10, check_m, split_known
from ..teachers.bank import view_bank
from ..teachers.teachers import get_teacher, known_probabilities
from ..training.budget import Budget
from ..training.cnn import build_cnn
from ..training.train import numerics, predict_proba, train
from .recipes import RECIPES, Recipe, get_recipe
from .schema import SCHEMA, thin_history
from .store import ResultsStore

PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    """M known labels, a seed (the known set, the first weights, the batch order and the
    augmentation), what is trained on (the recipe) and for how long (the budget)."""

    m: int
    seed: int
    recipe: Recipe
    budget: Budget

    def __post_init__(self):
        object.__setattr__(self, "recipe", get_recipe(self.recipe))

    @property
    def model_a(self) -> "Run":
        """Model A of the same (M, seed, budget): the network Model C's labels come from."""
        return replace(self, recipe=RECIPES["A"])

    @property
    def key_m(self) -> int:
        """M as the run's key holds it: 0 for a teacher whose run M does not change (the
        ceiling knows every label: one run for every M)."""
        return int(self.m) if get_teacher(self.recipe.teacher).reads_m else 0

    def describe(self) -> str:
        return f"{self.recipe.name}, M={self.m}, seed {self.seed}"


@dataclass
class Context:
    """Where results and caches live and what runs them (no hidden globals)."""

    store: ResultsStore = field(default_factory=ResultsStore)
    cache_dir: Path | None = None
    device: object = None
    profile: str = "custom"
    progress: bool | None = None  # None: bars on a terminal only
    # False: a run missing from the store is not trained (MissingRunError); grids leave it out
    # with a warning. The published book renders from the committed store this way.
    train_missing: bool = True
    # how a grid trains its missing runs (executors.EXECUTORS): one after another in this
    # process (local), a pool of one-thread processes (processes) or Ray
    executor: str = "local"
    # how many times a run's test accuracy is measured as it trains (its curve; the last one is
    # the row's test_acc): observation only, not part of the run's key
    max_evals: int = 50
    # what computes backbone embeddings (features.ENGINES): "torch", or "onnxruntime" on the
    # CPU (the same fp32 features, max |diff| 2e-5, about 10x faster on 2 cores); not part of
    # any key, recorded in the provenance of the rows computed with it
    embed_engine: str = "torch"
    # the parameters given beside the profile (name: value), which the command that computes
    # a run this context may not train repeats (refuse_missing)
    given: dict = field(default_factory=dict)
    # (runs, n_train) -> the command that computes them (refuse_missing), or None;
    # notebook.context gives the command whose grid, built by the chapters' builders, holds
    # them. None (or a None answer): `semisup sweep` or `compare` by the budget's policy
    command_for: Callable[..., str | None] | None = None


class MissingRunError(LookupError):
    """A run is not in the results store and this context does not train."""


class MissingRunWarning(UserWarning):
    """A grid left out runs that are not in the results store."""


def run_key(data: CIFAR10, run: Run) -> dict:
    """The fields that define a run; rows with equal keys are the same run (schema
    :data:`~semisup_utils.study.store.SCHEMA`). The ceiling knows every label: one run for every M."""
    return {"schema": SCHEMA, "data": data.fingerprint, "n_train": int(data.n_train),
            "m": run.key_m, "seed": int(run.seed),
            "recipe": run.recipe.key(), "budget": run.budget.key()}


def plan(ms, seeds, recipes, budget: Budget) -> list[Run]:
    """Every (M, seed, recipe), seed-major (an interrupted grid has every M of the first seeds,
    not every seed of one M); the ceiling once per seed."""
    runs, seen = [], set()
    for seed in seeds:
        for m in ms:
            for recipe in recipes:
                run = Run(m, seed, get_recipe(recipe), budget)
                ident = (seed, repr(run.recipe.key()), run.key_m)
                if ident not in seen:
                    seen.add(ident)
                    runs.append(run)
    return runs


def refuse_missing(ctx: Context, run: Run, n_train: int | None = None) -> None:
    """Raise MissingRunError for a run this context may not train, naming how to compute it
    (``n_train``: the data's training images, which a step budget's amount follows)."""
    if not ctx.train_missing:
        raise MissingRunError(f"{run.describe()} ({run.budget.describe()}) is not in the "
                              f"results store ({ctx.store.path}) and this profile trains "
                              f"nothing (train_missing=False); compute it with "
                              f"`{missing_command(ctx, [run], n_train)}`, or rerun with "
                              "-p train_missing true")


def refuse_missing_runs(ctx: Context, runs: list[Run],
                        n_train: int | None = None) -> MissingRunError:
    """The refusal of a grid's missing ``runs`` (one budget policy), naming one command that
    computes them all."""
    budgets = {run.budget.describe() for run in runs}
    return MissingRunError(
        f"{len(runs)} run(s) are not in the results store ({ctx.store.path}) and this profile "
        f"trains nothing (train_missing=False): {'; '.join(r.describe() for r in runs)}"
        + (f" ({budgets.pop()})" if len(budgets) == 1 else "")
        + f"; compute them with `{missing_command(ctx, runs, n_train)}`, or rerun with "
        "-p train_missing true")


def missing_command(ctx: Context, runs: list[Run], n_train: int | None = None) -> str:
    """The command that trains ``runs`` as this context would have: ``ctx.command_for``'s
    (the chapters' contexts: ``semisup sweep``, ``compare`` or ``distill``, whichever grid
    holds them, its budget cut to theirs; ``n_train``: the data's, which a step budget's
    amount follows), else ``semisup sweep`` (epochs) or ``semisup compare`` (steps) with its
    profile and the parameters given beside it (``ctx.given``: the same data subset and
    budget, hence the same keys), training allowed."""
    import json
    import shlex

    named = ctx.command_for(runs, n_train=n_train) if ctx.command_for else None
    if named:
        return named

    names = list(dict.fromkeys(run.recipe.name for run in runs))
    grid = {"M_list": sorted({run.m for run in runs}),
            "seeds": sorted({run.seed for run in runs}), "models": names}
    command = "semisup sweep"
    if runs[0].budget.policy != "epochs":
        grid = {"M_list": grid["M_list"], "sweep_seeds": grid["seeds"], "sweep_recipes": names}
        command = "semisup compare"
    options = {"train_missing": True,
               **{name: value for name, value in ctx.given.items()
                  if name not in (*grid, "train_missing", "M", "seed")}, **grid}
    return f"{command} --profile {ctx.profile} " + " ".join(
        f"-p {name} {shlex.quote(value if isinstance(value, str) else json.dumps(value))}"
        for name, value in options.items())


def warn_left_out(missing: list[Run], ctx: Context | None = None,
                  n_train: int | None = None) -> None:
    """Warn of a grid's runs left out (not stored, not trained), naming the command that
    computes them where a context is given."""
    if missing:
        command = (f"; `{missing_command(ctx, missing, n_train)}` computes them"
                   if ctx is not None else "")
        warnings.warn(f"{len(missing)} run(s) not in the results store were left out: "
                      f"{'; '.join(r.describe() for r in missing)}{command}",
                      MissingRunWarning, stacklevel=3)


# ----------------------------------------------------------------------------- provenance
def git_revision() -> str:
    """The checkout's revision; ``$SEMISUP_GIT_REV`` where the code runs from a copy without
    ``.git`` (a GPU machine that was sent the working tree)."""
    if os.environ.get("SEMISUP_GIT_REV"):
        return os.environ["SEMISUP_GIT_REV"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=PACKAGE, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_hash() -> str:
    """sha256 of the package's sources (12 hex digits): which code trained a row, whether or
    not the tree was committed, and also where there is no git."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):  # by path in the package: sub-packages too
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def tree_dirty() -> bool | None:
    """Whether the package's sources differ from the revision (None: no git here)."""
    if os.environ.get("SEMISUP_GIT_REV"):
        return None
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "."], capture_output=True,
                             text=True, cwd=PACKAGE, timeout=10)
        return bool(out.stdout.strip()) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(data: CIFAR10, ctx: Context) -> dict:
    """Where a row came from. CPU runs are bit-for-bit repeatable only for the same thread
    count and torch build, so both are recorded beside the device (and the embedding engine,
    where it is not torch)."""
    return {"device": str(pick_device(ctx.device)), "data_source": data.source,
            "git_rev": git_revision(), "dirty": tree_dirty(), "code": code_hash(),
            "profile": ctx.profile, "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            **({"embed_engine": ctx.embed_engine} if ctx.embed_engine != "torch" else {}),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


# ----------------------------------------------------------------------------- Model A
def _state_to_arrays(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def _model_from_arrays(arrays: dict[str, np.ndarray], arch: str, device):
    # the output layer is the last 2-D weight of the Sequential: one row per class
    last = max((k for k in arrays if k.endswith("weight") and np.ndim(arrays[k]) == 2),
               key=lambda k: [int(p) if p.isdigit() else 0 for p in k.split(".")])
    model = build_cnn(arch, n_classes=int(np.shape(arrays[last])[0]))
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
    return model.to(device).eval()


def is_model_a(recipe: Recipe) -> bool:
    return recipe.key() == RECIPES["A"].key()


def model_a_network(data: CIFAR10, run: Run, ctx: Context):
    """Model A's trained network for ``run``'s (M, seed, budget): from the model cache, else by
    executing Model A's run (stored with its curve, weights cached); retrained, not stored
    again, when its row is stored but its weights are not cached."""
    a_run = run.model_a
    key = run_key(data, a_run)
    cached = ArrayCache(ctx.cache_dir).load("models", key)
    if cached is not None:
        return _model_from_arrays(cached, run.budget.arch, pick_device(ctx.device))
    stored = ctx.store.find(key)
    return _train_run(data, a_run, ctx, key, store=stored is None)[0]


# ----------------------------------------------------------------------------- execute
def execute(data: CIFAR10, run: Run, ctx: Context | None = None) -> dict:
    """The run's row: read from the store, or trained now and stored."""
    ctx = ctx or Context()
    key = run_key(data, run)
    stored = ctx.store.find(key)
    if stored is not None:
        return stored
    refuse_missing(ctx, run, data.n_train)
    return _train_run(data, run, ctx, key, store=True)[1]


def _train_run(data: CIFAR10, run: Run, ctx: Context, key: dict, store: bool):
    """Train ``run``; returns (network, row), the row stored when ``store``."""
    recipe, budget = run.recipe, run.budget
    m = check_m(run.m, data.n_train)
    known, unknown = split_known(data.y_train, m, run.seed)
    teacher = get_teacher(recipe.teacher)
    start = time.perf_counter()
    model_a = model_a_network(data, run, ctx) if recipe.needs_model_a else None
    label_acc = kept_acc = None
    # what the teacher gives before training: the unknown images' probabilities, or None
    proba = teacher.probabilities(recipe, data, known, unknown, run.seed, ctx, model_a)
    # the teacher's out-of-fold view of the known images, where their targets mix it in
    known_proba = (known_probabilities(recipe, data, known, run.seed, ctx)
                   if recipe.known_mix else None)
    # consistent teaching: the teacher's probabilities of K views of each unknown image, drawn
    # with the budget's augmentation (cached: read, or computed once for every later run)
    bank = (view_bank(recipe, data, known, run.seed, ctx, augment=budget.augment)
            if recipe.views_bank else None)
    rounds = recipe.rounds if proba is not None else 1
    truth = data.y_train[unknown]
    for round_ in range(rounds):
        lesson = teacher.lesson(data, known, unknown, recipe, proba, known_proba)
        index, targets, weights = lesson.index, lesson.targets, lesson.weights
        extra = dict(lesson.extra)  # FixMatch's objective, Hinton's temperatures
        if bank is not None:
            extra["bank"] = bank.for_training(index, recipe.temperature)
        if lesson.keep is not None:
            keep = lesson.keep
            label_acc = float((proba.argmax(1) == truth).mean())
            kept_acc = float((proba.argmax(1)[keep] == truth[keep]).mean()) if keep.any() else None
        desc = run.describe() + (f", round {round_ + 1}/{rounds}" if rounds > 1 else "")
        model, history = train(data.x_train[index], targets, weights,
                               seed=run.seed + 1000 * round_, device=ctx.device,
                               n_classes=data.n_classes, test=(data.x_test, data.y_test),
                               progress=ctx.progress, desc=desc, max_evals=ctx.max_evals,
                               **extra,
                               **budget.train_kwargs())
        if round_ + 1 < rounds:  # the student becomes the teacher
            proba = predict_proba(model, data.x_train[unknown], device=ctx.device)
    if is_model_a(recipe):  # the teacher of Model C and of the "+A" recipes
        ArrayCache(ctx.cache_dir).save("models", key, _state_to_arrays(model))
    row = {
        "name": recipe.name, "test_acc": history[-1]["test_acc"],
        "test_acc_flip": history[-1]["test_acc_flip"],  # rows stored before issue 34 lack it
        "label_acc": None if label_acc is None else round(label_acc, 5),
        "kept_label_acc": None if kept_acc is None else round(kept_acc, 5),
        "n_inferred": lesson.n_used, "total_steps": budget.steps_for(len(index)) * rounds,
        # the teacher's accuracy on the bank's views (every image, every view)
        **({"bank_label_acc": round(bank.label_accuracy(data.y_train), 5)}
           if bank is not None else {}),
        "wall_s": round(time.perf_counter() - start, 2),
        "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in h.items()}
                    for h in thin_history(history)],
        "numerics": numerics(budget.precision, pick_device(ctx.device)),
        **provenance(data, ctx),
    }
    return model, (ctx.store.add(key, row) if store else {"key": key, **row})
