"""How time grows: (a) label inference (semisup_utils.teachers.label_inference.fit_method) against the number
of unknown images and M; (b) one epoch of the project's training loop against the number of
training images. Each part ends with a least-squares line (seconds per 1000 images) to
extrapolate from.

Features for (a): 'blobs' are synthetic 1280-D float32 class clusters (sklearn make_blobs,
overlapping at the default --blob-std); 'effnet' are effnet-lite0 embeddings of the training
images (read from the cache when the chapters computed them, else computed now); 'auto' takes
cached effnet embeddings when there are any and blobs otherwise.

    python bench/scaling.py --n-unknown 1000 5000 20000 --m 500 5000 --train-sizes 1000 5000 20000
"""
from __future__ import annotations

import argparse
import statistics
import time

import _common
import numpy as np
import pandas as pd

from semisup_utils.teachers import features
from semisup_utils.teachers.label_inference import fit_method
from semisup_utils.training.train import train


def label_features(kind: str, n: int, blob_std: float, seed: int):
    """(features, labels, description) with at least n rows."""
    if kind in ("auto", "effnet"):
        data = _common.load_data()
        for size in (32, 64):  # embeddings of the whole training set, as the chapters cache them
            if features.embed_seconds(data.x_train, "effnet-lite0", size,
                                      fingerprint=data.fingerprint) is not None:
                f = features.embed(data.x_train, "effnet-lite0", size,
                                   fingerprint=data.fingerprint, progress=False)
                return f[:n], data.y_train[:n], f"cached effnet-lite0@{size} embeddings"
        if kind == "effnet":
            f = features.embed(data.x_train[:n], "effnet-lite0", 32)
            return f, data.y_train[:n], "effnet-lite0@32 embeddings (computed now)"
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n, 1280, centers=10, cluster_std=blob_std, center_box=(-1, 1),
                      random_state=seed)
    return x.astype(np.float32), y, f"synthetic make_blobs 1280-D, 10 classes, std {blob_std}"


def timed(fn, repeats):
    out, seconds = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), out


def inference_scaling(args) -> pd.DataFrame:
    need = max(args.n_unknown) + max(args.m)
    x, y, what = label_features(args.features, need, args.blob_std, args.seed)
    if len(x) < need:
        raise SystemExit(f"{what}: {len(x)} rows, {need} needed; lower --n-unknown or --m")
    print(f"label inference on {what}; features {x.shape[1]}-D float32\n")
    rng = np.random.default_rng(args.seed)
    for method in args.methods:  # warm-up: imports and first-call costs stay out of the table
        fit_method(method, x[:200], np.arange(50), y[:50], seed=args.seed)
    rows = []
    for m in args.m:
        for n_unknown in args.n_unknown:
            pick = rng.permutation(len(x))[:m + n_unknown]
            xs, ys, known = x[pick], y[pick], np.arange(m)
            for method in args.methods:
                seconds, guess = timed(lambda: fit_method(method, xs, known, ys[known],
                                                          seed=args.seed), args.repeats)
                rows.append({"method": method, "M": m, "n_unknown": n_unknown,
                             "seconds": seconds,
                             "label acc": float((ys[guess.indices] == guess.labels).mean())})
    frame = pd.DataFrame(rows)
    _common.print_table("label inference time (median s)", frame)
    for (method, m), part in frame.groupby(["method", "M"], sort=False):
        slope, intercept = _common.linear_fit(part["n_unknown"], part["seconds"])
        print(f"fit {method:>8}, M={m:>6}: {slope * 1000:.4f} s per 1000 unknown images "
              f"+ {intercept:.3f} s")
    print()
    return frame


def training_scaling(args, devices) -> pd.DataFrame:
    data = _common.load_data()
    rows = []
    for device in devices:
        train(data.x_train[:256], data.y_train[:256], steps=2, device=device, progress=False)
        for n in args.train_sizes:
            def epoch():
                _, history = train(data.x_train[:n], data.y_train[:n], epochs=1,
                                   batch_size=args.batch_size, seed=args.seed, device=device,
                                   augment=not args.no_augment, progress=False)
                return history[0]["seconds"]
            runs = [epoch() for _ in range(args.repeats)]
            rows.append({"device": _common.device_name(device), "images": n,
                         "s / epoch": statistics.median(runs),
                         "images/s": round(n / statistics.median(runs))})
    frame = pd.DataFrame(rows)
    _common.print_table(f"project loop, one epoch (batch {args.batch_size}, augment="
                        f"{not args.no_augment}; median s, model build and upload excluded)",
                        frame)
    for device, part in frame.groupby("device", sort=False):
        slope, intercept = _common.linear_fit(part["images"], part["s / epoch"])
        full = slope * 50000 + intercept
        print(f"fit training on {device}: {slope * 1000:.3f} s per 1000 images per epoch + "
              f"{intercept:.2f} s -> 50,000 images: ~{full:.0f} s/epoch, 50 epochs ~"
              f"{full * 50 / 60:.0f} min per model")
    print()
    return frame


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["labels", "training", "both"], default="both")
    parser.add_argument("--n-unknown", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--m", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--methods", nargs="+", default=["kmeans", "knn", "logreg"],
                        help="names in semisup_utils.teachers.label_inference.METHODS")
    parser.add_argument("--features", choices=["auto", "blobs", "effnet"], default="auto")
    parser.add_argument("--blob-std", type=float, default=4.0,
                        help="make_blobs cluster_std (centres in [-1, 1]^1280; default 4: "
                             "classes overlap as embeddings' do)")
    parser.add_argument("--train-sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = _common.add_common_args(parser).parse_args(argv)
    devices = _common.apply_common_args(args)
    _common.print_machine("scaling: label inference and training time vs size")
    if args.part in ("labels", "both"):
        inference_scaling(args)
    if args.part in ("training", "both"):
        training_scaling(args, devices)


if __name__ == "__main__":
    main()
