"""Which torch device to run on: CUDA when present, else the CPU."""
from __future__ import annotations

import sys

import torch

_WARNED = set()


def pick_device(requested=None) -> torch.device:
    """``requested`` ('cpu', 'cuda', 'cuda:1', None for automatic) as a usable device.

    A CUDA request on a machine without a GPU falls back to the CPU with one line saying so.
    """
    if requested is None or requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        if "cuda" not in _WARNED:
            print("semisup: CUDA was asked for but no GPU is available; running on the CPU",
                  file=sys.stderr)
            _WARNED.add("cuda")
        return torch.device("cpu")
    return device
