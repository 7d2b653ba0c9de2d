"""Training throughput, side by side in one run: the report's per-sample pipeline against the
project's on-device loop (semisup_utils.training.train.train) with and without augmentation.

The report pipeline: torchvision per-sample transforms on PIL images through a DataLoader,
ReportCNN, Adam 1e-3, cross-entropy, fp32. The project loop gathers and augments whole batches
on the device (and uses bf16 autocast on CUDA). Each measurement trains a fresh model; a fixed
number of images is timed after a warm-up; configurations are interleaved across repeats and
the median is reported.

    python bench/train_throughput.py --images 20000 --repeats 3 --workers 0 2
"""
from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time

import _common
import pandas as pd
import torch
from PIL import Image
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from semisup_utils.training.cnn import ReportCNN
from semisup_utils.training.train import _predict_device, _to_device_images, predict_proba, train

TARGET_RATIO, TARGET_OVERHEAD, TARGET_BEST = 2.0, 0.10, 3.0


def train_flops_per_image(batch_size: int = 128) -> float:
    """FLOPs of one training image (forward and backward of ReportCNN), counted by
    torch.utils.flop_counter.FlopCounterMode on one fp32 step (convolutions and matmuls; the
    elementwise ops, pooling and the optimizer are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = ReportCNN().train()
    x, y = torch.rand(batch_size, 3, 32, 32), torch.randint(0, 10, (batch_size,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / batch_size


class ArrayImages(Dataset):
    """uint8 (N, 32, 32, 3) arrays as (transformed PIL image, label) samples."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def report_transform(geometry: str):
    geo = (transforms.RandomRotation(2) if geometry == "rotate"
           else transforms.RandomAffine(degrees=2, translate=(0.01, 0.01)))
    return transforms.Compose([transforms.RandomHorizontalFlip(),
                               transforms.ColorJitter(brightness=0.1, contrast=0.1),
                               geo, transforms.ToTensor()])


def report_pipeline(images, labels, device, n_timed, warmup, batch_size, workers, geometry,
                    seed) -> float:
    """images/s of the per-sample DataLoader pipeline, warm-up batches excluded."""
    torch.manual_seed(seed)
    if device.type == "cuda":  # the cudnn settings train() uses, for a like-for-like model step
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = False, True
    model = ReportCNN().to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(ArrayImages(images, labels, report_transform(geometry)), batch_size,
                        shuffle=True, drop_last=True, num_workers=workers,
                        persistent_workers=workers > 0, pin_memory=device.type == "cuda")
    batches = itertools.chain.from_iterable(itertools.repeat(loader))  # endless epochs
    for i in range(warmup + n_timed):
        if i == warmup:
            _common.sync(device)
            start = time.perf_counter()
        x, y = next(batches)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _common.sync(device)
    seconds = time.perf_counter() - start
    del batches, loader  # stops persistent workers
    return n_timed * batch_size / seconds


def project_loop(images, labels, device, n_timed, warmup, batch_size, augment, seed,
                 precision="auto", channels_last=False) -> float:
    """images/s of semisup_utils.training.train.train: (seconds for warmup + n_timed steps) minus
    (seconds for warmup steps), both from train()'s own history clock, which starts after the
    model is built and the data is on the device."""
    def seconds(steps):
        _, history = train(images, labels, steps=steps, batch_size=batch_size, seed=seed,
                           device=device, augment=augment, progress=False, precision=precision,
                           channels_last=channels_last)
        return history[-1]["seconds"]

    return n_timed * batch_size / (seconds(warmup + n_timed) - seconds(warmup))


def evaluation_rates(images, device, repeats, seed) -> pd.DataFrame:
    """Test images/s of one evaluation: predict_proba from the numpy arrays (what train() did
    at every evaluation before the test set stayed on the device) and from a device-resident
    uint8 tensor (what it does now), fp32 and bf16 + channels_last; median of ``repeats``."""
    torch.manual_seed(seed)
    rows = []
    for precision, cl in (("auto", False), ("bf16", True)):
        model = ReportCNN().to(device, memory_format=torch.channels_last if cl
                               else torch.contiguous_format).eval()
        resident = _to_device_images(images, device)
        ways = {"from numpy (predict_proba)": lambda: predict_proba(
                    model, images, device=device, precision=precision, channels_last=cl),
                "device-resident (train's loop)": lambda: _predict_device(
                    model, resident, 2048, precision, cl)}
        for way, run in ways.items():
            run()  # warm-up
            rates = []
            for _ in range(repeats):
                _common.sync(device)
                start = time.perf_counter()
                run()
                _common.sync(device)
                rates.append(len(images) / (time.perf_counter() - start))
            rows.append({"device": _common.device_name(device), "precision": precision,
                         "channels_last": cl, "evaluation": way,
                         "test images/s": f"{statistics.median(rates):,.0f}"})
    return pd.DataFrame(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000,
                        help="images timed per measurement, warm-up excluded (default 20000)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up batches (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="median of this many (default 3)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, nargs="+", default=[0],
                        help="DataLoader num_workers of the report pipeline (e.g. 0 2)")
    parser.add_argument("--geometry", choices=["rotate", "affine"], default="rotate",
                        help="report pipeline: RandomRotation(2) or RandomAffine(2, 1%% shift)")
    parser.add_argument("--data-size", type=int, default=50000,
                        help="training images the pipelines draw from (default: all 50000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-images", type=int, default=0,
                        help="also time one evaluation of this many test images (e.g. 10000)")
    args = _common.add_common_args(parser).parse_args(argv)
    devices = _common.apply_common_args(args)
    _common.print_machine("training throughput: report pipeline vs the project's loop")

    data = _common.load_data()
    images, labels = data.x_train[:args.data_size], data.y_train[:args.data_size]
    n_timed = math.ceil(args.images / args.batch_size)
    print(f"data: {len(images)} images from {data.source}; timed: {n_timed} batches of "
          f"{args.batch_size} ({n_timed * args.batch_size} images) after {args.warmup} warm-up "
          f"batches; median of {args.repeats}; report pipeline geometry: {args.geometry}\n")

    configs = []
    for device in devices:
        for w in args.workers:
            configs.append((f"report pipeline (DataLoader, workers={w})", device,
                            lambda d=device, w=w: report_pipeline(
                                images, labels, d, n_timed, args.warmup, args.batch_size, w,
                                args.geometry, args.seed)))
        for augment in (True, False):
            configs.append((f"project loop, augment={augment}", device,
                            lambda d=device, a=augment: project_loop(
                                images, labels, d, n_timed, args.warmup, args.batch_size, a,
                                args.seed)))
        # channels_last (train(channels_last=True)) and, on the CPU, bf16 autocast (on CUDA
        # the default already runs under bf16 autocast)
        extra = [("channels_last", "auto", True, True)]
        if device.type == "cpu":
            extra += [("bf16 autocast", "bf16", False, True),
                      ("bf16 autocast + channels_last", "bf16", True, True),
                      ("bf16 autocast + channels_last", "bf16", True, False)]
        for what, precision, cl, augment in extra:
            configs.append((f"project loop, {what}, augment={augment}", device,
                            lambda d=device, p=precision, c=cl, a=augment: project_loop(
                                images, labels, d, n_timed, args.warmup, args.batch_size, a,
                                args.seed, precision=p, channels_last=c)))
    flops = train_flops_per_image(args.batch_size)
    print(f"training FLOPs per image (forward + backward, FlopCounterMode): {flops / 1e6:.1f} "
          "MFLOP\n")
    rates = {i: [] for i in range(len(configs))}
    for _ in range(args.repeats):  # interleaved, so background load hits every config alike
        for i, (_, _, measure) in enumerate(configs):
            rates[i].append(measure())

    rows = []
    for i, (name, device, _) in enumerate(configs):
        rows.append({"pipeline": name, "device": _common.device_name(device),
                     "images/s": statistics.median(rates[i]),
                     "GFLOP/s": statistics.median(rates[i]) * flops / 1e9,
                     "min..max": f"{min(rates[i]):,.0f}..{max(rates[i]):,.0f}"})
    frame = pd.DataFrame(rows)
    lines = []
    for device in {r["device"] for r in rows}:
        here = frame["device"] == device
        base = frame.loc[here & frame.pipeline.str.startswith("report") &
                         frame.pipeline.str.contains(f"workers={args.workers[0]}"), "images/s"]
        base = float(base.iloc[0])
        frame.loc[here, "ratio vs report"] = frame.loc[here, "images/s"] / base
        aug = float(frame.loc[here & (frame.pipeline == "project loop, augment=True"),
                              "images/s"].iloc[0])
        noaug = float(frame.loc[here & (frame.pipeline == "project loop, augment=False"),
                                "images/s"].iloc[0])
        overhead = noaug / aug - 1  # extra time per image that augmentation costs
        frame.loc[here & (frame.pipeline == "project loop, augment=True"),
                  "aug overhead"] = f"{overhead:+.1%}"
        ratio = aug / base
        lines.append(f"{device}: project loop (augment=True) / report pipeline (workers="
                     f"{args.workers[0]}) = {ratio:.2f}x  [target >= {TARGET_RATIO:g}x: "
                     f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}]")
        fast = frame.loc[here & (frame.pipeline == "project loop, bf16 autocast, augment=True"),
                         "images/s"]
        if len(fast):
            fast_ratio = float(fast.iloc[0]) / base
            lines.append(f"{device}: project loop in bf16 (chapter 10's precision) / report "
                         f"pipeline = {fast_ratio:.2f}x  [target >= {TARGET_RATIO:g}x: "
                         f"{'met' if fast_ratio >= TARGET_RATIO else 'NOT met'}]")
        augmented = here & frame.pipeline.str.startswith("project") & \
            frame.pipeline.str.endswith("augment=True")
        best = frame.loc[augmented].sort_values("images/s").iloc[-1]
        best_ratio = float(best["images/s"]) / base
        lines.append(f"{device}: best project loop with augmentation ({best.pipeline}) / report "
                     f"pipeline = {best_ratio:.2f}x at {best['GFLOP/s']:.0f} GFLOP/s  [target >= "
                     f"{TARGET_BEST:g}x: {'met' if best_ratio >= TARGET_BEST else 'NOT met'}]")
        fast_cl = frame.loc[here & frame.pipeline.str.startswith(
            "project loop, bf16 autocast + channels_last"), "images/s"]
        if len(fast_cl) == 2:
            lines.append(f"{device}: augmentation overhead with bf16 + channels_last = "
                         f"{float(fast_cl.iloc[1]) / float(fast_cl.iloc[0]) - 1:+.1%}")
        lines.append(f"{device}: augmentation overhead = {overhead:+.1%} of the no-aug time per "
                     f"image  [target <= {TARGET_OVERHEAD:.0%}: "
                     f"{'met' if overhead <= TARGET_OVERHEAD else 'NOT met'}]")
    frame["aug overhead"] = frame.get("aug overhead", pd.Series(dtype=object)).fillna("")
    frame["images/s"] = frame["images/s"].map("{:,.0f}".format)
    frame["GFLOP/s"] = frame["GFLOP/s"].map("{:.1f}".format)
    frame["ratio vs report"] = frame["ratio vs report"].map("{:.2f}x".format)
    _common.print_table("training throughput (images/s, median)", frame)
    print("\n".join(lines))
    print()
    if args.eval_images:
        for device in devices:
            _common.print_table(f"evaluation of {args.eval_images} test images, median of "
                                f"{args.repeats}", evaluation_rates(
                                    data.x_test[:args.eval_images], device, args.repeats,
                                    args.seed))
    print(f"cpu ISA: {_common.isa()}; load average (1, 5, 15 min) at the end: "
          + ", ".join(f"{v:.2f}" for v in __import__("os").getloadavg()))
    if any(d.type == "cuda" for d in devices):
        print("note: on CUDA the project loop also runs the model under bf16 autocast; the "
              "report pipeline is plain fp32")
    return frame


if __name__ == "__main__":
    main()
