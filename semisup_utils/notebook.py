"""What every chapter does first: display settings, seeding, data, protocol, context.

Set once here (as fastbook's small utils do) so the chapters stay narrative.
"""
from __future__ import annotations

import random
import warnings

import numpy as np

from .data import CIFAR10, load_cifar10, subsample
from .experiments import Context, Protocol
from .store import ResultsStore

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


def data_note(data: CIFAR10, profile: str | None = None) -> str:
    """One line naming the profile and the data source; the JPEG caveat whenever it applies; for
    a dataset other than CIFAR-10 its classes, and how its images were converted to 32x32 RGB."""
    line = f"Profile {profile!r}. " if profile else ""
    line += (f"Data source: {data.source}; {data.n_train} training and {len(data.y_test)} test "
             "images.")
    if not data.is_cifar10:
        line += (f" Not CIFAR-10: {data.n_classes} classes ({', '.join(data.classes)}), chance "
                 f"{data.chance:.1f}%; the report's CIFAR-10 numbers are not shown.")
        if data.conversion:
            line += f" {data.conversion[0].upper()}{data.conversion[1:]}."
    elif "imagefolder" in data.source or ".jpg" in data.source or "jpeg" in data.source.lower():
        line += " " + JPEG_NOTE
    return line


def protocol(params: dict) -> Protocol:
    return Protocol(epochs=params["epochs"], batch_size=params["batch_size"],
                    weight=params["weight"], method=params["method"],
                    backbone=params["backbone"], input_size=params["input_size"],
                    arch=params["arch"], precision=params["report_precision"])


def context(params: dict, progress: bool | None = None) -> Context:
    return Context(store=ResultsStore(), device=params.get("device"),
                   profile=params["profile"], progress=progress,
                   train_missing=params.get("train_missing", True))


def sweep_budget(params: dict, n_train: int):
    """The beyond-the-report sweep's budget: ``sweep_epochs`` passes over the training images,
    in the profile's precision and learning-rate schedule."""
    from .recipes import Budget

    return Budget.epochs_of(params["sweep_epochs"], n_train, batch_size=params["batch_size"],
                            arch=params["arch"], precision=params["precision"],
                            schedule=params["schedule"])


def sweep_recipes(params: dict) -> list:
    """The sweep's recipes, their embedding teachers fed ``beyond_size`` pixels."""
    from .recipes import at_input_size, get_recipe

    return [at_input_size(get_recipe(name), params["beyond_size"])
            for name in params["sweep_recipes"]]
