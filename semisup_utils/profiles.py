"""Named parameter sets for the chapters, and the validation of every parameter.

A chapter's ``parameters`` cell names a ``profile`` and leaves every other parameter ``None``
("take the profile's value"); :func:`resolve` merges the overrides papermill injected and
checks every value before any work starts.
"""
from __future__ import annotations

from typing import Any

from .cnn import ARCHITECTURES
from .executors import EXECUTORS
from .features import BACKBONES
from .labels import METHODS
from .train import PRECISIONS, SCHEDULES

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {
        "n_train": 2000, "n_test": 1000,  # a class-stratified subset
        # enough steps that every model learns (Model A at M=500: ~25%, not chance), so the
        # tests' tolerance on trained numbers can catch a real regression (README, "Tests")
        "M": 500, "M_list": [500, 1000], "seeds": [0, 1], "seed": 0,
        "epochs": 12, "batch_size": 64, "weight": 0.1,
        "backbone": "effnet-lite0", "input_size": 32, "input_sizes": [32, 48],
        "backbones": ["effnet-lite0"], "method": "kmeans", "models": ["A", "B", "C"],
        "arch": "report", "device": "cpu",
        "methods": ["kmeans", "knn", "logreg", "spread"], "label_sizes": [32, 48],
        "recipes": ["A", "B", "logreg-soft", "logreg+A-soft", "fixmatch", "ceiling"],
        "budget_epochs": 4, "beyond_seeds": [0], "beyond_size": 48, "executor": "local",
        "beyond_M_list": [500, 1000], "schedule_epochs": 4,
        "sweep_recipes": ["A", "B", "C", "logreg-cal-soft", "ceiling"],
        "sweep_seeds": [0, 1], "sweep_epochs": 4, "precision": "bf16", "schedule": "onecycle",
        "report_precision": "auto", "train_missing": True,
    },
    "default": {
        "n_train": None, "n_test": None,  # all 60,000 images
        "M": 5000, "M_list": [500, 5000, 40000], "seeds": [0, 1], "seed": 0,
        "epochs": 8, "batch_size": 128, "weight": 0.1,
        "backbone": "effnet-lite0", "input_size": 64, "input_sizes": [32, 64],
        "backbones": ["effnet-lite0", "vgg16", "vgg19", "efficientnet_v2_s"],
        "method": "kmeans", "models": ["A", "B", "C"], "arch": "report", "device": None,
        "methods": ["kmeans", "kmeans-all", "knn", "logreg", "spread"],
        "label_sizes": [32, 64, 96],
        "recipes": ["A", "logreg-soft", "logreg+A-soft", "fixmatch", "ceiling"],
        "budget_epochs": 3, "beyond_seeds": [0], "beyond_size": 96, "executor": "local",
        "beyond_M_list": [500, 5000, 40000], "schedule_epochs": 10,
        "sweep_recipes": ["A", "B", "C", "logreg-cal-soft", "multiscale+A-soft",
                          "ceiling"],
        "sweep_seeds": [0, 1, 2], "sweep_epochs": 10, "precision": "bf16",
        "schedule": "onecycle", "report_precision": "auto", "train_missing": True,
    },
    "paper": {
        "n_train": None, "n_test": None,
        "M": 5000, "M_list": [500, 1000, 2000, 5000, 10000, 20000, 40000],
        "seeds": [0, 1, 2], "seed": 0,
        "epochs": 50, "batch_size": 128, "weight": 0.1,
        "backbone": "effnet-lite0", "input_size": 64, "input_sizes": [32, 64, 96],
        "backbones": ["effnet-lite0", "vgg16", "vgg19", "efficientnet_v2_s"],
        "method": "kmeans", "models": ["A", "B", "C"], "arch": "report", "device": None,
        "methods": ["kmeans", "kmeans-all", "knn", "logreg", "spread"],
        "label_sizes": [32, 64, 96, 128],
        "recipes": ["A", "B", "C", "logreg", "logreg-soft", "logreg-top50",
                    "logreg-confweight", "logreg+A-soft", "spread", "self-train-2", "fixmatch",
                    "ceiling"],
        "budget_epochs": 50, "beyond_seeds": [0, 1, 2], "beyond_size": 96, "executor": "local",
        "beyond_M_list": [500, 1000, 2000, 5000, 10000, 20000, 40000], "schedule_epochs": 50,
        "sweep_recipes": ["A", "B", "C", "logreg-cal-soft", "multiscale+A-soft",
                          "ceiling"],
        "sweep_seeds": [0, 1, 2], "sweep_epochs": 50, "precision": "bf16",
        "schedule": "onecycle", "report_precision": "bf16", "train_missing": True,
    },
}

# The published book (`make book`): the report's protocol (chapters 5, 6) and the beyond-the-report
# sweep (chapter 10) at full compute, seven values of M and three seeds, read from the committed
# store; the screening chapters (8, 9 and chapter 10's schedule and teacher sections) at the
# default profile's smaller budgets and M in beyond_M_list, as their first paragraphs say.
PROFILES["published"] = {
    **PROFILES["default"],
    "M_list": PROFILES["paper"]["M_list"], "seeds": [0, 1, 2], "epochs": 50,
    "report_precision": "bf16", "sweep_epochs": 50, "sweep_seeds": [0, 1, 2],
    "train_missing": False,  # render from the committed store; a missing run is left out
}


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


def _list_of(name, value, check):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParameterError(f"parameter {name}={value!r} is not allowed: expected a list")
    value = list(value)
    if not value:
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
    "method": lambda n, v: _choice(n, v, [k for k in METHODS if k != "cnn"]),
    "models": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(n2, v2, ["A", "B", "C"])),
    "arch": lambda n, v: _choice(n, v, list(ARCHITECTURES)),
    "device": _device,
    "methods": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(
        n2, v2, [k for k in METHODS if k != "cnn"])),
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
    "sweep_recipes": lambda n, v: _list_of(n, v, lambda n2, v2: _choice(n2, v2,
                                                                        list(_recipes()))),
    "sweep_seeds": lambda n, v: _list_of(n, v, _seed),
    "sweep_epochs": lambda n, v: _positive_int(n, v, 1000),
    "precision": lambda n, v: _choice(n, v, list(PRECISIONS)),
    "schedule": lambda n, v: _choice(n, v, list(SCHEDULES)),
    # Models A/B/C of chapters 5-6 (the report's constant rate); "precision" is chapter 10's
    "report_precision": lambda n, v: _choice(n, v, list(PRECISIONS)),
    # False: read runs from the store only; a missing run is left out (sweeps) or refused
    "train_missing": lambda n, v: v if isinstance(v, bool) else _choice(n, v, [True, False]),
}


def _recipes():
    from .recipes import RECIPES, RENAMED

    return [*RECIPES, *RENAMED]

PARAMETERS = ["profile", *VALIDATORS]


def check_profile(name: str) -> str:
    if name not in PROFILES:
        raise ParameterError(f"parameter profile={name!r} is not allowed: expected one of "
                             f"{', '.join(PROFILES)}")
    return name


def validate(name: str, value):
    if name == "profile":
        return check_profile(value)
    if name not in VALIDATORS:
        raise ParameterError(f"unknown parameter {name!r}; known parameters: "
                             f"{', '.join(PARAMETERS)}")
    return VALIDATORS[name](name, value)


def resolve(profile: str, **overrides) -> dict[str, Any]:
    """The profile's parameters with every non-None override applied, all validated."""
    params = dict(PROFILES[check_profile(profile)])
    for name, value in overrides.items():
        if name not in VALIDATORS:
            validate(name, value)  # raises: unknown parameter
        if value is not None:
            params[name] = value
    params = {name: validate(name, value) for name, value in params.items()}
    n_train = params["n_train"] or 50000
    for m in [params["M"], *params["M_list"]]:
        if m >= n_train:
            raise ParameterError(f"parameter M={m} is not allowed with n_train={n_train}: M must "
                                 f"be in 1..{n_train - 1}")
    params["profile"] = profile
    return params
