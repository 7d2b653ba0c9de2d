"""The speed-up of a sweep on a local Ray with 1 and 2 workers (and the ``local`` executor).

Runs the profile's sweep (``smoke``: M 200, 1000 x seeds 0, 1 x Models A, B, C = 12 runs on
2000 images, 3 epochs, CPU) once per configuration, each into a fresh results store, one torch
thread per run. The embeddings for Model B are computed once beforehand (the driver does this
before it submits anything, for every executor), so the times are those of the runs themselves.
``ray start`` (the local Ray coming up) is shown apart; the worker processes' start (importing
torch) is inside the sweep time, as it is in real use. The accuracies of every configuration are
checked to be the same.

    python bench/ray_speedup.py                      # smoke: local, ray with 1 and 2 workers
    python bench/ray_speedup.py --workers 1 2 4 -p M_list "[200, 500, 1000]"
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
                        help="Ray worker CPUs to compare (ray.init(num_cpus=N))")
    parser.add_argument("--no-local", action="store_true", help="skip the local executor")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="override a profile parameter")
    args = parser.parse_args()

    import ray
    import torch

    from semisup_utils import notebook
    from semisup_utils.experiments import Context, label_features, sweep
    from semisup_utils.profiles import resolve
    from semisup_utils.runner import parse_value
    from semisup_utils.store import ResultsStore

    torch.set_num_threads(1)  # the local executor: one thread, as each Ray worker
    params = resolve(args.profile, **{k: parse_value(v) for k, v in args.parameter})
    params["device"] = "cpu"
    _common.print_machine(f"sweep speed-up, profile {args.profile!r}")
    data = notebook.load_data(params)
    protocol = notebook.protocol(params)
    root = Path(tempfile.mkdtemp(prefix="ray-speedup-"))

    def ctx(name):
        return Context(store=ResultsStore(root / name), cache_dir=root / "cache", device="cpu",
                       profile=args.profile, progress=False)

    start = time.perf_counter()
    label_features(data, protocol, ctx("warm"))
    runs = len(params["M_list"]) * len(params["seeds"]) * len(params["models"])
    print(f"{data.n_train} train / {len(data.y_test)} test images; M {params['M_list']}, seeds "
          f"{params['seeds']}, models {params['models']}: {runs} runs of {protocol.epochs} "
          f"epochs; embeddings computed once in {time.perf_counter() - start:.1f} s\n")

    table, frames = [], {}
    configs = ([] if args.no_local else [("local", None)]) + [("ray", n) for n in args.workers]
    for executor, workers in configs:
        name = executor if workers is None else f"ray-{workers}"
        ray_start = 0.0
        if executor == "ray":
            start = time.perf_counter()
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
            ray_start = time.perf_counter() - start
        start = time.perf_counter()
        frames[name] = sweep(data, params["M_list"], params["seeds"], params["models"],
                             protocol, ctx(name), executor=executor)
        seconds = time.perf_counter() - start
        if executor == "ray":
            ray.shutdown()
        table.append({"executor": executor, "workers": workers or 1, "runs": len(frames[name]),
                      "ray start (s)": ray_start, "sweep (s)": seconds,
                      "sum of run wall_s": frames[name]["wall_s"].sum()})
        print(f"{name}: {seconds:.1f} s", flush=True)

    table = pd.DataFrame(table)
    base = table[(table.executor == "ray") & (table.workers == 1)]["sweep (s)"]
    if len(base):
        table["speed-up vs ray 1 worker"] = base.iloc[0] / table["sweep (s)"]
    cols = ["m", "seed", "model", "test_acc", "label_acc"]
    first = next(iter(frames.values()))[cols]
    same = all(frame[cols].equals(first) for frame in frames.values())
    print()
    _common.print_table("sweep wall time by executor", table, floats="{:,.2f}")
    print(f"same accuracies in every configuration: {'yes' if same else 'NO'}")
    print(f"load average now: {os.getloadavg()[0]:.2f} (other work on the machine skews this)")


if __name__ == "__main__":
    main()
