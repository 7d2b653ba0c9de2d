"""Issue 15's students at the report's full compute on one GPU: teachers fitted once, then
every (recipe, M, seed) run of the grid in a pool of processes sharing the GPU.

The grid is what `semisup compare` builds from the profile (`paper`: 19,550 steps per model,
one-cycle, bf16) with the overrides given (by default: crop-and-cutout augmentation for every
model, the teachers fed 224x224 images, the issue's recipes beside Model A and the ceiling), so
the chapter that reads the store finds the same keys. Before training, the embeddings are
computed once on the GPU and the teachers of every (M, seed) fitted in a pool of CPU
processes (each fit cached, so no training process refits one); each teacher's label accuracy
and test accuracy go to the label store (and to ``teachers.csv`` beside it).

    python bench/gpu_distill.py --store /tmp/distill --workers 15
    python bench/gpu_distill.py --store /tmp/d -p M_list '[500]' -p sweep_seeds '[0]'  # one cell

It also runs on a CPU (the GPU only makes it fast): there, `--workers` one-thread training
processes, `--no-mps`, and `-p embed_engine onnxruntime` for the 224x224 embeddings (the same
fp32 features, minutes instead of hours on 2 cores; the `[onnx]` extra).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _common import print_machine  # sets SEMISUP_DATA like the Makefile
from gpu_protocol import start_mps, stop_mps

RECIPES = ["A", "ceiling", "lite0-224flip-cal-soft", "lite0-224flip-cal-soft-T2",
           "lite0-224flip-cal-soft-T2-mix30"]
DEFAULTS = {"sweep_recipes": RECIPES, "M_list": [500, 5000, 40000], "sweep_seeds": [0, 1, 2],
            "beyond_size": 224, "augment": "crop-cutout", "max_evals": 10,
            "executor": "processes"}


def _params(profile: str, overrides: dict) -> dict:
    from semisup_utils.profiles import resolve

    return resolve(profile, **{**DEFAULTS, **overrides})


def _fit_teachers(job) -> list[dict]:
    """One (M, seed): every embedding teacher of the grid fitted (cached), stored as a label
    run, measured on the test images; the out-of-fold fits of a ``known_mix`` recipe cached."""
    profile, overrides, m, seed = job
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    from semisup_utils.data import split_known
    from semisup_utils.label_runs import label_run
    from semisup_utils.notebook import context, load_data, sweep_recipes
    from semisup_utils.teachers import get_teacher, inferred_labels, known_probabilities

    params = _params(profile, overrides)
    data, ctx = load_data(params), context({**params, "device": "cpu"}, progress=False)
    known, unknown = split_known(data.y_train, m, seed)
    rows, done = [], set()
    for recipe in sweep_recipes(params):
        teacher = get_teacher(recipe.teacher)
        if not teacher.uses_embeddings:
            continue
        if (teacher.name, recipe.views) not in done:
            done.add((teacher.name, recipe.views))
            # fitted (or read) here even where its label row is stored, so that no training
            # process fits it; its accuracy now beside the stored one shows that this
            # machine's embeddings (another device or engine) teach the same labels
            guess, _ = inferred_labels(teacher.name, data, recipe.views, known, seed, ctx)
            stored = label_run(data, teacher.name, recipe.views, m, seed, ctx, test=True)
            rows.append({"views": repr(recipe.views), "method": teacher.name, "M": m,
                         "seed": seed, "label_acc": stored["label_acc"],
                         "label_acc_now": float((guess.labels == data.y_train[unknown]).mean()),
                         "ece": stored["ece"], "test_acc": stored.get("test_acc"),
                         "test_ece": stored.get("test_ece"), "fit_s": stored["seconds"]})
        if recipe.known_mix:
            known_probabilities(recipe, data, known, seed, ctx)
    return rows


def prepare(profile: str, overrides: dict, teacher_workers: int) -> "object":
    """Data decoded and every view embedded (train and test) on the GPU, then the teachers."""
    import pandas as pd

    from semisup_utils.notebook import context, load_data, sweep_recipes
    from semisup_utils.teachers import view_features

    params = _params(profile, overrides)
    data, ctx = load_data(params), context(params, progress=False)
    for views in {r.views for r in sweep_recipes(params) if r.uses_embeddings}:
        for split in ("train", "test"):
            view_features(data, views, 0, ctx, split=split)
    jobs = [(profile, overrides, m, seed) for seed in params["sweep_seeds"]
            for m in params["M_list"]]
    with ProcessPoolExecutor(min(teacher_workers, len(jobs)),  # spawned: CUDA is initialised
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        rows = [row for result in pool.map(_fit_teachers, jobs) for row in result]
    return pd.DataFrame(rows)


def main() -> int:
    from semisup_utils.runner import parse_value

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--store", required=True, help="the results folder (runs, labels)")
    parser.add_argument("--workers", type=int, default=15, help="training processes")
    parser.add_argument("--teacher-workers", type=int, default=9)
    parser.add_argument("--no-mps", action="store_true")
    parser.add_argument("--no-teachers", action="store_true",
                        help="skip the embedding and teacher stage (its caches are warm)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"))
    args = parser.parse_args()
    overrides = {name: parse_value(value) for name, value in args.parameter}

    print_machine("issue 15's students at full compute on one GPU")
    store = Path(args.store).resolve()
    store.mkdir(parents=True, exist_ok=True)
    os.environ["SEMISUP_RESULTS"] = str(store)
    start = time.perf_counter()
    if not args.no_teachers:
        teachers = prepare(args.profile, overrides, args.teacher_workers)
        teachers.to_csv(store / "teachers.csv", index=False)
        print(teachers.to_string(index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
        print(f"embeddings and teachers in {time.perf_counter() - start:.0f} s", flush=True)

    from semisup_utils.executors import SweepError, run_grid
    from semisup_utils.notebook import context, load_data, sweep_budget, sweep_recipes
    from semisup_utils.runs import plan

    params = _params(args.profile, overrides)
    data = load_data(params)
    runs = plan(params["M_list"], params["sweep_seeds"], sweep_recipes(params),
                sweep_budget(params, data.n_train))
    mps = False if args.no_mps else start_mps()
    start = time.perf_counter()
    failed = None
    try:
        frame = run_grid(data, runs, context(params, progress=False), executor="processes",
                         workers=args.workers)
    except SweepError as error:
        failed = error
        from semisup_utils.store import rows_frame
        frame = rows_frame(error.rows)
    finally:
        if mps:
            stop_mps()
    wall = time.perf_counter() - start
    print(f"\n{len(frame)} of {len(runs)} runs in {wall:.0f} s wall, {args.workers} processes "
          f"{'under MPS' if mps else 'without MPS'}; budget {runs[0].budget.describe()}")
    if len(frame):
        frame["test accuracy (%)"] = 100 * frame["test_acc"]
        print(frame.groupby(["m", "recipe"], sort=False)["test accuracy (%)"].agg(
            ["mean", "std", "count"]).to_string(float_format=lambda v: f"{v:.1f}"))
    if failed:
        print(failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
