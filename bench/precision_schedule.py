"""Precision, schedule and memory format: test accuracy and wall time of the report's CNN on
all 50,000 true labels (the ceiling) for the same number of steps, fp32 vs bf16 autocast,
constant rate (the report's) vs one-cycle, optionally with label smoothing; with
``--set channels_last``, fp32 and bf16 (constant rate) each with and without
``train(channels_last=True)``. One table per run, and with several ``--seeds`` the mean and
standard deviation per configuration and its paired difference (seed by seed) from its
``channels_last=False`` twin (from the first configuration where it has none).

    python bench/precision_schedule.py --steps 2000 --seed 0
    python bench/precision_schedule.py --set channels_last --steps 800 --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import itertools
import time

import _common
import pandas as pd

from semisup_utils.training.train import train

# (precision, schedule, label smoothing, channels_last)
CONFIG_SETS = {
    "report": [("fp32", "constant", 0.0, False), ("bf16", "constant", 0.0, False),
               ("bf16", "onecycle", 0.0, False), ("bf16", "onecycle", 0.1, False)],
    "channels_last": [("fp32", "constant", 0.0, False), ("fp32", "constant", 0.0, True),
                      ("bf16", "constant", 0.0, False), ("bf16", "constant", 0.0, True)],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps (batch 128)")
    parser.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="several seeds")
    parser.add_argument("--set", choices=sorted(CONFIG_SETS), default="report",
                        help="report: precision and schedule (default); channels_last: fp32 and "
                             "bf16 with and without train(channels_last=True)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"],
                        help="only the configurations of these precisions (default both)")
    parser.add_argument("--n-train", type=int, default=50000, help="training images used")
    args = _common.add_common_args(parser).parse_args(argv)
    devices = _common.apply_common_args(args)
    seeds = args.seeds or [0 if args.seed is None else args.seed]
    _common.print_machine("precision and schedule: same steps, test accuracy")
    data = _common.load_data()
    x, y = data.x_train[:args.n_train], data.y_train[:args.n_train]
    rows = []
    for seed, device, (precision, schedule, smoothing, cl) in itertools.product(
            seeds, devices, [c for c in CONFIG_SETS[args.set] if c[0] in args.precisions]):
        # seeds outermost: the configurations interleaved
        start = time.perf_counter()
        _, history = train(x, y, steps=args.steps, seed=seed, device=device,
                           precision=precision, schedule=schedule, label_smoothing=smoothing,
                           channels_last=cl, test=(data.x_test, data.y_test), max_evals=1,
                           progress=False)
        rows.append({"device": _common.device_name(device), "precision": precision,
                     "schedule": schedule, "label smoothing": smoothing, "channels_last": cl,
                     "seed": seed, "test acc. (%)": round(100 * history[-1]["test_acc"], 2),
                     "wall s": round(time.perf_counter() - start)})
    frame = pd.DataFrame(rows)
    _common.print_table(f"{args.steps} steps of batch 128 on {len(x)} images, seeds {seeds} "
                        f"(data: {data.source})", frame)
    if len(seeds) > 1:
        keys = ["device", "precision", "schedule", "label smoothing", "channels_last"]
        acc = frame.pivot_table(index=keys, columns="seed", values="test acc. (%)", sort=False)
        summary = pd.DataFrame({"mean acc. (%)": acc.mean(axis=1), "sd": acc.std(axis=1, ddof=1),
                                "mean wall s": frame.groupby(keys, sort=False)["wall s"].mean()})
        # each configuration against its channels_last=False twin (else the first row), per seed
        reference = [acc.loc[key[:-1] + (False,)] if key[-1] and key[:-1] + (False,) in acc.index
                     else acc.iloc[0] for key in acc.index]
        diff = acc - pd.DataFrame(reference, index=acc.index)
        summary["paired diff (points)"] = diff.mean(axis=1)
        summary["sd of diff"] = diff.std(axis=1, ddof=1)
        _common.print_table("per configuration over the seeds", summary.reset_index(),
                            floats="{:.2f}")
    print(f"cpu ISA: {_common.isa()}")
    return frame


if __name__ == "__main__":
    main()
