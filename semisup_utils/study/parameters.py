"""Every parameter the chapters and commands take, once: its section, its one-line meaning, what
values it allows (the check that refuses the others says the same) and the chapters that read it.

The profiles (:mod:`profiles`) hold the values; this registry says what the names mean.
``semisup params [CHAPTER] [--profile P]`` prints it. A chapter's parameters cell declares the
names a reader may pass; :func:`chapters_reading` reads them from the chapters, so the registry
never lists chapters by hand.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..teachers.features import BACKBONES, ENGINES
from ..teachers.label_inference import FEATURE_METHODS
from ..training.cnn import ARCHITECTURES
from ..training.train import AUGMENTATIONS, PRECISIONS, SCHEDULES
from .executors import EXECUTORS

# the fits a teacher study compares (chapter 10): logistic regression on embeddings, at C=1
# (plain, calibrated, self-trained) or at the C chosen by cross-validation (alone, self-trained)
TEACHER_METHODS = ("logreg", "logreg-cal", "logreg-self", "logreg-cv", "logreg-cv-self")

# One section per experiment of the book. Parameter names are one flat namespace (what
# papermill passes: `-p sweep_seeds '[0]'`), each name in exactly one section.
SECTIONS: dict[str, str] = {
    "data": "the images, and where and how runs execute (every chapter)",
    "report": "the report's Models A, B and C at its protocol (models-abc, m-sweep)",
    "embeddings": "backbones and input sizes compared (embeddings)",
    "labels": "label-inference methods compared (label-inference)",
    "screening": "recipes at a small equal budget (better-training; beyond-sweep's schedule "
                 "and teacher sections)",
    "sweep": "the best recipes over M and seeds at equal compute (beyond-sweep)",
    "distill": "stronger teachers and the augmentation, at the sweep's budget (teachers)",
}


class ParameterError(ValueError):
    """A parameter's value is not allowed; the message names it, its value and what is."""


# ----------------------------------------------------------------------------- the checks
@dataclass(frozen=True)
class Check:
    """``check(name, value)`` returns the value (normalised) or raises ParameterError;
    ``allowed`` says in words what it accepts (what `semisup params` prints)."""

    check: Callable[[str, Any], Any]
    describe: str | Callable[[], str]  # a callable: values looked up when asked (recipes)

    @property
    def allowed(self) -> str:
        return self.describe() if callable(self.describe) else self.describe

    def __call__(self, name, value):
        return self.check(name, value)


def _positive_int(upper=None, unit=""):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or \
                (upper is not None and value > upper):
            allowed = f"1..{upper}" if upper else "a positive whole number"
            raise ParameterError(f"parameter {name}={value!r} is not allowed: expected {allowed}")
        return value
    return Check(check, f"1..{upper}" + (f" {unit}" if unit else ""))


def _choice(choices, text: str | None = None):
    """One of ``choices`` (a callable: looked up when checked, e.g. the recipes)."""
    def values():
        return list(choices() if callable(choices) else choices)

    def check(name, value):
        if value not in values():
            raise ParameterError(f"parameter {name}={value!r} is not allowed: expected one of "
                                 f"{', '.join(map(str, values()))}")
        return value
    return Check(check, text or (lambda: " | ".join(map(str, values()))))


def _list_of(item: Check, empty: bool = False):
    def check(name, value):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ParameterError(f"parameter {name}={value!r} is not allowed: expected a list")
        value = list(value)
        if not value and not empty:
            raise ParameterError(f"parameter {name}=[] is not allowed: expected a non-empty "
                                 "list")
        for i, element in enumerate(value):
            item(f"{name}[{i}]", element)
        repeated = sorted({repr(v) for i, v in enumerate(value) if v in value[:i]})
        if repeated:  # a repeated seed or M would be counted twice in every mean and sd
            raise ParameterError(f"parameter {name}={value!r} is not allowed: "
                                 f"{', '.join(repeated)} repeated; list each value once")
        return value
    return Check(check, lambda: f"a list{' (may be empty)' if empty else ''} of: {item.allowed}")


def _number_in(low, high, what, closed_low=False, closed_high=False, kind=(int, float)):
    def check(name, value):
        above = value >= low if closed_low else value > low
        below = value <= high if closed_high else value < high
        if isinstance(value, bool) or not isinstance(value, kind) or not (above and below):
            raise ParameterError(f"parameter {name}={value!r} is not allowed: {what}")
        return float(value)
    return check


def _m(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 49999:
        raise ParameterError(f"parameter {name}={value!r} is not allowed: M is how many of the "
                             "50,000 training images keep their labels, 1..49999 (and below the "
                             "profile's n_train)")
    return value


def _seed(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ParameterError(f"parameter {name}={value!r} is not allowed: a seed is a whole "
                             f"number in 0..{2**31 - 1}")
    return value


def _input_size(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 512:
        raise ParameterError(f"parameter {name}={value!r} is not allowed: an input size in "
                             "32..512 pixels")
    return value


def _device(name, value):
    if value is not None and not (isinstance(value, str) and
                                  value.split(":")[0] in ("cpu", "cuda", "auto", "mps")):
        raise ParameterError(f"parameter {name}={value!r} is not allowed: None (automatic), "
                             "'cpu' or 'cuda'")
    return value


def _optional(check: Check, none: str) -> Check:
    return Check(lambda name, value: None if value is None else check(name, value),
                 lambda: f"None ({none}) or {check.allowed}")


def _recipes():
    from .recipes import RECIPES, RENAMED

    return [*RECIPES, *RENAMED]


M = Check(_m, "1..49999 known labels (below n_train)")
SEED = Check(_seed, f"0..{2**31 - 1}")
SEEDS = _list_of(SEED)
M_LIST = _list_of(M)
INPUT_SIZE = Check(_input_size, "32..512 pixels")
RECIPE_LIST = _list_of(_choice(_recipes, "a recipe of `semisup list`"))
PRECISION = _choice(PRECISIONS)
INFERENCE = list(FEATURE_METHODS)  # how an embedding teacher infers labels
FIT = _choice(TEACHER_METHODS)


# ----------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Parameter:
    name: str
    section: str | None  # None: the profile itself, in no section
    meaning: str
    check: Check

    @property
    def allowed(self) -> str:
        return self.check.allowed


def _registry(*entries) -> dict[str, Parameter]:
    return {name: Parameter(name, section, meaning, check)
            for section, rows in entries for name, meaning, check in rows}


REGISTRY: dict[str, Parameter] = _registry(
    (None, [
        ("profile", "the named study whose values every parameter left None takes",
         Check(lambda name, value: value, "a profile `semisup list` names (profiles.check_profile "
               "checks it)")),
    ]),
    ("data", [
        ("n_train", "training images used, a class-stratified subset",
         _optional(_positive_int(50000, "images"), "all 50,000")),
        ("n_test", "test images used, a class-stratified subset",
         _optional(_positive_int(10000, "images"), "all 10,000")),
        ("device", "where runs train", Check(_device, "None (CUDA when present) | cpu | cuda")),
        ("executor", "how missing runs execute: one after another, a pool of processes, or Ray",
         _choice(EXECUTORS)),
        ("train_missing", "train a run the store lacks (False: leave it out, or refuse it)",
         Check(lambda n, v: v if isinstance(v, bool) else _choice([True, False])(n, v),
               "true | false")),
        ("max_evals", "test evaluations per run (its curve; not part of a run's key)",
         _positive_int(1000)),
        ("embed_engine", "what computes backbone embeddings (the same features; not in any "
         "key)", _choice(ENGINES)),
    ]),
    ("report", [
        ("M", "known labels of the single-M chapters", M),
        ("M_list", "values of M of the report's sweep and beyond-sweep's sweep", M_LIST),
        ("seeds", "seeds of the report's sweep (each: another known set and initialisation)",
         SEEDS),
        ("seed", "seed of the known/unknown split of the single-M chapters", SEED),
        ("epochs", "passes over each model's own training set (the report's protocol: 50)",
         _positive_int(10000, "epochs")),
        ("batch_size", "images per optimizer step", _positive_int(65536, "images")),
        ("weight", "loss weight of samples with inferred labels (Models B and C)",
         Check(_number_in(0, 1, "a weight in (0, 1]", closed_high=True), "(0, 1]")),
        ("method", "how Model B's labels are inferred", _choice(INFERENCE)),
        ("backbone", "whose embeddings Model B's labels come from",
         Check(lambda n, v: v if v == "pca" else _choice(BACKBONES)(n, v),
               " | ".join(["pca", *BACKBONES]))),
        ("input_size", "the backbone's input size for Model B's labels", INPUT_SIZE),
        ("models", "the report's models trained", _list_of(_choice(["A", "B", "C"]))),
        ("arch", "the CNN every model trains", _choice(ARCHITECTURES)),
        ("report_precision", "precision of Models A, B and C (chapters 5-6)", PRECISION),
    ]),
    ("embeddings", [
        ("backbones", "backbones compared (those without weights are listed)",
         _list_of(_choice(BACKBONES))),
        ("input_sizes", "input sizes compared for `backbone`", _list_of(INPUT_SIZE)),
    ]),
    ("labels", [
        ("methods", "label-inference methods compared", _list_of(_choice(INFERENCE))),
        ("label_sizes", "backbone input sizes compared", _list_of(INPUT_SIZE)),
    ]),
    ("screening", [
        ("recipes", "recipes compared at the screening budget", RECIPE_LIST),
        ("budget_epochs", "steps per screened model, in passes over the training images",
         _positive_int(1000, "passes")),
        ("beyond_seeds", "seeds of the screening comparison", SEEDS),
        ("beyond_size", "input size of the screening and sweep's embedding teachers",
         INPUT_SIZE),
        ("beyond_M_list", "values of M of the screening chapters (label inference, better "
         "training; beyond-sweep's schedule and teacher sections)", M_LIST),
        ("schedule_epochs", "steps of beyond-sweep's schedule comparison, in passes over the "
         "training images", _positive_int(1000, "passes")),
        ("screening_precision", "precision of the screened recipes", PRECISION),
    ]),
    ("sweep", [
        ("sweep_recipes", "recipes of the sweep over M and seeds", RECIPE_LIST),
        ("sweep_seeds", "seeds of every (M, recipe) of the sweep", SEEDS),
        ("sweep_epochs", "steps per model of the sweep and the teachers' students, in passes "
         "over the training images", _positive_int(1000, "passes")),
        ("precision", "precision of the sweep and the teachers' students", PRECISION),
        ("schedule", "learning-rate schedule of the sweep and the teachers' students",
         _choice(SCHEDULES)),
        ("augment", "augmentation of the sweep, every model alike", _choice(AUGMENTATIONS)),
        ("ema", "decay of the evaluated weights' moving average, sweep and teachers' students "
         "(0: the last weights)",
         Check(_number_in(0, 1, "a decay in [0, 1) (0: the last weights)", closed_low=True),
               "[0, 1)")),
    ]),
    ("distill", [
        ("distill_recipes", "students compared in the teachers chapter", RECIPE_LIST),
        ("distill_size", "input size of the teachers' backbone (and of the wide views)",
         INPUT_SIZE),
        ("distill_M_list", "values of M of the teachers chapter and its teacher study", M_LIST),
        ("distill_seeds", "seeds of every (M, student)", SEEDS),
        ("distill_augments", "augmentations compared, each applied to every student",
         _list_of(_choice(AUGMENTATIONS))),
        ("teacher_sizes", "Lite0 input sizes of the candidate teachers", _list_of(INPUT_SIZE)),
        ("teacher_methods", "Lite0's candidate fits", _list_of(FIT)),
        ("teacher_concat_methods", "fits of the wide views (Lite1/2, concatenations)",
         _list_of(FIT)),
        ("teacher_backbones", "other candidate backbones, at distill_size with flip",
         _list_of(_choice([b for b in BACKBONES if b.startswith("effnet-lite")]), empty=True)),
        ("teacher_seeds", "seeds of the held-out splits the teacher is chosen on", SEEDS),
        ("teacher_validation", "share of the known images held out to choose the teacher",
         Check(_number_in(0, 1, "a share in (0, 1) of the known images"), "(0, 1)")),
    ]),
)

# How runs execute, not what a page computes (no run's key holds them): every chapter takes
# them, declared in its parameters cell or not
RUN_OPTIONS = ("device", "executor", "train_missing", "max_evals", "embed_engine")
# the parameters that hold values of M, each of which must leave unknown images in n_train
M_PARAMETERS = tuple(name for name, p in REGISTRY.items() if p.check in (M, M_LIST))
SECTION_OF: dict[str, str] = {name: p.section for name, p in REGISTRY.items() if p.section}


# ----------------------------------------------------------------------------- who reads them
def parameters_cell(chapter: Path) -> list[str]:
    """The lines of a chapter's parameters cell (``# %% tags=["parameters"]``)."""
    lines, inside = [], False
    for line in Path(chapter).read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            if inside:
                break
            inside = '"parameters"' in line
        elif inside:
            lines.append(line)
    return lines


def declared(chapter: Path) -> list[str]:
    """The names a chapter's parameters cell declares, in order: what a reader may pass it
    with ``-p`` (besides :data:`RUN_OPTIONS`)."""
    return [target.id for node in ast.parse("\n".join(parameters_cell(chapter))).body
            if isinstance(node, ast.Assign) for target in node.targets
            if isinstance(target, ast.Name)]


def chapters_reading(chapters) -> dict[str, list[str]]:
    """{parameter: the ``chapters`` (paths; their stems) that take it}: those whose parameters
    cell declares it, every chapter for a run option."""
    reads = {name: [] for name in REGISTRY}
    for chapter in chapters:
        names = set(declared(chapter)) | set(RUN_OPTIONS)
        for name in REGISTRY:
            if name in names:
                reads[name].append(chapter.stem)
    return reads


def table(names, values: dict, reads: dict | None = None) -> str:
    """Each of ``names`` as ``name = value`` (its value in ``values``), then its meaning, what
    it allows and (``reads``: {name: chapters}) the chapters that read it; grouped by section."""
    import textwrap

    every = set().union(*reads.values()) if reads else set()
    lines, section = [], object()
    for name in names:
        parameter = REGISTRY[name]
        if parameter.section != section:
            section = parameter.section
            lines.append(f"[{section}] {SECTIONS[section]}" if section else "[profile]")
        lines.append(f"  {name} = {values.get(name)!r}")
        text = f"{parameter.meaning}; allowed: {parameter.allowed}"
        if reads is not None:
            by = reads.get(name, [])
            text += ("; every chapter takes it" if set(by) == every else
                     f"; taken by chapters {', '.join(s[:2] for s in by)}" if by else
                     "; no chapter declares it (the profile's value, or a command's -p)")
        lines += textwrap.wrap(text, width=96, initial_indent=" " * 6,
                               subsequent_indent=" " * 6, break_on_hyphens=False)
    return "\n".join(lines)
