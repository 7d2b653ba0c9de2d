"""Run every bench script with modest defaults and print all their tables (`make bench`).

Each script runs in its own process (fresh memory peaks, its own thread settings); a failing
script is reported and the others still run. --quick uses tiny sizes (a check that the
scripts work, not a measurement).

    python bench/run_all.py [--quick] [--only train_throughput scaling] [--devices cpu]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

MODEST = {
    "train_throughput": ["--images", "10000", "--repeats", "3", "--workers", "0", "2"],
    "embed_throughput": ["--n", "512", "--sizes", "32", "64", "96", "--repeats", "3"],
    "chapters": ["--profile", "smoke"],
    "precision_schedule": ["--steps", "2000"],
    "train_step_variants": ["--repeats", "5"],
    "scaling": ["--n-unknown", "1000", "5000", "20000", "--m", "500", "5000",
                "--train-sizes", "1000", "5000", "20000"],
}
QUICK = {
    "train_throughput": ["--images", "1280", "--warmup", "3", "--repeats", "1",
                         "--data-size", "5000"],
    "embed_throughput": ["--n", "256", "--sizes", "32", "64", "--repeats", "1"],
    "chapters": ["--profile", "smoke", "--chapters", "01"],
    "precision_schedule": ["--steps", "20", "--n-train", "2000"],
    "train_step_variants": ["--steps", "1", "--repeats", "1", "--groups", "2"],
    "scaling": ["--n-unknown", "500", "1000", "2000", "--m", "100", "500",
                "--train-sizes", "500", "1000", "2000"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke check")
    parser.add_argument("--only", nargs="+", choices=list(MODEST), default=list(MODEST))
    parser.add_argument("--devices", nargs="+", default=None,
                        help="passed to the scripts that take it (default: cpu, plus cuda)")
    parser.add_argument("--threads", type=int, default=None, help="passed to every script")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else MODEST
    failed, seconds = [], {}
    for name in args.only:
        extra = plan[name] + (["--threads", str(args.threads)] if args.threads else [])
        if args.devices and name not in ("chapters", "train_step_variants"):  # CPU only
            extra += ["--devices", *args.devices]
        command = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"\n{'=' * 100}\n$ {' '.join(command[1:])}\n", flush=True)
        start = time.perf_counter()
        code = subprocess.call(command)
        seconds[name] = time.perf_counter() - start
        if code:
            failed.append(f"{name} (exit {code})")
    print(f"\n{'=' * 100}\nbench: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
