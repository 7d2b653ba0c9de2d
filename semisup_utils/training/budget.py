"""How much training a run gets, and how it is spent.

Two policies, one concept: ``epochs`` gives every model that many passes over its *own*
training set (the report's protocol: Model A, which sees M images, takes far fewer optimizer
steps than B and C, which see 50,000); ``steps`` gives every model the same number of optimizer
steps (equal compute). A budget also fixes the batch, the learning rate and its schedule, the
precision and the network, so two runs compare only when their budgets are equal.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .cnn import check_arch
from .train import AUGMENTATIONS, PRECISIONS, SCHEDULES

POLICIES = ("epochs", "steps")


def _positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name}={value!r}: must be a positive whole number")


@dataclass(frozen=True)
class Budget:
    """``policy`` epochs (``amount`` passes over the model's own training set) or steps
    (``amount`` optimizer steps); self-training spends it once per round."""

    policy: str
    amount: int
    batch_size: int = 128
    lr: float = 1e-3
    arch: str = "report"
    precision: str = "auto"      # auto: fp32 on the CPU, bf16 on CUDA (train.autocast_enabled)
    schedule: str = "constant"   # constant (the report's) or onecycle
    label_smoothing: float = 0.0
    augment: str = "report"      # report (flip, rotation, colour jitter) or crop-cutout
    ema: float = 0.0             # decay of the weights' moving average evaluated (0: none)

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError(f"policy={self.policy!r}: expected one of {', '.join(POLICIES)}")
        _positive_int("epochs" if self.policy == "epochs" else "steps", self.amount)
        _positive_int("batch_size", self.batch_size)
        check_arch(self.arch)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r}: expected one of "
                             f"{', '.join(PRECISIONS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r}: expected one of "
                             f"{', '.join(SCHEDULES)}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing={self.label_smoothing!r}: must lie in [0, 1)")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment={self.augment!r}: expected one of "
                             f"{', '.join(AUGMENTATIONS)}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema={self.ema!r}: the decay must lie in [0, 1) (0: the last "
                             "weights, no averaging)")

    @classmethod
    def report(cls, epochs: int = 50, **kwargs) -> "Budget":
        """The report's protocol: ``epochs`` passes over each model's own training set."""
        return cls("epochs", epochs, **kwargs)

    @classmethod
    def steps(cls, steps: int, **kwargs) -> "Budget":
        """Equal compute: ``steps`` optimizer steps for every model."""
        return cls("steps", steps, **kwargs)

    @classmethod
    def epochs_of(cls, epochs: int, n_images: int = 50000, **kwargs) -> "Budget":
        """Equal compute, counted as the steps that ``epochs`` passes over ``n_images`` take."""
        batch = kwargs.get("batch_size", 128)
        return cls.steps(int(epochs * -(-n_images // batch)), **kwargs)

    def steps_for(self, n_images: int) -> int:
        """Optimizer steps one training of ``n_images`` images takes under this budget."""
        if self.policy == "steps":
            return self.amount
        return self.amount * math.ceil(n_images / self.batch_size)

    def train_kwargs(self) -> dict:
        """The keyword arguments of :func:`semisup_utils.training.train.train` this budget fixes."""
        return {"epochs" if self.policy == "epochs" else "steps": self.amount,
                "arch": self.arch, "batch_size": self.batch_size, "lr": self.lr,
                "precision": self.precision, "schedule": self.schedule,
                "label_smoothing": self.label_smoothing, "augment": self.augment,
                "ema": self.ema}

    def key(self) -> dict:
        """Every field; ``augment`` only when it is not the report's and ``ema`` only when on
        (the stored runs' keys predate them)."""
        key = asdict(self)
        if key["augment"] == "report":
            del key["augment"]
        if not key["ema"]:
            del key["ema"]
        else:
            key["ema"] = float(key["ema"])
        return key

    def describe(self) -> str:
        unit = "epochs over each model's own training set" if self.policy == "epochs" \
            else "optimizer steps per model"
        return (f"{self.amount:,} {unit}, batch {self.batch_size}, Adam {self.lr:g} "
                f"({self.schedule}), precision {self.precision}"
                + ("" if self.augment == "report" else f", augmentation {self.augment}")
                + (f", weights averaged (EMA {self.ema:g})" if self.ema else ""))
