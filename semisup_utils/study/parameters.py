"""Every parameter the chapters and commands take, once: its section, its one-line meaning, what
values it allows (the check that refuses the others says the same) and the chapters that read it.

The profiles (:mod:`profiles`) hold the values; this registry says what the names mean.
``semisup params [CHAPTER] [--profile P]`` prints it. A chapter's parameters cell declares the
names a reader may pass; :func:`chapters_reading` reads them from the chapters, so the registry
never lists chapters by hand.
"""
from __future__ import annotations

import ast
import warnings
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

# One section per experiment of the book. A parameter is named within its section (`seeds`,
# `M_list`, `input_size`: one concept, one name in every section); a chapter declares its section
# and reads its names short, the report's protocol and the data's short too where its own section
# lacks them, any other section's qualified by it (`screening_M_list`). Inside, each parameter
# keeps one flat key (its name before sections named them; what the profiles' flat view, the
# builders and `P[...]` read): run keys never held these names, so none changes.
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
    name: str  # its key: the flat name the profiles, the builders and P[...] read
    section: str | None  # None: the profile itself, in no section
    meaning: str
    check: Check

    @property
    def allowed(self) -> str:
        return self.check.allowed

    @property
    def short(self) -> str:
        """Its name within its section (what its section's chapters and commands call it)."""
        return SHORT.get(self.name, self.name)

    @property
    def qualified(self) -> str:
        """Its name outside its section: ``section_short`` (the data's names need none)."""
        return self.short if self.section in (None, "data") else f"{self.section}_{self.short}"


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
        ("teacher_backbones", "other candidate backbones, at the distill input_size with flip",
         _list_of(_choice([b for b in BACKBONES if b.startswith("effnet-lite")]), empty=True)),
        ("teacher_seeds", "seeds of the held-out splits the teacher is chosen on", SEEDS),
        ("teacher_validation", "share of the known images held out to choose the teacher",
         Check(_number_in(0, 1, "a share in (0, 1) of the known images"), "(0, 1)")),
    ]),
)

# Each key whose name in its section is not the key itself: one concept, one name (the keys
# carried an experiment's prefix: six for seeds, six for input size, ...)
SHORT: dict[str, str] = {
    "report_precision": "precision",
    "label_sizes": "input_sizes",
    "budget_epochs": "epochs", "beyond_seeds": "seeds",
    "beyond_size": "input_size", "beyond_M_list": "M_list", "screening_precision": "precision",
    "sweep_recipes": "recipes", "sweep_seeds": "seeds", "sweep_epochs": "epochs",
    "distill_recipes": "recipes", "distill_size": "input_size", "distill_M_list": "M_list",
    "distill_seeds": "seeds", "distill_augments": "augments",
    "teacher_sizes": "teacher_input_sizes",
}
# {(section, name within it): key}
KEYS: dict[tuple[str | None, str], str] = {(p.section, p.short): key
                                           for key, p in REGISTRY.items()}
# {old flat name: (section, its name there)}: every name papermill and the commands took before
# sections named them (each still taken, with a DeprecationWarning naming its new name)
RENAMED: dict[str, tuple[str, str]] = {key: (p.section, p.short) for key, p in REGISTRY.items()
                                       if p.section and p.short != key}
# the section each experiment builds on, where a short name its own section lacks is looked up
# (then the data's): the teachers' students train at the sweep's budget, every experiment at
# the report's protocol (batch size, architecture, backbone, M, seed)
BUILDS_ON: dict[str, str] = {"distill": "sweep", "sweep": "report", "screening": "report",
                             "labels": "report", "embeddings": "report", "data": "report"}


def sections_read(section: str | None) -> list[str]:
    """``section``, the sections it builds on, the data: where its short names are looked up."""
    chain, where = [], section or "report"
    while where and where not in chain:
        chain.append(where)
        where = BUILDS_ON.get(where)
    return [*chain, "data"] if "data" not in chain else chain


def key_of(name: str, section: str | None) -> str | None:
    """The key ``name`` stands for in a chapter or command of ``section``: a short name of that
    section or of one it builds on (:func:`sections_read`), else a qualified ``section_short``;
    None when it names no parameter there (an old name, a typo)."""
    if name == "profile":
        return name
    for where in sections_read(section):
        if (where, name) in KEYS:
            return KEYS[(where, name)]
    return qualified_key(name)


def qualified_key(name: str) -> str | None:
    """The key a qualified name (``sweep_seeds``: ``section_short``) stands for, else None."""
    where, _, short = name.partition("_")
    return KEYS.get((where, short)) if where in SECTIONS else None


def name_in(key: str, section: str | None) -> str:
    """What a chapter or command of ``section`` calls the parameter ``key``: its short name
    where that stands for it there, else its qualified name."""
    short = REGISTRY[key].short
    return short if key_of(short, section) == key else REGISTRY[key].qualified


def names_in(section: str | None, keys=None) -> dict[str, str]:
    """{name: key} of every parameter (or of ``keys``) as ``section`` names them."""
    return {name_in(key, section): key for key in (REGISTRY if keys is None else keys)}


def respell(given: dict, names: dict[str, str], where: str) -> dict:
    """``given`` ({name: value}) by the names ``names`` ({name: key}, what ``where`` takes):
    a qualified name (``sweep_seeds``) is taken as the name ``where`` gives it (``seeds``); an
    old name (a key that ``names`` calls otherwise, ``beyond_size``) with a DeprecationWarning
    naming its new one; a parameter given twice (by two names) or an unknown name is
    refused."""
    called = {key: name for name, key in names.items()}
    out, by = {}, {}
    for name, value in given.items():
        if name in names:
            new = name
        elif qualified_key(name) in called:  # a qualified name, where a shorter one serves
            new = called[qualified_key(name)]
        elif name in called:  # a key: the name it had before sections named it
            new = called[name]
            warnings.warn(f"parameter {name} is now {new} in {where}; pass -p {new} (the old "
                          "name will be refused)", DeprecationWarning, stacklevel=3)
        else:
            raise ParameterError(f"unknown parameter {name!r} for {where}; its parameters: "
                                 f"{', '.join(n for n in names if n not in RUN_OPTIONS)}; in "
                                 f"every chapter: {', '.join(RUN_OPTIONS)}")
        if new in by and value is None:  # None: not given (the profile's value)
            continue
        if new in by and out[new] is not None:
            raise ParameterError(f"parameters {by[new]} and {name} are both {new} in {where} "
                                 f"({name} is its old name): pass it once, as {new}")
        by[new] = name
        out[new] = value
    return out


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
    with ``-p`` (besides :data:`RUN_OPTIONS`); its ``section`` is none of them."""
    return [name for name in _assigned(chapter) if name != "section"]


def _assigned(chapter: Path) -> dict:
    return {target.id: node.value for node in ast.parse("\n".join(parameters_cell(chapter))).body
            if isinstance(node, ast.Assign) for target in node.targets
            if isinstance(target, ast.Name)}


def section_of(chapter: Path) -> str | None:
    """The section a chapter's parameters cell declares (``section = "sweep"``): the one
    whose short names it reads."""
    value = _assigned(chapter).get("section")
    return ast.literal_eval(value) if value is not None else None


def chapter_names(names, section: str | None) -> dict[str, str]:
    """{name: key} of the ``names`` a chapter of ``section`` declares, with the run options
    every chapter takes; a name that stands for no parameter there is refused."""
    keys = {name: key_of(name, section) for name in [*names, *RUN_OPTIONS]}
    unknown = [name for name, key in keys.items() if key is None]
    if unknown:
        raise ParameterError(f"the parameters cell declares {', '.join(unknown)}, no "
                             f"parameter of section {section!r} (`semisup params`)")
    return keys


def names_of(chapter: Path) -> dict[str, str]:
    """{name: key} of what a chapter takes: its parameters cell's names and the run options."""
    return chapter_names(declared(chapter), section_of(chapter))


def chapters_reading(chapters) -> dict[str, list[str]]:
    """{parameter key: the ``chapters`` (paths; their stems) that take it}: those whose
    parameters cell declares it (by whatever name), every chapter for a run option."""
    reads = {key: [] for key in REGISTRY}
    for chapter in chapters:
        keys = set(names_of(chapter).values())
        for key in REGISTRY:
            if key in keys:
                reads[key].append(chapter.stem)
    return reads


def table(keys, values: dict, reads: dict | None = None, names: dict | None = None) -> str:
    """Each parameter of ``keys`` as ``name = value`` (its value in ``values``; its name in
    ``names``, {key: name}, else its short name), then its meaning, what it allows and
    (``reads``: {key: chapters}) the chapters that read it; grouped by section."""
    import textwrap

    every = set().union(*reads.values()) if reads else set()
    lines, section = [], object()
    for key in keys:
        parameter = REGISTRY[key]
        if parameter.section != section:
            section = parameter.section
            lines.append(f"[{section}] {SECTIONS[section]}" if section else "[profile]")
        name = (names or {}).get(key, parameter.short)
        lines.append(f"  {name} = {values.get(key)!r}")
        text = f"{parameter.meaning}; allowed: {parameter.allowed}"
        if name != key:
            text += f"; formerly {key}"
        if reads is not None:
            by = reads.get(key, [])
            text += ("; every chapter takes it" if set(by) == every else
                     f"; taken by chapters {', '.join(s[:2] for s in by)}" if by else
                     "; no chapter declares it (the profile's value, or a command's -p)")
        lines += textwrap.wrap(text, width=96, initial_indent=" " * 6,
                               subsequent_indent=" " * 6, break_on_hyphens=False)
    return "\n".join(lines)
