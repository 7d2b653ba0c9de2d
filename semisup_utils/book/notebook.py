"""What every chapter does first: display settings, seeding, data, protocol, context.

Set once here (as fastbook's small utils do) so the chapters stay narrative.
"""
from __future__ import annotations

import functools
import random
import textwrap
import warnings

import numpy as np

from ..data.dataset import CIFAR10, load_cifar10, subsample
from ..study.recipes import at_input_size, get_recipe, with_views
from ..study.runs import Context, Run, plan
from ..study.store import ResultsStore
from ..training.budget import Budget

JPEG_NOTE = ("Data: the JPEG copy of CIFAR-10 (pixel values differ slightly from the original "
             "arrays), so accuracies are close to, not equal to, those on the original.")


def setup(seed: int = 0) -> None:
    """Seed numpy/random/torch and set figure and table display defaults."""
    import matplotlib
    import pandas as pd
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (7, 4),
                                "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                                "axes.spines.right": False})
    pd.set_option("display.precision", 3)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_colwidth", 160)
    warnings.filterwarnings("ignore", message=".*IProgress.*")


def load_data(params: dict) -> CIFAR10:
    """The profile's data: all of CIFAR-10, or the smoke profile's stratified subset."""
    data = load_cifar10()
    return subsample(data, params.get("n_train"), params.get("n_test"), seed=0)


def source_name(data: CIFAR10) -> str:
    """The data file by name (never its folder on the machine that rendered the page), its kind
    and the fingerprint that keys its runs: 'cifar10-jpeg.tar.gz (imagefolder-tarball),
    fingerprint 1a2b3c4d5e6f'."""
    from pathlib import PurePath

    kind, _, rest = data.source.partition(":")
    path, paren, subset = rest.partition(" (subset")
    name = PurePath(path).name or path
    text = f"{name} ({kind})" if kind and path else data.source
    if paren:
        text += f", subset{subset.rstrip(')')}"
    return f"{text}, fingerprint {data.fingerprint[:12]}"


def is_jpeg_copy(data: CIFAR10) -> bool:
    """CIFAR-10 read from image files (the JPEG copy used offline), not the original arrays."""
    return data.is_cifar10 and data.source.startswith("imagefolder")


def jpeg_note(data: CIFAR10) -> str:
    """The JPEG caveat where it applies, else "" (the original CIFAR-10, or other data)."""
    return JPEG_NOTE if is_jpeg_copy(data) else ""


def data_note(data: CIFAR10, params=None) -> str:
    """What a page was computed from: the profile and the page's own parameter values (``params``
    from :func:`parameters`; a profile name is accepted too), the data file by name and
    fingerprint, the JPEG caveat whenever it applies; for a dataset other than CIFAR-10 its
    classes, and how its images were converted to 32x32 RGB."""
    if isinstance(params, dict):
        profile = params.get("profile")
        names = getattr(params, "names", {})
        shown = {names.get(n, n): params[n] for n in getattr(params, "declared", ())
                 if n != "profile" and n in params}
        line = f"Profile {profile!r}." if profile else ""
        if shown:
            line += " This page's parameters: " + ", ".join(
                f"{n}={v!r}" for n, v in shown.items()) + "."
    else:
        line = f"Profile {params!r}." if params else ""
    line += (f" Data: {source_name(data)}; {data.n_train:,} training and "
             f"{len(data.y_test):,} test images.")
    if not data.is_cifar10:
        line += (f" Not CIFAR-10: {data.n_classes} classes ({', '.join(data.classes)}), chance "
                 f"{data.chance:.1f}%; the report's CIFAR-10 numbers are not shown.")
        if data.conversion:
            line += f" {data.conversion[0].upper()}{data.conversion[1:]}."
    elif is_jpeg_copy(data):
        line += " It is the JPEG copy of CIFAR-10" + JPEG_NOTE[len("Data: the JPEG copy of "
                                                                  "CIFAR-10"):]
    # wrapped to the 72 characters a page's output column holds (no ragged second wrap)
    return textwrap.fill(line.strip(), width=72, break_on_hyphens=False,
                         break_long_words=False)


def report_budget(params: dict) -> Budget:
    """The report's protocol: ``epochs`` passes over each model's own training set, constant
    rate, in the profile's ``report_precision``."""
    return Budget.report(params["epochs"], batch_size=params["batch_size"], arch=params["arch"],
                         precision=params["report_precision"])


def report_recipes(params: dict, models=None) -> list:
    """Models A, B and C as the profile sets them: B's labels by ``method`` on ``backbone`` at
    ``input_size`` pixels, B's and C's inferred samples weighing ``weight``."""
    from dataclasses import replace

    out = []
    for name in models or params["models"]:
        recipe = get_recipe(name)
        if recipe.name == "B":
            recipe = with_views(replace(recipe, teacher=params["method"]),
                                [(params["backbone"], params["input_size"])])
        if recipe.name in ("B", "C"):
            recipe = replace(recipe, weight=params["weight"])
        out.append(recipe)
    return out


def report_runs(params: dict, ms=None, seeds=None, models=None) -> list[Run]:
    """The report's grid (M x seeds x models) at the report's protocol."""
    return plan(ms or params["M_list"], seeds or params["seeds"],
                report_recipes(params, models), report_budget(params))


def context(params: dict, progress: bool | None = None) -> Context:
    """Where the runs of these parameters are stored and how they execute; ``given``: the
    parameters that differ from the profile's, which a missing run's refusal repeats in the
    command that computes it (:func:`grid_command`: ``sweep``, ``compare`` or ``distill``,
    whichever grid holds the run)."""
    given = given_parameters(params)
    return Context(store=ResultsStore(), device=params.get("device"),
                   profile=params["profile"], progress=progress,
                   train_missing=params.get("train_missing", True),
                   executor=params.get("executor", "local"),
                   max_evals=params.get("max_evals", 50),
                   embed_engine=params.get("embed_engine", "torch"), given=given,
                   command_for=functools.partial(grid_command, params, given))


def given_parameters(params: dict) -> dict:
    """The parameters whose values differ from their profile's (what a command that computes
    the same runs repeats beside ``--profile``)."""
    from ..study.profiles import PROFILES

    profile = PROFILES.get(params["profile"], {})
    return {name: value for name, value in params.items()
            if name in profile and value != profile[name]}


def screening_budget(params: dict, n_train: int) -> Budget:
    """The screening chapter's budget: ``budget_epochs`` passes over the training images'
    worth of steps for every model, the report's constant rate, in ``screening_precision``."""
    return Budget.epochs_of(params["budget_epochs"], n_train, batch_size=params["batch_size"],
                            precision=params["screening_precision"])


def screening_recipes(params: dict) -> list:
    """The screening chapter's ``recipes``, their embedding teachers fed ``beyond_size``
    pixels."""
    return sweep_recipes(params, params["recipes"])


def sweep_budget(params: dict, n_train: int) -> Budget:
    """The beyond-the-report sweep's budget: ``sweep_epochs`` passes over the training images'
    worth of steps for every model, in the profile's precision, learning-rate schedule,
    augmentation and weight averaging (``ema``; 0, every profile's, keeps the stored keys)."""
    return Budget.epochs_of(params["sweep_epochs"], n_train, batch_size=params["batch_size"],
                            arch=params["arch"], precision=params["precision"],
                            schedule=params["schedule"], augment=params["augment"],
                            ema=params["ema"])


def sweep_recipes(params: dict, names=None) -> list:
    """The sweep's recipes, their embedding teachers fed ``beyond_size`` pixels (the report's
    models keep theirs)."""
    return [at_input_size(get_recipe(name), params["beyond_size"])
            for name in names or params["sweep_recipes"]]


def sweep_runs(params: dict, n_train: int) -> list[Run]:
    """Chapter 9's sweep: ``sweep_recipes`` x ``M_list`` x ``sweep_seeds`` at the sweep's
    budget (what ``semisup compare`` computes)."""
    return plan(params["M_list"], params["sweep_seeds"], sweep_recipes(params),
                sweep_budget(params, n_train))


def distill_recipes(params: dict, names=None) -> list:
    """The teachers chapter's recipes, their embedding teachers fed ``distill_size`` pixels."""
    return [at_input_size(get_recipe(name), params["distill_size"])
            for name in names or params["distill_recipes"]]


def teacher_candidates(params: dict) -> list[tuple[str, str, tuple]]:
    """The teachers chapter 10 chooses among (``teacher_eval.candidate_teachers``): Lite0 at
    ``teacher_sizes`` by ``teacher_methods``, ``teacher_backbones`` at ``distill_size`` and the
    concatenations by ``teacher_concat_methods``."""
    from ..study.teacher_eval import candidate_teachers

    return candidate_teachers(params["teacher_sizes"], params["teacher_methods"],
                              params["distill_size"], params["teacher_backbones"],
                              params["teacher_concat_methods"])


def distill_budgets(params: dict, n_train: int) -> dict:
    """{augmentation: the sweep's budget with it} for each of ``distill_augments``: the same
    steps, schedule and precision, every model of a column augmented alike."""
    return {augment: sweep_budget({**params, "augment": augment}, n_train)
            for augment in params["distill_augments"]}


def distill_runs(params: dict, n_train: int) -> list[Run]:
    """The teachers chapter's students: ``distill_recipes`` x ``distill_M_list`` x
    ``distill_seeds`` at each budget of :func:`distill_budgets` (what its students table
    shows, one :func:`executors.compare` per augmentation)."""
    return [run for budget in distill_budgets(params, n_train).values()
            for run in plan(params["distill_M_list"], params["distill_seeds"],
                            distill_recipes(params), budget)]


def _command_grids(params: dict, runs: list[Run], n_train: int | None):
    """(command, its recipes' parameter, the parameters that cut its grid down to ``runs``'
    M, seeds, recipes, augmentations and budget, the builder of that grid) for each command
    that computes a chapter's grid: the builders the chapters call, so a command named for a
    missing run computes the same keys. ``semisup compare`` builds any grid of step-budget
    runs the chapters train (chapter 8's screening, chapter 9's schedule comparison) with its
    budget's parameters set to theirs (:func:`_budget_cut`). ``n_train`` None: the
    profile's (the budgets' steps are not compared then)."""
    images = n_train or params.get("n_train") or 50000
    ms = sorted({run.m for run in runs})
    seeds = sorted({run.seed for run in runs})
    names = list(dict.fromkeys(run.recipe.name for run in runs))
    augments = list(dict.fromkeys(run.budget.augment for run in runs))
    return [
        ("semisup sweep", "models", {"M_list": ms, "seeds": seeds, "models": names},
         report_runs),
        ("semisup compare", "sweep_recipes",
         {"M_list": ms, "sweep_seeds": seeds, "sweep_recipes": names,
          **_budget_cut(params, runs, n_train)},
         lambda p: sweep_runs(p, images)),
        ("semisup distill --among none", "distill_recipes",
         {"distill_M_list": ms, "distill_seeds": seeds, "distill_recipes": names,
          "distill_augments": augments}, lambda p: distill_runs(p, images)),
    ]


# the parameters of :func:`sweep_budget` and the budget field each sets
_SWEEP_BUDGET = {"arch": "arch", "precision": "precision", "schedule": "schedule",
                 "augment": "augment", "ema": "ema", "batch_size": "batch_size"}


def _budget_cut(params: dict, runs: list[Run], n_train: int | None) -> dict:
    """The :func:`sweep_budget` parameters that differ from ``params`` for the runs' one
    step budget (``sweep_epochs`` from its steps where ``n_train`` is known): what makes
    ``semisup compare`` train at that budget. Empty for runs of several budgets or of the
    report's protocol."""
    budgets = {run.budget for run in runs}
    if len(budgets) != 1:
        return {}
    budget = budgets.pop()
    if budget.policy != "steps":
        return {}
    cut = {name: getattr(budget, field) for name, field in _SWEEP_BUDGET.items()
           if name in params and getattr(budget, field) != params[name]}
    per_epoch = -(-n_train // budget.batch_size) if n_train else 0
    if per_epoch and budget.amount % per_epoch == 0 and "sweep_epochs" in params:
        epochs = budget.amount // per_epoch
        if epochs != params["sweep_epochs"]:
            cut["sweep_epochs"] = epochs
    return cut


def _identity(run: Run, steps: bool = True) -> tuple:
    """What makes two runs the same; ``steps`` False: but the budget's amount (which
    follows n_train, where it is not known)."""
    import json

    budget = {k: v for k, v in run.budget.key().items() if steps or k != "amount"}
    return (run.key_m, run.seed,
            json.dumps(run.recipe.key(), sort_keys=True), json.dumps(budget, sort_keys=True))


def grid_command(params: dict, given: dict, runs: list[Run],
                 n_train: int | None = None) -> str | None:
    """The ``semisup`` command that computes ``runs`` from these parameters: the first
    command whose grid, cut down to the runs' M, seeds, recipes and budget, holds every one
    of them (a chapter's own command first: the one whose recipes it declares), with the
    profile, the parameters ``given`` beside it (the same data subset and budget, hence the
    same keys) and training allowed. ``n_train``: the data's training images (a step
    budget's amount follows it; None: amounts are not compared). None when no command's grid
    holds them."""
    from ..study.profiles import ParameterError, validate

    wanted = {_identity(run, n_train is not None) for run in runs}
    declared = set(getattr(params, "declared", ()))
    grids = sorted(_command_grids(params, runs, n_train),
                   key=lambda grid: grid[1] not in declared)  # stable: own command first
    for command, _, cut, build in grids:
        try:
            cut = {name: validate(name, value) for name, value in cut.items()}
            held = {_identity(run, n_train is not None) for run in build({**params, **cut})}
        except (ParameterError, KeyError, ValueError):  # a recipe this grid cannot hold
            continue
        if wanted <= held:
            options = {"train_missing": True,
                       **{name: value for name, value in given.items()
                          if name not in (*cut, "train_missing", "M", "seed")}, **cut}
            return command_line(command, params["profile"], options)
    return None


# the section whose parameters each grid command takes by their short names (the others by
# their qualified names, `semisup params`)
COMMAND_SECTIONS = {"sweep": "report", "compare": "sweep", "teachers": "distill",
                    "distill": "distill"}


def command_line(command: str, profile: str, options: dict) -> str:
    """``command --profile P -p NAME VALUE ...`` (``options`` by key, each named as the
    command takes it), each value as YAML reads it back."""
    import json
    import shlex

    from ..study.parameters import REGISTRY, name_in

    section = COMMAND_SECTIONS.get(command.split()[1], "report")
    return f"{command} --profile {profile} " + " ".join(
        f"-p {name_in(key, section) if key in REGISTRY else key} "
        f"{shlex.quote(v if isinstance(v, str) else json.dumps(v))}"
        for key, v in options.items())


def teachers_command(params: dict) -> str:
    """The ``semisup teachers`` command that computes the teacher study of these
    parameters (the profile, the parameters given beside it, training allowed)."""
    options = {name: value for name, value in given_parameters(params).items()
               if name != "train_missing"}
    return command_line("semisup teachers", params["profile"],
                        {"train_missing": True, **options})


# names every IPython kernel defines, which are no parameters
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def parameters(namespace: dict) -> dict:
    """The chapter's parameters, validated: call it as ``P = notebook.parameters(globals())``
    right after the ``parameters`` cell (and the cell papermill injects after it).

    The cell declares its ``section`` and its parameters by the names that section gives them
    (:func:`parameters.key_of`); ``profile`` picks the profile, every other name not ``None``
    overrides the profile's value. ``P`` holds them by key (``P["sweep_seeds"]``), as the
    builders read them. A name it took before sections named them is taken with a
    DeprecationWarning naming the new one; one given by both names, or a name the project does
    not know (a typo in ``papermill -p nosuch 3``), is refused naming the known ones.
    """
    import types

    from ..study.parameters import ParameterError, chapter_names, names_in, respell
    from ..study.profiles import resolve

    given = {name: value for name, value in namespace.items()
             if not name.startswith("_") and name not in _KERNEL_NAMES
             and not isinstance(value, (types.ModuleType, types.FunctionType, type))}
    declared, injected = _parameter_cells(namespace.get("In"))
    if "section" in injected:
        raise ParameterError("section is the chapter's own (which names it reads), not a "
                             "parameter")
    section = given.pop("section", None)
    declared.discard("section")
    if declared:
        names = chapter_names([*sorted(declared), "profile"], section)
        given = {name: value for name, value in given.items()
                 if name in injected or name in names}
    else:  # outside a kernel: every parameter, by the names the section gives them
        names = names_in(section)
    where = (f"this chapter (section {section})" if declared else
             f"the names of section {section or 'report'}")
    given = respell(given, names, where)
    profile = given.pop("profile", "default")
    keys = {names[name]: name for name in (declared or given)}
    values = resolve(profile, reads=keys, labels=keys,  # None: the profile's value
                     **{names[name]: value for name, value in given.items()})
    return Parameters(values, declared=keys)


class Parameters(dict):
    """A chapter's resolved parameters, by key; ``declared``: {key: name} of those its
    parameters cell defines (what a reader may pass with ``-p``, by that name), which the
    page's data line shows with their values."""

    def __init__(self, values: dict, declared=()):
        super().__init__(values)
        names = declared if isinstance(declared, dict) else {n: n for n in declared}
        self.declared = [n for n in values if n in names]
        self.names = {key: names[key] for key in self.declared}


def _assigned(source: str) -> set[str]:
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def _parameter_cells(history) -> tuple[set[str], set[str]]:
    """(names the chapter's parameters cell declares, names papermill injected), read from the
    kernel's input history: papermill's injected cell starts with ``# Parameters`` and follows
    the parameters cell. Empty sets outside a kernel."""
    if not history:
        return set(), set()
    sources = [s for s in history if s.strip()][:-1]  # the cells before this one
    for i in range(len(sources) - 1, 0, -1):
        if sources[i].lstrip().startswith("# Parameters"):
            return _assigned(sources[i - 1]), _assigned(sources[i])
    return (_assigned(sources[-1]) if sources else set()), set()
