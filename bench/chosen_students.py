"""The students of the teachers chapter 10 chose on held-out known images (issue 15, item 4):
per M, the chapter's first teacher recipe (soft targets, temperature, augmentation, budget)
taught by the candidate of highest held-out accuracy (among every fit: the chapter's choice),
trained where the store lacks it. ``--among "C=1 fits"`` trains the students of the choice
among the fits at C=1 alone instead (or as well): chapter 10 shows them where they are the
C=1 twin of a cross-validated teacher whose students are stored too.

The choice is read from the label store (``bench/teachers.py`` computes it; nothing is fitted
for the choice here); the runs go to the results store under the keys the chapter reads, so
``semisup run 10 --profile published`` shows them. On a CPU, ``--workers`` one-thread
processes and ONNX Runtime for the teachers' embeddings (cached by the study):

    python bench/chosen_students.py --m 500 5000 --seeds 0 --workers 2
    python bench/chosen_students.py --among "every fit" --engine torch --workers 8  # a GPU
    python bench/chosen_students.py --store /tmp/s --workers 8      # elsewhere, then merge
                                                    # (`semisup store merge /tmp/s`)
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from _common import print_machine  # sets SEMISUP_DATA like the Makefile

from semisup_utils import notebook
from semisup_utils.executors import run_grid
from semisup_utils.profiles import resolve
from semisup_utils.runs import plan, run_key
from semisup_utils.store import ResultsStore
from semisup_utils.teacher_eval import chosen_recipes, teacher_choices, teacher_study


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="published")
    parser.add_argument("--m", nargs="+", type=int, default=None,
                        help="values of M (default: the profile's distill_M_list)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="the students' seeds (default: the profile's distill_seeds)")
    parser.add_argument("--augment", default=None,
                        help="default: the profile's first of distill_augments")
    parser.add_argument("--among", nargs="+", default=["every fit"],
                        choices=["every fit", "C=1 fits"],
                        help="whose students: the choice among every fit (the chapter's), "
                             "among the C=1 fits")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--engine", default="onnxruntime", choices=["torch", "onnxruntime"])
    parser.add_argument("--teachers-only", action="store_true",
                        help="fit and cache the planned students' teachers (each stored as a "
                             "label run with its test accuracy), train nothing: fit on the "
                             "CPU, train elsewhere with the label cache")
    parser.add_argument("--store", type=Path, default=None,
                        help="write the runs here (default: the results store)")
    args = parser.parse_args()

    params = resolve(args.profile, embed_engine=args.engine, train_missing=True,
                     executor="processes")
    ms = args.m or params["distill_M_list"]
    seeds = args.seeds or params["distill_seeds"]
    augment = args.augment or params["distill_augments"][0]
    data = notebook.load_data(params)
    ctx = notebook.context(params)
    reading = notebook.context({**params, "train_missing": False})
    print_machine("the students of the chosen teachers")
    candidates = notebook.teacher_candidates(params)
    study = teacher_study(data, candidates, ms, params["teacher_seeds"], reading,
                          validation=params["teacher_validation"])
    if study.attrs["missing"]:
        print(f"note: the choice averages the stored seeds ({len(study.attrs['missing'])} "
              "teacher fits are not stored)")
    fixed = next(r for r in notebook.distill_recipes(params) if r.uses_embeddings)
    budget = notebook.distill_budgets(params, data.n_train)[augment]
    runs = {}  # by key: where both choices pick one teacher, its students are trained once
    for among, choice in teacher_choices(study).items():
        if among not in args.among:
            continue
        taught = chosen_recipes(choice, candidates, fixed)
        for m in ms:
            pick = choice[choice["chosen"] & (choice["M"] == m)]
            print(f"among {among}, M={m}: "
                  f"{pick['teacher'].iloc[0] if len(pick) else 'no teacher scored'}")
            if m in taught:
                runs.update((str(run_key(data, r)), r)
                            for r in plan([m], seeds, [taught[m]], budget))
    runs = list(runs.values())
    if args.store:  # only what the results store lacks goes elsewhere, to be merged
        runs = [r for r in runs if reading.store.find(run_key(data, r)) is None]
        ctx.store = ResultsStore(args.store)
    if args.teachers_only:
        fit_teachers(data, runs, ctx)
        return
    print(f"{len(runs)} runs ({budget.amount:,} steps each, augmentation {augment}), "
          f"{args.workers} workers x {args.threads} threads")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        frame = run_grid(data, runs, ctx, workers=args.workers, threads=args.threads)
    print(frame[["m", "seed", "test_acc", "wall_s", "device"]].to_string(index=False))


def fit_teachers(data, runs, ctx) -> None:
    """Each run's teacher fitted on its M known images (or read from the label cache), so
    that a training process, here or on a machine given the cache, fits none."""
    from semisup_utils.data import split_known
    from semisup_utils.label_runs import label_run
    from semisup_utils.teachers import inferred_labels

    for run in runs:
        recipe = run.recipe
        known, _ = split_known(data.y_train, run.m, run.seed)
        _, seconds = inferred_labels(recipe.teacher, data, recipe.views, known, run.seed, ctx)
        row = label_run(data, recipe.teacher, recipe.views, run.m, run.seed, ctx, test=True)
        print(f"M={run.m} seed {run.seed} {recipe.teacher} {recipe.views}: unknown "
              f"{row['label_acc']:.3f} test {row.get('test_acc', float('nan')):.3f} "
              f"({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
