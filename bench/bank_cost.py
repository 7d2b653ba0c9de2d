"""What a view bank costs (issue 34, consistent teaching): seconds per view embedding of the
teacher's backbone views on this machine, and the projected time of K views x N images.

One "view embedding" is what ``semisup_utils.teachers.bank`` does for one image and one view: render
the student's augmentation from drawn parameters (``bank.render``), embed the rendered 32x32
view with the teacher's backbone views (``bank.teacher_features``, the very code the bank runs;
a flip view embeds the view and its mirror) and apply nothing else (the logistic regression on
the features is negligible beside the backbone). ``--images`` images (random pixels: the cost
does not depend on them) are timed after a warm-up batch; the backbone's build (and, with ONNX
Runtime, its export) is timed apart, since a bank pays it once.

    python bench/bank_cost.py --images 256 --threads 1 --engine onnxruntime
    python bench/bank_cost.py --images 64 --size 96 --no-flip --views 1 8
    python bench/bank_cost.py --images 2048 --device cuda --batch 512   # on a GPU
"""
from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import _common
import numpy as np
import pandas as pd
import torch

from semisup_utils.teachers.bank import render, teacher_features, view_params
from semisup_utils.teachers.features import BACKBONES
from semisup_utils.teachers.teachers import view_name


def time_views(args, device: torch.device) -> dict:
    """Seconds of one view over ``args.images`` images, and of building the backbones."""
    view = (args.backbone, args.size, "flip") if args.flip else (args.backbone, args.size)
    ctx = SimpleNamespace(device=str(device), embed_engine=args.engine)
    images = np.random.default_rng(0).integers(0, 256, (args.images, 32, 32, 3), np.uint8)
    params = view_params(args.augment, args.images, bank_seed=0, v=0)
    start = time.perf_counter()
    features = teacher_features([view], ctx)
    build = time.perf_counter() - start
    features(render(args.augment, images[:8], {k: p[:8] for k, p in params.items()}))  # warm-up
    _common.sync(device)
    start = time.perf_counter()
    for begin in range(0, args.images, args.batch):
        part = {k: p[begin:begin + args.batch] for k, p in params.items()}
        features(render(args.augment, images[begin:begin + args.batch], part))
    _common.sync(device)
    return {"build_s": build, "seconds": time.perf_counter() - start}


def main():
    parser = _common.add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]),
                                     devices=False)
    parser.add_argument("--backbone", default="effnet-lite0", choices=list(BACKBONES))
    parser.add_argument("--size", type=int, default=224, help="the teacher's input size")
    parser.add_argument("--no-flip", dest="flip", action="store_false",
                        help="a plain view (default: a flip view, two passes per image)")
    parser.add_argument("--engine", default="torch", choices=["torch", "onnxruntime"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--augment", default="report", choices=["report", "crop-cutout"])
    parser.add_argument("--images", type=int, default=256, help="images timed")
    parser.add_argument("--batch", type=int, default=256, help="images per chunk (the bank's)")
    parser.add_argument("--views", nargs="+", type=int, default=[1, 4, 8, 16],
                        help="the K to project")
    parser.add_argument("--n", nargs="+", type=int, default=[50000, 10000],
                        help="images per bank to project (50,000: every training image; a "
                             "bank holds the unknown ones, N - M)")
    args = parser.parse_args()
    _common.apply_common_args(args)
    device = torch.device(args.device)
    _common.print_machine("view bank cost")
    measured = time_views(args, device)
    per = measured["seconds"] / args.images
    label = view_name([(args.backbone, args.size, *(["flip"] if args.flip else []))])
    print(f"{label}, engine {args.engine}, {_common.device_name(device)}, "
          f"{torch.get_num_threads()} threads, augmentation {args.augment}: "
          f"{args.images} view embeddings in {measured['seconds']:.2f} s = "
          f"{1000 * per:.1f} ms each ({1 / per:.1f} views/s); backbone build "
          f"{measured['build_s']:.1f} s (once per bank)\n")
    rows = [{"K views": k, "images": n, "view embeddings": k * n,
             "hours": k * n * per / 3600, "days": k * n * per / 86400}
            for n in args.n for k in args.views]
    machine = _common.cpu_name() if device.type == "cpu" else _common.device_name(device)
    _common.print_table(f"projected cost on {machine} ({label}, {args.engine}, "
                        f"{torch.get_num_threads()} threads)", pd.DataFrame(rows),
                        floats="{:,.2f}")


if __name__ == "__main__":
    main()
