"""Precision and learning-rate schedule: test accuracy and wall time of the report's CNN on all
50,000 true labels (the ceiling) for the same number of steps, fp32 vs bf16 autocast, constant
rate (the report's) vs one-cycle, optionally with label smoothing. One table.

    python bench/precision_schedule.py --steps 2000 --seed 0
"""
from __future__ import annotations

import argparse
import itertools
import time

import _common
import pandas as pd

from semisup_utils.train import train

CONFIGS = [("fp32", "constant", 0.0), ("bf16", "constant", 0.0), ("bf16", "onecycle", 0.0),
           ("bf16", "onecycle", 0.1)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps (batch 128)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=50000, help="training images used")
    args = _common.add_common_args(parser).parse_args(argv)
    devices = _common.apply_common_args(args)
    _common.print_machine("precision and schedule: same steps, test accuracy")
    data = _common.load_data()
    x, y = data.x_train[:args.n_train], data.y_train[:args.n_train]
    rows = []
    for device, (precision, schedule, smoothing) in itertools.product(devices, CONFIGS):
        start = time.perf_counter()
        _, history = train(x, y, steps=args.steps, seed=args.seed, device=device,
                           precision=precision, schedule=schedule, label_smoothing=smoothing,
                           test=(data.x_test, data.y_test), max_evals=1, progress=False)
        rows.append({"device": _common.device_name(device), "precision": precision, "schedule": schedule, "label smoothing": smoothing,
                     "test acc. (%)": round(100 * history[-1]["test_acc"], 1),
                     "wall s": round(time.perf_counter() - start)})
    frame = pd.DataFrame(rows)
    _common.print_table(f"{args.steps} steps of batch 128 on {len(x)} images, seed {args.seed} "
                        f"(data: {data.source})", frame)
    return frame


if __name__ == "__main__":
    main()
