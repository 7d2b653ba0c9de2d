"""Named studies (profiles) for the chapters, one section per experiment, and the validation
of every parameter.

A chapter's ``parameters`` cell names a ``profile`` and leaves every other parameter ``None``
("take the profile's value"); :func:`resolve` merges the overrides papermill injected, checks
every value and builds the budgets and recipes they describe (so a value those refuse is
refused before any work starts).
"""
from __future__ import annotations

from typing import Any

from .cnn import ARCHITECTURES
from .executors import EXECUTORS
from .features import BACKBONES, ENGINES
from .labels import FEATURE_METHODS
from .train import AUGMENTATIONS, PRECISIONS, SCHEDULES

# the fits a teacher study compares (chapter 10): logistic regression on embeddings, at C=1
# (plain, calibrated, self-trained) or at the C chosen by cross-validation (alone, self-trained)
TEACHER_METHODS = ("logreg", "logreg-cal", "logreg-self", "logreg-cv", "logreg-cv-self")

# One section per experiment of the book; a chapter reads the sections it needs. Parameter
# names are one flat namespace (what papermill passes: `-p sweep_seeds '[0]'`), each name in
# exactly one section, so the sections say which experiment a name belongs to.
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
_DISTILL_RECIPES = ["A", "ceiling", "lite0-224flip-cal-soft", "lite0-224flip-cal-soft-T2"]

STUDIES: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {
        # a class-stratified subset; enough steps that every model learns (Model A at M=500:
        # ~25%, not chance), so the tests' tolerance on trained numbers can catch a regression
        "data": {"n_train": 2000, "n_test": 1000, "device": "cpu", "executor": "local",
                 "train_missing": True, "max_evals": 50, "embed_engine": "torch"},
        "report": {"M": 500, "M_list": [500, 1000], "seeds": [0, 1], "seed": 0, "epochs": 12,
                   "batch_size": 64, "weight": 0.1, "method": "kmeans",
                   "backbone": "effnet-lite0", "input_size": 32, "models": ["A", "B", "C"],
                   "arch": "report", "report_precision": "auto"},
        "embeddings": {"backbones": ["effnet-lite0"], "input_sizes": [32, 48]},
        "labels": {"methods": ["kmeans", "knn", "logreg", "spread"], "label_sizes": [32, 48]},
        "screening": {"recipes": ["A", "B", "logreg-soft", "logreg+A-soft", "fixmatch",
                                  "ceiling"],
                      "budget_epochs": 4, "beyond_seeds": [0], "beyond_size": 48,
                      "beyond_M_list": [500, 1000], "schedule_epochs": 4,
                      "screening_precision": "auto"},
        # fp32 ("auto" on the CPU): bf16 is emulated on CPUs without AVX512-BF16 or AMX, 8x
        # slower there (the references would take an hour); tests/test_cnn_train.py covers bf16
        "sweep": {"sweep_recipes": ["A", "B", "C", "logreg-cal-soft", "ceiling"],
                  "sweep_seeds": [0, 1], "sweep_epochs": 4, "precision": "auto",
                  "schedule": "onecycle", "augment": "report"},
        "distill": {"distill_recipes": _DISTILL_RECIPES[:3], "distill_size": 32,
                    "distill_M_list": [500], "distill_seeds": [0],
                    "distill_augments": ["report", "crop-cutout"],
                    "teacher_sizes": [32], "teacher_methods": ["logreg-cal", "logreg-cv"],
                    "teacher_concat_methods": ["logreg-cal"], "teacher_backbones": [],
                    "teacher_seeds": [0], "teacher_validation": 0.2},
    },
    # a fifth of the report's compute for the sweep (3,910 steps per model), all 60,000
    # images: the published book's screening chapters, and the runs the README quotes at it
    "reduced": {
        "data": {"n_train": None, "n_test": None, "device": None, "executor": "local",
                 "train_missing": True, "max_evals": 50, "embed_engine": "torch"},
        "report": {"M": 5000, "M_list": [500, 5000, 40000], "seeds": [0, 1], "seed": 0,
                   "epochs": 8, "batch_size": 128, "weight": 0.1, "method": "kmeans",
                   "backbone": "effnet-lite0", "input_size": 64, "models": ["A", "B", "C"],
                   "arch": "report", "report_precision": "auto"},
        "embeddings": {"backbones": ["effnet-lite0", "vgg16", "vgg19", "efficientnet_v2_s"],
                       "input_sizes": [32, 64]},
        "labels": {"methods": ["kmeans", "kmeans-all", "knn", "logreg", "spread"],
                   "label_sizes": [32, 64, 96]},
        "screening": {"recipes": ["A", "logreg-soft", "logreg+A-soft", "fixmatch", "ceiling"],
                      "budget_epochs": 3, "beyond_seeds": [0], "beyond_size": 96,
                      "beyond_M_list": [500, 5000, 40000], "schedule_epochs": 10,
                      "screening_precision": "auto"},
        "sweep": {"sweep_recipes": ["A", "B", "C", "logreg-cal-soft", "multiscale+A-soft",
                                    "ceiling"],
                  "sweep_seeds": [0, 1, 2], "sweep_epochs": 10, "precision": "bf16",
                  "schedule": "onecycle", "augment": "report"},
        # the teachers fed 224x224 images: embedding them is minutes on a GPU, hours on 2 cores
        # the teacher chosen on a fifth of the known images held out (teacher_eval): Lite0 at
        # four input sizes with and without flip, calibrated or self-trained, at C=1 or at the C
        # of a 5-fold cross-validation (plain logreg has the calibrated fit's accuracy and a
        # worse ECE: never chosen), Lite1 and two concatenations at distill_size (C=1
        # calibrated, or cross-validated), averaged over the splits of three seeds (100 held-out
        # images at M=500 alone judge to +-4.6 points; `semisup teachers` computes them)
        "distill": {"distill_recipes": _DISTILL_RECIPES, "distill_size": 224,
                    "distill_M_list": [500, 5000, 40000], "distill_seeds": [0, 1, 2],
                    "distill_augments": ["report", "crop-cutout"],
                    "teacher_sizes": [96, 128, 160, 224],
                    "teacher_methods": ["logreg-cal", "logreg-self", "logreg-cv",
                                        "logreg-cv-self"],
                    "teacher_concat_methods": ["logreg-cal", "logreg-cv"],
                    # Lite2's fits land by M (`semisup teachers -p distill_M_list ...`);
                    # a fit not yet stored is left out of the choice and named
                    "teacher_backbones": ["effnet-lite1", "effnet-lite2"],
                    "teacher_seeds": [0, 1, 2], "teacher_validation": 0.2},
    },
}
# Reruns on a laptop (the default): the report's protocol (50 epochs) on a class-stratified
# 5,000-image subset of the training images, tested on all 10,000 test images. B and C train
# 50 passes over 5,000 images instead of 50,000, so one chapter 5 (A, B and C) takes minutes
# on 2 cores and Model A, whose budget depends on M only, learns as in the report (about 35%
# at M=500). The screening and sweep budgets count passes over the 5,000 images.
STUDIES["laptop"] = {
    # the test curve measured 5 times, not 50: evaluating all 10,000 test images after every
    # epoch would cost more than training most of these models (at 10 it was half of the
    # whole laptop book's training time); the final accuracy is always on all of them
    "data": {"n_train": 5000, "n_test": None, "device": None, "executor": "processes",
             "train_missing": True, "max_evals": 5, "embed_engine": "torch"},
    # two values of M, three seeds: B and C cost the same at every M (50 passes over 5,000
    # images), so the M-sweep's cost is (values of M) x (seeds); chapter 5's M is among them
    # `fast`: bf16 where the CPU computes bf16 natively, fp32 elsewhere
    # (train.autocast_enabled): about 1.4x the training images/s on an AVX512-BF16 CPU
    "report": {**STUDIES["reduced"]["report"], "M": 500, "M_list": [500, 4000],
               "seeds": [0, 1, 2], "epochs": 50, "report_precision": "fast"},
    "embeddings": {"backbones": ["effnet-lite0"], "input_sizes": [32, 64]},
    "labels": {**STUDIES["reduced"]["labels"]},
    "screening": {**STUDIES["reduced"]["screening"], "budget_epochs": 15,
                  "beyond_M_list": [500, 4000], "schedule_epochs": 15,
                  "screening_precision": "fast"},
    "sweep": {**STUDIES["reduced"]["sweep"], "sweep_epochs": 10, "precision": "fast"},
    # 64x64 teachers, whose plain embeddings chapter 4 computed (224x224 embeddings of the
    # 60,000 images take hours on 2 cores with torch, 6.5 min per view with the onnx extra,
    # which the chapters do not use), one M, one seed
    "distill": {**STUDIES["reduced"]["distill"], "distill_size": 64, "distill_M_list": [500],
                "distill_seeds": [0], "teacher_sizes": [32, 64],
                "teacher_methods": ["logreg", "logreg-cal"],
                "teacher_concat_methods": ["logreg-cal"], "teacher_backbones": []},
}
DEFAULT_PROFILE = "laptop"
# other names a profile is known by: "default" is whichever is the default
ALIASES = {"default": DEFAULT_PROFILE}
_ALL_M = [500, 1000, 2000, 5000, 10000, 20000, 40000]
STUDIES["paper"] = {
    "data": {**STUDIES["reduced"]["data"]},
    "report": {**STUDIES["reduced"]["report"], "M_list": _ALL_M, "seeds": [0, 1, 2],
               "epochs": 50, "report_precision": "bf16"},
    "embeddings": {**STUDIES["reduced"]["embeddings"], "input_sizes": [32, 64, 96]},
    "labels": {**STUDIES["reduced"]["labels"], "label_sizes": [32, 64, 96, 128]},
    "screening": {"recipes": ["A", "B", "C", "logreg", "logreg-soft", "logreg-top50",
                              "logreg-confweight", "logreg+A-soft", "spread", "self-train-2",
                              "fixmatch", "ceiling"],
                  "budget_epochs": 50, "beyond_seeds": [0, 1, 2], "beyond_size": 96,
                  "beyond_M_list": _ALL_M, "schedule_epochs": 50,
                  "screening_precision": "auto"},
    "sweep": {**STUDIES["reduced"]["sweep"], "sweep_epochs": 50},
    "distill": {**STUDIES["reduced"]["distill"]},
}
# The published book (`make book`): the report's protocol and the beyond-the-report sweep at
# full compute, seven values of M and three seeds, read from the committed store; the
# screening experiments at the reduced profile's smaller budgets and M in beyond_M_list, as
# their chapters' first paragraphs say.
STUDIES["published"] = {
    **STUDIES["reduced"],
    "data": {**STUDIES["reduced"]["data"], "train_missing": False},  # render from the store
    "report": STUDIES["paper"]["report"],
    "sweep": STUDIES["paper"]["sweep"],
    "distill": STUDIES["paper"]["distill"],
}


def _flatten(study: dict) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in study.items():
        clash = set(flat) & set(values)
        if clash:
            raise AssertionError(f"parameters {sorted(clash)} in two sections")
        flat.update(values)
    return flat


# the flat view every chapter and command reads (a name's section: SECTION_OF)
PROFILES: dict[str, dict[str, Any]] = {name: _flatten(s) for name, s in STUDIES.items()}
SECTION_OF: dict[str, str] = {name: section for section, values in STUDIES["reduced"].items()
                              for name in values}


class ParameterError(ValueError):
    """A parameter's value is not allowed; the message names it, its value and what is."""


def _positive_int(name, value, upper=None):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or \
            (upper is not None and value > upper):
        allowed = f"1..{upper}" if upper else "a positive whole number"
        raise ParameterError(f"parameter {name}={value!r} is not allowed: expected {allowed}")
    return value


def _choice(name, value, choices):
    if value not in choices:
        raise ParameterError(f"parameter {name}={value!r} is not allowed: expected one of "
                             f"{', '.join(map(str, choices))}")
    return value


def _list_of(name, value, check, empty: bool = False):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParameterError(f"parameter {name}={value!r} is not allowed: expected a list")
    value = list(value)
    if not value and not empty:
        raise ParameterError(f"parameter {name}=[] is not allowed: expected a non-empty list")
    for i, item in enumerate(value):
        check(f"{name}[{i}]", item)
    repeated = sorted({repr(v) for i, v in enumerate(value) if v in value[:i]})
    if repeated:  # a repeated seed or M would be counted twice in every mean and sd
        raise ParameterError(f"parameter {name}={value!r} is not allowed: "
                             f"{', '.join(repeated)} repeated; list each value once")
    return value


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


def _weight(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ParameterError(f"parameter {name}={value!r} is not allowed: a weight in (0, 1]")
    return float(value)


def _share(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ParameterError(f"parameter {name}={value!r} is not allowed: a share in (0, 1) "
                             "of the known images")
    return float(value)


def _input_size(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 512:
        raise ParameterError(f"parameter {name}={value!r} is not allowed: an input size in "
                             "32..512 pixels")
    return value


def _optional(check):
    return lambda name, value: None if value is None else check(name, value)


def _device(name, value):
    if value is not None and not (isinstance(value, str) and
                                  value.split(":")[0] in ("cpu", "cuda", "auto", "mps")):
        raise ParameterError(f"parameter {name}={value!r} is not allowed: None (automatic), "
                             "'cpu' or 'cuda'")
    return value


VALIDATORS = {
    "n_train": _optional(lambda n, v: _positive_int(n, v, 50000)),
    "n_test": _optional(lambda n, v: _positive_int(n, v, 10000)),
    "M": _m,
    "M_list": lambda n, v: _list_of(n, v, _m),
    "seeds": lambda n, v: _list_of(n, v, _seed),
    "seed": _seed,
    "epochs": lambda n, v: _positive_int(n, v, 10000),
    "batch_size": lambda n, v: _positive_int(n, v, 65536),
    "weight": _weight,
    "backbone": lambda n, v: v if v == "pca" else _choice(n, v, list(BACKBONES)),
    "backbones": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(n2, v2, list(BACKBONES))),
    "input_size": _input_size,
    "input_sizes": lambda n, v: _list_of(n, v, _input_size),
    "method": lambda n, v: _choice(n, v, list(FEATURE_METHODS)),
    "models": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(n2, v2, ["A", "B", "C"])),
    "arch": lambda n, v: _choice(n, v, list(ARCHITECTURES)),
    "device": _device,
    "methods": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(
        n2, v2, list(FEATURE_METHODS))),
    "label_sizes": lambda n, v: _list_of(n, v, _input_size),
    "recipes": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(n2, v2, list(_recipes()))),
    "budget_epochs": lambda n, v: _positive_int(n, v, 1000),
    # the values of M of the screening chapters (8, 9; chapter 10's schedule and teachers)
    "beyond_M_list": lambda n, v: _list_of(n, v, _m),
    # chapter 10's schedule comparison (constant vs one-cycle), in epochs' worth of steps
    "schedule_epochs": lambda n, v: _positive_int(n, v, 1000),
    "beyond_seeds": lambda n, v: _list_of(n, v, _seed),
    "beyond_size": _input_size,
    "executor": lambda n, v: _choice(n, v, list(EXECUTORS)),
    # test evaluations per run (its curve), not part of a run's key
    "max_evals": lambda n, v: _positive_int(n, v, 1000),
    # what computes backbone embeddings: torch, or onnxruntime (CPU only, the [onnx] extra;
    # the same fp32 features about 10x faster on 2 cores); not part of any key
    "embed_engine": lambda n, v: _choice(n, v, list(ENGINES)),
    "sweep_recipes": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(n2, v2,
                                                                        list(_recipes()))),
    "sweep_seeds": lambda n, v: _list_of(n, v, _seed),
    "sweep_epochs": lambda n, v: _positive_int(n, v, 1000),
    "precision": lambda n, v: _choice(n, v, list(PRECISIONS)),
    "schedule": lambda n, v: _choice(n, v, list(SCHEDULES)),
    "distill_recipes": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(n2, v2,
                                                                          list(_recipes()))),
    "distill_size": _input_size,
    "distill_M_list": lambda n, v: _list_of(n, v, _m),
    "distill_seeds": lambda n, v: _list_of(n, v, _seed),
    "distill_augments": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(
        n2, v2, list(AUGMENTATIONS))),
    # the teacher study (chapter 10): Lite0's input sizes, the fits (of the wide views: Lite1/2
    # and the concatenations, teacher_concat_methods), the other backbones (at
    # distill_size, with flip), the seeds whose splits it is chosen on, the held-out share
    "teacher_sizes": lambda n, v: _list_of(n, v, _input_size),
    "teacher_methods": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(
        n2, v2, list(TEACHER_METHODS))),
    "teacher_concat_methods": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(
        n2, v2, list(TEACHER_METHODS))),
    "teacher_backbones": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(
        n2, v2, [b for b in BACKBONES if b.startswith("effnet-lite")]), empty=True),
    "teacher_seeds": lambda n, v: _list_of(n, v, _seed),
    "teacher_validation": lambda n, v: _share(n, v),
    # the sweep's augmentation, every model alike: the report's, or random crop and cutout
    "augment": lambda n, v: _choice(n, v, list(AUGMENTATIONS)),
    # chapter 8's screening budget (its recipes, the report's constant rate)
    "screening_precision": lambda n, v: _choice(n, v, list(PRECISIONS)),
    # Models A/B/C of chapters 5-6 (the report's constant rate); "precision" is chapter 10's
    "report_precision": lambda n, v: _choice(n, v, list(PRECISIONS)),
    # False: read runs from the store only; a missing run is left out (sweeps) or refused
    "train_missing": lambda n, v: v if isinstance(v, bool) else _choice(n, v, [True, False]),
}


# How runs execute, not what a page computes (no run's key holds them): every chapter takes
# them, declared in its parameters cell or not (`-p train_missing true`, which the missing-run
# refusal offers; `-p embed_engine onnxruntime`)
RUN_OPTIONS = ("device", "executor", "train_missing", "max_evals", "embed_engine")
# the parameters that hold values of M, each of which must leave unknown images in n_train
M_PARAMETERS = ("M", "M_list", "beyond_M_list", "distill_M_list")


def _recipes():
    from .recipes import RECIPES, RENAMED

    return [*RECIPES, *RENAMED]

PARAMETERS = ["profile", *VALIDATORS]


def check_profile(name: str) -> str:
    """The profile's own name (``default`` is the default profile's other name)."""
    name = ALIASES.get(name, name) if isinstance(name, str) else name
    if name not in PROFILES:
        raise ParameterError(f"parameter profile={name!r} is not allowed: expected one of "
                             f"{', '.join([*PROFILES, *ALIASES])}")
    return name


def validate(name: str, value):
    if name == "profile":
        return check_profile(value)
    if name not in VALIDATORS:
        raise ParameterError(f"unknown parameter {name!r}; known parameters: "
                             f"{', '.join(PARAMETERS)}")
    return VALIDATORS[name](name, value)


def resolve(profile: str, reads=None, **overrides) -> dict[str, Any]:
    """The profile's parameters with every non-None override applied, all validated.

    ``reads``: the names the caller reads (a chapter's parameters); only their values of M
    must fit n_train (chapter 01 with ``-p n_train 100 -p M 30`` is not refused for the
    profile's M_list, which it neither reads nor takes). None: every value of M."""
    profile = check_profile(profile)
    params = dict(PROFILES[profile])
    for name, value in overrides.items():
        if name not in VALIDATORS:
            validate(name, value)  # raises: unknown parameter
        if value is not None:
            params[name] = value
    params = {name: validate(name, value) for name, value in params.items()}
    check_ms_fit(params, M_PARAMETERS if reads is None else
                 [n for n in M_PARAMETERS if n in set(reads)])
    params["profile"] = profile
    _build(params)
    return params


def check_ms_fit(params: dict, names) -> None:
    """Refuse a value of M among ``names`` that leaves no unknown image in n_train, naming
    the parameter to change."""
    n_train = params["n_train"] or 50000
    for name in names:
        value = params[name]
        for m in value if isinstance(value, list) else [value]:
            if m >= n_train:
                which = f"M={m}" if isinstance(value, list) else "M"
                raise ParameterError(
                    f"parameter {name}={value!r} is not allowed with n_train={n_train}: "
                    f"{which} must be in 1..{n_train - 1} (the known images among the "
                    f"n_train training images, leaving some unknown); change {name} or n_train")


def _build(params: dict) -> None:
    """Build the objects the parameters describe, so their own checks run once, here."""
    from .budget import Budget
    from .recipes import at_input_size, get_recipe

    try:
        Budget.report(params["epochs"], batch_size=params["batch_size"], arch=params["arch"],
                      precision=params["report_precision"])
        Budget.epochs_of(params["sweep_epochs"], params["n_train"] or 50000,
                         batch_size=params["batch_size"], arch=params["arch"],
                         precision=params["precision"], schedule=params["schedule"])
        for name in [*params["recipes"], *params["sweep_recipes"]]:
            at_input_size(get_recipe(name), params["beyond_size"])
        for name in params["distill_recipes"]:
            at_input_size(get_recipe(name), params["distill_size"])
    except (ValueError, KeyError) as error:
        raise ParameterError(f"the profile's parameters do not make a valid study: {error}") \
            from None


def sections(profile: str) -> dict[str, dict[str, Any]]:
    """The profile as its experiments see it: {section: {parameter: value}}."""
    return {section: dict(values) for section, values in STUDIES[check_profile(profile)].items()}
