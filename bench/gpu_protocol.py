"""The report's protocol for one seed on one GPU: wall time, and the same numbers as stored?

Runs the seven values of M x Models A, B, C (50 epochs, the `paper` profile) as several
`semisup sweep` processes side by side on one GPU (under CUDA MPS when its control daemon can
be started, so their kernels share the GPU instead of time-slicing), into a fresh results
store, after the data and B's embeddings are prepared once. Prints the wall time and a table of
each run's test accuracy beside the runs of the same key in the reference store (the committed
`results/runs.jsonl`): the mean and sd over the stored seeds, and the stored run of this seed.

    python bench/gpu_protocol.py --seed 0 --store /tmp/gpu-store
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, print_machine  # sets SEMISUP_DATA like the Makefile

from semisup_utils.base.device import cuda_mps

M_VALUES = [500, 1000, 2000, 5000, 10000, 20000, 40000]


def prepare(profile: str) -> None:
    """Decode the data and compute B's embeddings once, before the processes start."""
    from semisup_utils.book.notebook import context, load_data, report_recipes
    from semisup_utils.study.profiles import resolve
    from semisup_utils.teachers.teachers import view_features

    params = resolve(profile)
    data = load_data(params)
    (b,) = report_recipes(params, ["B"])
    view_features(data, b.views, 0, context(params, progress=False))


def jobs(profile: str, seed: int) -> list[list[str]]:
    """One process per (M, A then C) and per (M, B): the longest chain is A then C at the
    largest M, so it starts first."""
    out = []
    for m in sorted(M_VALUES, reverse=True):
        for models in (["A", "C"], ["B"]):
            out.append([sys.executable, "-m", "semisup_utils.cli", "sweep", "--profile", profile,
                        "--quiet", "-p", "M_list", f"[{m}]", "-p", "seeds", f"[{seed}]",
                        "-p", "models", json.dumps(models)])
    return out


def rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def compare(new: list[dict], reference: list[dict], seed: int):
    import pandas as pd

    def same_run(key, other):
        return {k: v for k, v in other.items() if k != "seed"} == \
            {k: v for k, v in key.items() if k != "seed"}

    table = []
    for row in new:
        key = row["key"]
        stored = [r for r in reference if same_run(key, r["key"])]
        accs = pd.Series([r["test_acc"] for r in stored], dtype=float) * 100
        this_seed = [r["test_acc"] * 100 for r in stored if r["key"]["seed"] == seed]
        table.append({"M": key["m"], "model": row["name"], "GPU now (%)": row["test_acc"] * 100,
                      f"stored seed {seed} (%)": this_seed[0] if this_seed else float("nan"),
                      "stored mean (%)": accs.mean(), "stored sd": accs.std(),
                      "stored seeds": len(accs), "wall_s": row["wall_s"],
                      "stored on": ",".join(sorted({r.get("device", "?") for r in stored}))})
    return pd.DataFrame(table).sort_values(["M", "model"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", required=True, help="a folder for the fresh results store")
    parser.add_argument("--reference", default=str(ROOT / "results" / "runs.jsonl"))
    parser.add_argument("--no-mps", action="store_true")
    args = parser.parse_args()

    print_machine("the report's protocol, one seed, on one GPU")
    store = Path(args.store).resolve()
    store.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SEMISUP_RESULTS": str(store), "OMP_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    prepare(args.profile)
    prepared = time.perf_counter() - start
    procs = []
    start = time.perf_counter()
    with cuda_mps(not args.no_mps) as mps:
        try:
            for i, command in enumerate(jobs(args.profile, args.seed)):
                log = open(store / f"job-{i:02d}.log", "w")
                procs.append((subprocess.Popen(command, env=env, stdout=log,
                                               stderr=subprocess.STDOUT, cwd=ROOT), command))
            codes = [p.wait() for p, _ in procs]
        finally:
            for p, _ in procs:
                if p.poll() is None:
                    p.terminate()
    wall = time.perf_counter() - start
    failed = [" ".join(c[-6:]) for (p, c), code in zip(procs, codes) if code]
    new = rows(store / "runs.jsonl")
    print(f"\nprepared data and embeddings in {prepared:.0f} s; {len(procs)} processes "
          f"{'under MPS' if mps else 'without MPS'}; {len(new)} runs in {wall:.0f} s wall "
          f"(target: 21 runs in <= 180 s on one H100)")
    if failed:
        print("failed:", *failed, sep="\n  ")
    frame = compare(new, rows(Path(args.reference)), args.seed)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    within = (frame["GPU now (%)"] - frame["stored mean (%)"]).abs() <= \
        2 * frame["stored sd"].fillna(0) + 0.5
    print(f"\nwithin 2 sd (+0.5 point) of the stored mean: {int(within.sum())} of {len(frame)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
