"""What every bench script shares: the machine description, data, devices, tables, fits."""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))
# as the Makefile does: offline, the JPEG copy beside the project is the data source
if not os.environ.get("SEMISUP_DATA") and SHARED_DATA.exists():
    os.environ["SEMISUP_DATA"] = str(SHARED_DATA)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 30)


def add_common_args(parser, devices=True):
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's choice, see OMP_NUM_THREADS)")
    if devices:
        parser.add_argument("--devices", nargs="+", default=None,
                            help="cpu and/or cuda (default: cpu, plus cuda when available)")
    return parser


def apply_common_args(args) -> list[torch.device]:
    if args.threads:
        torch.set_num_threads(args.threads)
    requested = getattr(args, "devices", None) or (
        ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    out = []
    for name in requested:
        if name.startswith("cuda") and not torch.cuda.is_available():
            print(f"note: {name} asked for but torch.cuda.is_available() is False; skipped")
            continue
        out.append(torch.device(name))
    return out


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
             "amx_tile", "amx_bf16", "amx_int8")


def isa() -> str:
    """The CPU flags that decide which kernels oneDNN and ATen run, and torch's own choice."""
    flags = cpu_flags()
    present = [f for f in ISA_FLAGS if f in flags] or ["none of " + ", ".join(ISA_FLAGS)]
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability",
                         lambda: "?")()
    return f"{' '.join(present)} (torch CPU capability: {capability})"


def print_machine(title: str) -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "cpu": cpu_name(),
        "cpu ISA": isa(),
        "cpu count": f"{os.cpu_count()} ({usable} usable by this process)",
        "torch threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
        "load average (1 min)": f"{os.getloadavg()[0]:.2f}  (other work on the machine skews "
                                "the numbers)",
        "cuda device": torch.cuda.get_device_name(0) if torch.cuda.is_available()
        else "none (torch.cuda.is_available() is False)",
        "date": __import__("datetime").date.today().isoformat(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    print(f"== {title}")
    for key, value in info.items():
        print(f"  {key:<21} {value}")
    print()


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def load_data():
    """CIFAR-10 through the project's loader (``$SEMISUP_DATA``, cache ``$SEMISUP_CACHE``)."""
    from semisup_utils.data.dataset import load_cifar10

    return load_cifar10()


def print_table(title: str, frame: pd.DataFrame, floats: str = "{:,.3g}") -> None:
    print(f"-- {title}")
    print(frame.to_string(index=False, float_format=lambda v: floats.format(v)))
    print()


def linear_fit(x, y) -> tuple[float, float]:
    """Least-squares ``y = slope * x + intercept`` (numpy.polyfit); needs 2+ distinct x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(np.unique(x)) < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)
