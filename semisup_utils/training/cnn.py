"""From-scratch CNNs. ``report`` is the report's network exactly (32,122 parameters)."""
from __future__ import annotations

from torch import nn


class ReportCNN(nn.Sequential):
    """conv 3-16-32 (3x3, valid), max-pool, conv 32-32-16, max-pool, dropout 0.5,
    linear 400-32-10; ReLU activations, as in the report's Keras model.

    Dropout acts on the flattened features (the same function as dropout before flattening,
    and in the default layout the very same masks from the same random draws): its mask is
    drawn in memory order, so before the flatten a channels_last tensor drew other masks than
    the default layout from the same seed, and the two layouts trained different networks."""

    def __init__(self, n_classes: int = 10, dropout: float = 0.5):
        super().__init__(
            nn.Conv2d(3, 16, 3), nn.ReLU(),
            nn.Conv2d(16, 32, 3), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 16, 3), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(400, 32), nn.ReLU(),
            nn.Linear(32, n_classes),
        )


ARCHITECTURES = {"report": ReportCNN}


class UnknownArchitectureError(KeyError):
    def __str__(self):
        return str(self.args[0])


def check_arch(name: str) -> str:
    if name not in ARCHITECTURES:
        raise UnknownArchitectureError(
            f"unknown architecture {name!r}; known architectures: {', '.join(ARCHITECTURES)}")
    return name


def build_cnn(arch: str = "report", n_classes: int = 10) -> nn.Module:
    """A fresh network with one output per class (CIFAR-10: 10)."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes={n_classes!r}: a classifier needs at least 2 classes")
    return ARCHITECTURES[check_arch(arch)](n_classes=n_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summary(model: nn.Module | None = None, batch_size: int = 1):
    """torchinfo's layer table for a 32x32 RGB input: each layer's output shape and parameters
    (a layer's input is the output above it), 72 characters wide, so it fits the book's page."""
    from torchinfo import summary as torchinfo_summary

    return torchinfo_summary(model or build_cnn(), input_size=(batch_size, 3, 32, 32),
                             col_names=("output_size", "num_params"), col_width=16, verbose=0)
