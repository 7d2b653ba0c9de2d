"""Named studies (profiles) for the chapters: each profile's values, one section per
experiment (what each name means and allows: :mod:`parameters`).

A chapter's ``parameters`` cell names a ``profile`` and leaves every other parameter ``None``
("take the profile's value"); :func:`resolve` merges the overrides papermill injected and checks
every value by the registry, before any work starts. The chapters' builders
(:mod:`notebook`) build the budgets and recipes from them.
"""
from __future__ import annotations

from typing import Any

# the registry's names, imported here too by the callers that resolve a profile
from .parameters import KEYS, M_PARAMETERS, REGISTRY, RUN_OPTIONS, SECTION_OF, ParameterError

__all__ = ["M_PARAMETERS", "RUN_OPTIONS", "SECTION_OF", "ParameterError", "validate",
           "PROFILES", "STUDIES", "check_profile", "resolve", "sections"]

# One section per experiment of the book (parameters.SECTIONS); a chapter reads the sections it
# needs. What each name means and allows: parameters.REGISTRY (`semisup params`).
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
                   "arch": "report", "precision": "auto"},
        "embeddings": {"backbones": ["effnet-lite0"], "input_sizes": [32, 48]},
        "labels": {"methods": ["kmeans", "knn", "logreg", "spread"], "input_sizes": [32, 48]},
        "screening": {"recipes": ["A", "B", "logreg-soft", "logreg+A-soft", "fixmatch",
                                  "ceiling"],
                      "epochs": 4, "seeds": [0], "input_size": 48,
                      "M_list": [500, 1000], "schedule_epochs": 4,
                      "precision": "auto"},
        # fp32 ("auto" on the CPU): bf16 is emulated on CPUs without AVX512-BF16 or AMX, 8x
        # slower there (the references would take an hour); tests/test_cnn_train.py covers bf16
        "sweep": {"recipes": ["A", "B", "C", "logreg-cal-soft", "ceiling"],
                  "seeds": [0, 1], "epochs": 4, "precision": "auto",
                  "schedule": "onecycle", "augment": "report", "ema": 0.0},
        "distill": {"recipes": _DISTILL_RECIPES[:3], "input_size": 32,
                    "M_list": [500], "seeds": [0],
                    "augments": ["report", "crop-cutout"],
                    "teacher_input_sizes": [32], "teacher_methods": ["logreg-cal", "logreg-cv"],
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
                   "arch": "report", "precision": "auto"},
        "embeddings": {"backbones": ["effnet-lite0", "vgg16", "vgg19", "efficientnet_v2_s"],
                       "input_sizes": [32, 64]},
        "labels": {"methods": ["kmeans", "kmeans-all", "knn", "logreg", "spread"],
                   "input_sizes": [32, 64, 96]},
        "screening": {"recipes": ["A", "logreg-soft", "logreg+A-soft", "fixmatch", "ceiling"],
                      "epochs": 3, "seeds": [0], "input_size": 96,
                      "M_list": [500, 5000, 40000], "schedule_epochs": 10,
                      "precision": "auto"},
        "sweep": {"recipes": ["A", "B", "C", "logreg-cal-soft", "multiscale+A-soft",
                                    "ceiling"],
                  "seeds": [0, 1, 2], "epochs": 10, "precision": "bf16",
                  "schedule": "onecycle", "augment": "report", "ema": 0.0},
        # the teachers fed 224x224 images: embedding them is minutes on a GPU, hours on 2 cores
        # the teacher chosen on a fifth of the known images held out (teacher_eval): Lite0 at
        # four input sizes with and without flip, calibrated or self-trained, at C=1 or at the C
        # of a 5-fold cross-validation (plain logreg has the calibrated fit's accuracy and a
        # worse ECE: never chosen), Lite1 and two concatenations at input_size (C=1
        # calibrated, or cross-validated), averaged over the splits of three seeds (100 held-out
        # images at M=500 alone judge to +-4.6 points; `semisup teachers` computes them)
        "distill": {"recipes": _DISTILL_RECIPES, "input_size": 224,
                    "M_list": [500, 5000, 40000], "seeds": [0, 1, 2],
                    "augments": ["report", "crop-cutout"],
                    "teacher_input_sizes": [96, 128, 160, 224],
                    "teacher_methods": ["logreg-cal", "logreg-self", "logreg-cv",
                                        "logreg-cv-self"],
                    "teacher_concat_methods": ["logreg-cal", "logreg-cv"],
                    # Lite2's fits land by M (`semisup teachers -p M_list ...`);
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
               "seeds": [0, 1, 2], "epochs": 50, "precision": "fast"},
    "embeddings": {"backbones": ["effnet-lite0"], "input_sizes": [32, 64]},
    "labels": {**STUDIES["reduced"]["labels"]},
    "screening": {**STUDIES["reduced"]["screening"], "epochs": 15,
                  "M_list": [500, 4000], "schedule_epochs": 15,
                  "precision": "fast"},
    "sweep": {**STUDIES["reduced"]["sweep"], "epochs": 10, "precision": "fast"},
    # 64x64 teachers, whose plain embeddings chapter 4 computed (224x224 embeddings of the
    # 60,000 images take hours on 2 cores with torch, 6.5 min per view with the onnx extra,
    # which the chapters do not use), one M, one seed
    "distill": {**STUDIES["reduced"]["distill"], "input_size": 64, "M_list": [500],
                "seeds": [0], "teacher_input_sizes": [32, 64],
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
               "epochs": 50, "precision": "bf16"},
    "embeddings": {**STUDIES["reduced"]["embeddings"], "input_sizes": [32, 64, 96]},
    "labels": {**STUDIES["reduced"]["labels"], "input_sizes": [32, 64, 96, 128]},
    "screening": {"recipes": ["A", "B", "C", "logreg", "logreg-soft", "logreg-top50",
                              "logreg-confweight", "logreg+A-soft", "spread", "self-train-2",
                              "fixmatch", "ceiling"],
                  "epochs": 50, "seeds": [0, 1, 2], "input_size": 96,
                  "M_list": _ALL_M, "schedule_epochs": 50,
                  "precision": "auto"},
    "sweep": {**STUDIES["reduced"]["sweep"], "epochs": 50},
    "distill": {**STUDIES["reduced"]["distill"]},
}
# The published book (`make book`): the report's protocol and the beyond-the-report sweep at
# full compute, seven values of M and three seeds, read from the committed store; the
# screening experiments at the reduced profile's smaller budgets and M in their M_list, as
# their chapters' first paragraphs say.
STUDIES["published"] = {
    **STUDIES["reduced"],
    "data": {**STUDIES["reduced"]["data"], "train_missing": False},  # render from the store
    "report": STUDIES["paper"]["report"],
    "sweep": STUDIES["paper"]["sweep"],
    "distill": STUDIES["paper"]["distill"],
}


def _flatten(study: dict) -> dict[str, Any]:
    """{key: value} of a study's {section: {name: value}} (:data:`parameters.KEYS`)."""
    return {KEYS[(section, name)]: value
            for section, values in study.items() for name, value in values.items()}


for _name, _study in STUDIES.items():  # the sections hold the registry's names, each in its own
    _held = {(n, section) for section, values in _study.items() for n in values}
    _registered = {(p.short, p.section) for p in REGISTRY.values() if p.section}
    if _held != _registered:
        raise AssertionError(f"profile {_name!r}: parameters not in their registry section: "
                             f"{sorted(_held ^ _registered)}")

# the flat view every chapter and command reads, by key (a key's section: SECTION_OF; its name
# there: parameters.REGISTRY[key].short)
PROFILES: dict[str, dict[str, Any]] = {name: _flatten(s) for name, s in STUDIES.items()}


def check_profile(name: str) -> str:
    """The profile's own name (``default`` is the default profile's other name)."""
    name = ALIASES.get(name, name) if isinstance(name, str) else name
    if name not in PROFILES:
        raise ParameterError(f"parameter profile={name!r} is not allowed: expected one of "
                             f"{', '.join([*PROFILES, *ALIASES])}")
    return name


def validate(name: str, value, label: str | None = None):
    """The value, checked (and normalised) by its parameter's registered check (a refusal
    names it ``label``, the name it was given by, else its key); an unknown key is refused,
    naming the known ones."""
    if name not in REGISTRY:
        raise ParameterError(f"unknown parameter {name!r}; known parameters: "
                             f"{', '.join(REGISTRY)}")
    if name == "profile":
        return check_profile(value)
    return REGISTRY[name].check(label or name, value)


def resolve(profile: str, reads=None, labels=None, **overrides) -> dict[str, Any]:
    """The profile's parameters with every non-None override (by key) applied, all validated.

    ``reads``: the keys the caller reads (a chapter's parameters); only their values of M
    must fit n_train (chapter 01 with ``-p n_train 100 -p M 30`` is not refused for the
    profile's M_list, which it neither reads nor takes). None: every value of M.
    ``labels``: {key: the name the caller gave it by}, which a refusal names."""
    profile = check_profile(profile)
    labels = labels or {}
    params = dict(PROFILES[profile])
    for name, value in overrides.items():
        if name not in SECTION_OF:
            validate(name, value)  # raises: unknown parameter
        if value is not None:
            params[name] = value
    params = {name: validate(name, value, labels.get(name)) for name, value in params.items()}
    check_ms_fit(params, M_PARAMETERS if reads is None else
                 [n for n in M_PARAMETERS if n in set(reads)], labels)
    params["profile"] = profile
    return params


def check_ms_fit(params: dict, names, labels=None) -> None:
    """Refuse a value of M among ``names`` that leaves no unknown image in n_train, naming
    the parameter to change (by its name in ``labels``, {key: name}, else its key)."""
    n_train = params["n_train"] or 50000
    for key in names:
        value, name = params[key], (labels or {}).get(key, key)
        for m in value if isinstance(value, list) else [value]:
            if m >= n_train:
                which = f"M={m}" if isinstance(value, list) else "M"
                raise ParameterError(
                    f"parameter {name}={value!r} is not allowed with n_train={n_train}: "
                    f"{which} must be in 1..{n_train - 1} (the known images among the "
                    f"n_train training images, leaving some unknown); change {name} or n_train")


def sections(profile: str) -> dict[str, dict[str, Any]]:
    """The profile as its experiments see it: {section: {parameter: value}}."""
    return {section: dict(values) for section, values in STUDIES[check_profile(profile)].items()}
