"""The speed-up of a sweep by executor: ``local`` (one run after another), ``processes``
(a pool of one-thread runs on this machine, no Ray) and a local Ray, with 1 and 2 workers.

Runs the profile's sweep (``smoke``: M 200, 1000 x seeds 0, 1 x Models A, B, C = 12 runs on
2000 images, 3 epochs, CPU) once per configuration, each into a fresh results store, one torch
thread per run. The embeddings for Model B are computed once beforehand (the driver does this
before it submits anything, for every executor), so the times are those of the runs themselves.
``ray start`` (the local Ray coming up) is shown apart; the worker processes' start (importing
torch) is inside the sweep time, as it is in real use. The accuracies of every configuration are
checked to be the same.

    python bench/executor_speedup.py                 # smoke: local, processes and ray, 1 and 2
    python bench/executor_speedup.py --workers 1 2 4 -p M_list "[200, 500, 1000]"
    python bench/executor_speedup.py --executors local processes   # without Ray
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import _common
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="worker processes / Ray CPUs to compare")
    parser.add_argument("--executors", nargs="+", default=["local", "processes", "ray"],
                        choices=["local", "processes", "ray"])
    parser.add_argument("--no-local", action="store_true", help="skip the local executor")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="override a profile parameter")
    args = parser.parse_args()

    import ray
    import torch

    from semisup_utils.book import notebook
    from semisup_utils.book.chapters import parse_value
    from semisup_utils.study.executors import run_grid
    from semisup_utils.study.parameters import names_in, respell
    from semisup_utils.study.profiles import resolve
    from semisup_utils.study.runs import Context
    from semisup_utils.study.store import ResultsStore
    from semisup_utils.teachers.teachers import view_features

    torch.set_num_threads(1)  # the local executor: one thread, as each Ray worker
    names = names_in("report")  # the report's grid: its names short, as `semisup sweep`'s
    given = respell({k: parse_value(v) for k, v in args.parameter}, names, "this benchmark")
    params = resolve(args.profile, **{names[k]: v for k, v in given.items()})
    params["device"] = "cpu"
    _common.print_machine(f"sweep speed-up, profile {args.profile!r}")
    data = notebook.load_data(params)
    runs = notebook.report_runs(params)
    root = Path(tempfile.mkdtemp(prefix="ray-speedup-"))

    def ctx(name):
        return Context(store=ResultsStore(root / name), cache_dir=root / "cache", device="cpu",
                       profile=args.profile, progress=False)

    start = time.perf_counter()
    for views in {r.recipe.views for r in runs if r.recipe.uses_embeddings}:
        view_features(data, views, 0, ctx("warm"))
    print(f"{data.n_train} train / {len(data.y_test)} test images; M {params['M_list']}, seeds "
          f"{params['seeds']}, models {params['models']}: {len(runs)} runs of "
          f"{runs[0].budget.describe()}; embeddings computed once in "
          f"{time.perf_counter() - start:.1f} s\n")

    table, frames = [], {}
    configs = ([("local", None)] if "local" in args.executors and not args.no_local else []) + \
        [(e, n) for e in ("processes", "ray") if e in args.executors for n in args.workers]
    for executor, workers in configs:
        name = executor if workers is None else f"{executor}-{workers}"
        ray_start = 0.0
        if executor == "ray":
            start = time.perf_counter()
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
            ray_start = time.perf_counter() - start
        start = time.perf_counter()
        frames[name] = run_grid(data, runs, ctx(name), executor=executor, workers=workers,
                                threads=1)
        seconds = time.perf_counter() - start
        if executor == "ray":
            ray.shutdown()
        table.append({"executor": executor, "workers": workers or 1, "runs": len(frames[name]),
                      "ray start (s)": ray_start if executor == "ray" else float("nan"),
                      "sweep (s)": seconds,
                      "sum of run wall_s": frames[name]["wall_s"].sum()})
        print(f"{name}: {seconds:.1f} s", flush=True)

    table = pd.DataFrame(table)
    base = table["sweep (s)"].iloc[0]
    table[f"speed-up vs {table['executor'].iloc[0]}"] = base / table["sweep (s)"]
    cols = ["m", "seed", "recipe", "test_acc", "label_acc"]
    first = next(iter(frames.values()))[cols]
    same = all(frame[cols].equals(first) for frame in frames.values())
    print()
    _common.print_table("sweep wall time by executor", table, floats="{:,.2f}")
    print(f"same accuracies in every configuration: {'yes' if same else 'NO'}")
    print(f"load average now: {os.getloadavg()[0]:.2f} (other work on the machine skews this)")


if __name__ == "__main__":
    main()
