"""Embedding throughput per backbone, input size and inference variant, with how far each
variant's features are from the fp32 reference (max |difference|, mean cosine similarity).

Variants: fp32 NCHW under torch.no_grad (the reference); fp32 channels_last under
torch.inference_mode (what semisup_utils.teachers.features._embed_arrays does; checked against it);
bf16 autocast (CPU and CUDA); fp16 autocast (CUDA); ONNX Runtime (CPU, only when the
onnxruntime package is installed). Memory: the peak resident set size above its level before
the variant ran (sampled with psutil every 2 ms; ru_maxrss growth without psutil), and on
CUDA torch.cuda.max_memory_allocated above the allocation before.

With ``--labels-m 500 5000`` every variant's features also go through logistic regression
(``labels.fit_method('logreg', ...)``) with M known labels drawn at random from the embedded
test images (the same draw for every variant): the label accuracy on the other images, which is
what a change of numerics must not move. ``--n`` must then exceed the largest M. Each row also
extrapolates its rate to 60,000 images (``60000 / images/s``).

    python bench/embed_throughput.py --sizes 32 64 96 --n 1024
    python bench/embed_throughput.py --sizes 224 --n 6000 --repeats 1 --labels-m 500 5000
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import resource
import statistics
import threading
import time

import _common
import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from semisup_utils.teachers import features

try:
    import psutil
except ImportError:
    psutil = None


class PeakMemory:
    """Peak memory growth over a block: host RSS (psutil sampling) or CUDA allocations."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        elif psutil is not None:
            self.process = psutil.Process()
            self.base = self.peak = self.process.memory_info().rss
            self.stop = threading.Event()
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()
        else:
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return self

    def _poll(self):
        while not self.stop.wait(0.002):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif psutil is not None:
            self.stop.set()
            self.thread.join()
            peak = max(self.peak, self.process.memory_info().rss)
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.mib = (peak - self.base) / 2**20

    @staticmethod
    def method(device) -> str:
        if device.type == "cuda":
            return "torch.cuda.max_memory_allocated growth"
        return ("peak RSS growth, psutil sampled every 2 ms" if psutil is not None else
                "ru_maxrss growth (0 when an earlier variant already reached a higher peak)")


def variants(device) -> dict[str, dict]:
    out = {"fp32 NCHW no_grad (reference)": dict(grad=torch.no_grad, cl=False, amp=None),
           "fp32 channels_last inference_mode (project)": dict(grad=torch.inference_mode,
                                                               cl=True, amp=None),
           "bf16 autocast channels_last": dict(grad=torch.inference_mode, cl=True,
                                               amp=torch.bfloat16)}
    if device.type == "cuda":
        out["fp16 autocast channels_last"] = dict(grad=torch.inference_mode, cl=True,
                                                  amp=torch.float16)
    return out


def prepare(batch: np.ndarray, size: int, scale, device, channels_last: bool) -> torch.Tensor:
    """As _embed_arrays: NHWC uint8 -> float NCHW, bilinear upscale, backbone scaling."""
    x = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float()
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = scale(x)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def torch_runner(spec, size, device, v):
    model = spec.build(size).eval().to(device)
    if v["cl"]:
        model = model.to(memory_format=torch.channels_last)
    scale = features.PREPROCESSING[spec.preprocessing]

    def run(images, batch_size):
        out = []
        amp = (torch.autocast(device.type, dtype=v["amp"]) if v["amp"] is not None
               else contextlib.nullcontext())
        with v["grad"](), amp:
            for start in range(0, len(images), batch_size):
                x = prepare(images[start:start + batch_size], size, scale, device, v["cl"])
                out.append(model(x).float().cpu())
        return torch.cat(out).numpy()
    return run


def onnx_runner(spec, size):
    """ONNX Runtime as features.embed(engine='onnxruntime') runs it (features._onnx_session)."""
    session = features._onnx_session(spec.build(size).eval(), size)
    scale = features.PREPROCESSING[spec.preprocessing]

    def run(images, batch_size):
        out = []
        for start in range(0, len(images), batch_size):
            x = prepare(images[start:start + batch_size], size, scale, "cpu", False)
            out.append(session.run(None, {"x": x.numpy()})[0])
        return np.concatenate(out).astype(np.float32)
    return run


def compare(f: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    cos = (f * ref).sum(1) / (np.linalg.norm(f, axis=1) * np.linalg.norm(ref, axis=1) + 1e-12)
    return float(np.abs(f - ref).max()), float(cos.mean())


def min_cos(f: np.ndarray, ref: np.ndarray) -> float:
    cos = (f * ref).sum(1) / (np.linalg.norm(f, axis=1) * np.linalg.norm(ref, axis=1) + 1e-12)
    return float(cos.min())


def measure(run, images, batch_size, repeats, device):
    with PeakMemory(device) as memory:
        run(images[:batch_size], batch_size)  # warm-up: one batch
        rates, out = [], None
        for _ in range(repeats):
            _common.sync(device)
            start = time.perf_counter()
            out = run(images, batch_size)
            _common.sync(device)
            rates.append(len(images) / (time.perf_counter() - start))
    return statistics.median(rates), memory.mib, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["effnet-lite0"],
                        help=f"any of {', '.join(features.BACKBONES)}; unavailable ones are "
                             "skipped (default effnet-lite0)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 96])
    parser.add_argument("--n", type=int, default=1024, help="images embedded per pass")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256],
                        help="batch sizes (default 256, as features.embed)")
    parser.add_argument("--variants", nargs="+", default=None,
                        help="only the variants whose name contains one of these words, e.g. "
                             "project bf16 ONNX; the first one that runs is the reference the "
                             "others are compared with (default: all, fp32 NCHW first)")
    parser.add_argument("--labels-m", type=int, nargs="*", default=[],
                        help="label accuracy of logreg on each variant's features at these M")
    parser.add_argument("--repeats", type=int, default=3)
    args = _common.add_common_args(parser).parse_args(argv)
    devices = _common.apply_common_args(args)
    _common.print_machine("embedding throughput per backbone, input size and variant")

    flags = _common.cpu_flags()
    native = sorted(flags & {"avx512_bf16", "amx_bf16"})
    print("cpu bf16: " + (f"native ({', '.join(native)})" if native else
                          "no avx512_bf16/amx_bf16 flag, bf16 matmuls are emulated or converted "
                          "(expect no speed-up)"))
    has_ort = importlib.util.find_spec("onnxruntime") is not None
    if not has_ort:
        print("onnxruntime is not installed: the ONNX Runtime variant is skipped "
              "(pip install onnxruntime onnx to include it)")
    for device in devices:
        print(f"memory on {device.type}: {PeakMemory.method(device)}")
    data = _common.load_data()
    # a seeded random sample: the JPEG copy's test set is sorted by class, so its first n
    # images would be one or a few classes
    pick = np.sort(np.random.default_rng(0).choice(len(data.x_test), min(args.n, len(
        data.x_test)), replace=False))
    images, true = data.x_test[pick], data.y_test[pick]
    if any(m >= len(images) for m in args.labels_m):
        parser.error(f"--labels-m {args.labels_m}: every M must be below --n {len(images)}")
    draws = {m: np.random.default_rng(0).choice(len(images), m, replace=False)
             for m in args.labels_m}
    print(f"{len(images)} CIFAR-10 test images (a seeded random sample) per pass, batch sizes {args.batch_sizes}, median "
          f"of {args.repeats} passes after a one-batch warm-up\n")

    def label_accuracy(feats) -> dict:
        from semisup_utils.teachers.label_inference import fit_method

        out = {}
        for m, known in draws.items():
            guess = fit_method("logreg", feats, known, true[known])
            out[f"logreg acc M={m} (%)"] = 100 * float((guess.labels == true[guess.indices]).mean())
        return out

    rows, notes = [], []
    for name in args.backbones:
        if not features.backbone_available(name):
            notes.append(f"{name}: skipped, its weights or library are not available here")
            continue
        spec = features.get_backbone(name)
        for size in args.sizes:
            for device in devices:
                runners = {label: (lambda v=v: torch_runner(spec, size, device, v))
                           for label, v in variants(device).items()}
                if has_ort and device.type == "cpu":
                    runners["ONNX Runtime (CPU EP)"] = lambda: onnx_runner(spec, size)
                if args.variants:  # the first one chosen is the reference of the others
                    runners = {k: v for k, v in runners.items()
                               if any(w in k for w in args.variants)}
                ref = ref_label = None
                for (label, make), batch_size in itertools.product(runners.items(),
                                                                    args.batch_sizes):
                    if label == ref_label and batch_size != args.batch_sizes[0] and \
                            len(runners) > 1:
                        continue  # the reference once, at the first batch size
                    try:
                        rate, mib, out = measure(make(), images, batch_size, args.repeats,
                                                 device)
                    except Exception as error:  # e.g. an export or autocast not supported
                        notes.append(f"{name}@{size} {device.type} {label}: failed ({error!r})")
                        continue
                    if ref is None:
                        ref, ref_label = out, label
                        notes.append(f"{name}@{size} {device.type}: reference ({label}) "
                                     f"features {ref.shape}"
                                     f", max |f| = {np.abs(ref).max():.3g}, mean |f| = "
                                     f"{np.abs(ref).mean():.3g}")
                    diff, cos = compare(out, ref)
                    rows.append({"backbone": name, "size": size,
                                 "device": _common.device_name(device), "variant": label,
                                 "batch": batch_size, "images/s": rate,
                                 "min per 60k": 60000 / rate / 60, "peak mem MiB": mib,
                                 "max |diff|": diff, "mean cos": cos, "min cos": min_cos(out, ref),
                                 **label_accuracy(out)})
                    if "(project)" in label and batch_size == args.batch_sizes[0]:
                        few = min(len(images), 256)  # a check, not a second full pass
                        project = features._embed_arrays(images[:few], spec, size, batch_size,
                                                         device, False)
                        notes.append(f"{name}@{size} {device.type}: bench's project variant vs "
                                     f"features._embed_arrays on the first {few} images: max "
                                     f"|diff| = {np.abs(project - out[:few]).max():.3g}")
    frame = pd.DataFrame(rows)
    if len(frame):
        base = frame.groupby(["backbone", "size", "device"])["images/s"].transform("first")
        frame.insert(5, "speed-up", (frame["images/s"] / base).map("{:.2f}x".format))
        frame["images/s"] = frame["images/s"].map("{:,.1f}".format)
        frame["min per 60k"] = frame["min per 60k"].map("{:,.1f}".format)
        frame["min cos"] = frame["min cos"].map("{:.6f}".format)
        frame["peak mem MiB"] = frame["peak mem MiB"].map("{:,.0f}".format)
        frame["max |diff|"] = frame["max |diff|"].map("{:.2g}".format)
        frame["mean cos"] = frame["mean cos"].map("{:.6f}".format)
        _common.print_table("embedding throughput (features vs the reference: the first variant)",
                            frame)
    print("\n".join(notes))
    print(f"min per 60k = 60000 / (images/s) / 60, extrapolated from {len(images)} images; "
          f"cpu ISA: {_common.isa()}; load average (1, 5, 15 min) at the end: "
          + ", ".join(f"{v:.2f}" for v in __import__("os").getloadavg()))
    return frame


if __name__ == "__main__":
    main()
