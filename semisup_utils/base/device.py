"""Which torch device to run on: CUDA when present, else the CPU; CUDA MPS for processes
that share one GPU."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import torch

_WARNED = set()


class DeviceMemoryError(RuntimeError):
    """The accelerator ran out of memory; the message says how to fit."""


def out_of_memory(error: BaseException, what: str, batch_size: int) -> DeviceMemoryError:
    """Turn a CUDA out-of-memory error into one that says which knob to turn."""
    return DeviceMemoryError(
        f"the GPU ran out of memory while {what} with batch_size={batch_size}; lower the batch "
        f"size (e.g. batch_size={max(1, batch_size // 2)}, or `-p batch_size "
        f"{max(1, batch_size // 2)}` for a chapter), or run on the CPU with device='cpu'. "
        f"({str(error).splitlines()[0] if str(error) else type(error).__name__})")


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


@contextmanager
def cuda_mps(wanted: bool = True):
    """Around training processes that share one GPU: the CUDA MPS control daemon started
    (their kernels then run side by side instead of taking turns) and stopped after. Yields
    whether it runs; False where it was not wanted or the machine has no
    ``nvidia-cuda-mps-control`` (or it did not start), and the processes share the GPU
    without it."""
    import shutil
    import subprocess

    control = shutil.which("nvidia-cuda-mps-control") if wanted else None
    started = bool(control) and subprocess.run(
        [control, "-d"], stdin=subprocess.DEVNULL, capture_output=True).returncode == 0
    try:
        yield started
    finally:
        if started:
            subprocess.run([control], input=b"quit\n", capture_output=True)
