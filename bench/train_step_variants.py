"""One training step of the report's CNN, candidate ways, interleaved in one run: what each
candidate does to the step time on this machine (the ones train() does not use included, so
that their rejection can be re-checked on another CPU or GPU).

Every candidate runs the project loop's step (gather a batch of 128 from uint8 images on the
device, augment_batch, forward, cross-entropy, backward, Adam) and differs from the baseline,
bf16 autocast + channels_last (train(precision="bf16", channels_last=True)), in one thing:

- no augmentation;
- ReLU and max-pool swapped (the same function and gradient, 4x fewer ReLU elements);
- in-place ReLU;
- Adam(fused=True);
- the augmentation computed in bf16;
- torch.compile of the model (--compile; it compiles for a minute first);
- K seeds' models as one network of grouped convolutions (the dense layers as grouped 1x1
  convolutions), each model on its own batch: images/s counts all K models' images.

Prints ms per step and images/s (median and best of --repeats rounds of --steps steps).

    python bench/train_step_variants.py --threads 1 --repeats 5 --compile
"""
from __future__ import annotations

import argparse
import statistics
import time

import _common
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from semisup_utils.training.cnn import ReportCNN
from semisup_utils.training.train import augment_batch


class GroupedCNNs(nn.Module):
    """K ReportCNNs as one network: grouped convolutions, the 400-32-10 head as grouped 5x5
    and 1x1 convolutions. Input (B, 3K, 32, 32), output (B, K, 10)."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k
        self.convs = nn.ModuleList(nn.Conv2d(a * k, b * k, 3, groups=k)
                                   for a, b in ((3, 16), (16, 32), (32, 32), (32, 16)))
        self.fc1 = nn.Conv2d(16 * k, 32 * k, 5, groups=k)
        self.fc2 = nn.Conv2d(32 * k, 10 * k, 1, groups=k)

    def forward(self, x):
        c1, c2, c3, c4 = self.convs
        x = F.max_pool2d(F.relu(c2(F.relu(c1(x)))), 2)
        x = F.max_pool2d(F.relu(c4(F.relu(c3(x)))), 2)
        x = F.dropout(x, 0.5, self.training)
        return self.fc2(F.relu(self.fc1(x))).view(len(x), self.k, 10)


def swapped_relu_pool() -> nn.Sequential:
    layers = list(ReportCNN())
    layers[3], layers[4] = layers[4], layers[3]  # conv, ReLU, pool -> conv, pool, ReLU
    layers[9], layers[10] = layers[10], layers[9]
    return nn.Sequential(*layers)


def make_step(x_all, y_all, batch, seed, *, augment=True, swap=False, inplace=False,
              fused=False, aug_dtype=torch.float32, compiled=False, k=1):
    torch.manual_seed(seed)
    cl = torch.channels_last
    model = (GroupedCNNs(k) if k > 1 else swapped_relu_pool() if swap else ReportCNN()).to(
        memory_format=cl)
    if inplace:
        for layer in model.modules():
            if isinstance(layer, nn.ReLU):
                layer.inplace = True
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, fused=fused or None)
    forward = torch.compile(model) if compiled else model
    gen, pick = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)

    def step():
        idx = torch.randint(0, len(x_all), (batch * k,), generator=pick)
        x = x_all[idx].to(aug_dtype).div_(255)
        if augment:
            x = augment_batch(x, gen)
        if k > 1:  # model j sees images j, j+K, ...: (B*K, 3, H, W) -> (B, 3K, H, W)
            x = x.view(batch, k * 3, 32, 32)
        x = x.float().contiguous(memory_format=cl)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = forward(x)
        loss = F.cross_entropy(logits.float().reshape(-1, 10), y_all[idx]) * k
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=12, help="steps per round (default 12)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--groups", type=int, nargs="*", default=[2, 4],
                        help="K of the grouped-convolution candidates (default 2 4)")
    parser.add_argument("--compile", action="store_true", help="include torch.compile")
    parser.add_argument("--seed", type=int, default=0)
    args = _common.add_common_args(parser, devices=False).parse_args(argv)
    _common.apply_common_args(args)
    _common.print_machine("one training step, candidate ways (bf16 autocast + channels_last)")
    data = _common.load_data()
    x_all = torch.from_numpy(data.x_train).permute(0, 3, 1, 2).contiguous()
    y_all = torch.from_numpy(data.y_train.astype("int64"))
    batch = 128
    candidates = {"baseline: bf16 autocast + channels_last": {},
                  "no augmentation": dict(augment=False),
                  "ReLU after max-pool": dict(swap=True),
                  "in-place ReLU": dict(inplace=True),
                  "Adam(fused=True)": dict(fused=True),
                  "augmentation in bf16": dict(aug_dtype=torch.bfloat16)}
    for k in args.groups:
        candidates[f"{k} models as grouped convolutions"] = dict(k=k)
    if args.compile:
        candidates["torch.compile(model)"] = dict(compiled=True)
    steps = {}
    for name, options in candidates.items():
        start = time.perf_counter()
        steps[name] = make_step(x_all, y_all, batch, args.seed, **options)
        for _ in range(3):  # warm-up (and compilation)
            steps[name]()
        if options.get("compiled"):
            print(f"torch.compile: first steps took {time.perf_counter() - start:.0f} s")
    ms = {name: [] for name in steps}
    for _ in range(args.repeats):  # interleaved, so background load hits every candidate alike
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            ms[name].append((time.perf_counter() - start) / args.steps * 1e3)
    rows = []
    for name, times in ms.items():
        k = candidates[name].get("k", 1)
        rows.append({"candidate": name, "ms/step (median)": statistics.median(times),
                     "ms/step (best)": min(times),
                     "images/s (median)": batch * k * 1e3 / statistics.median(times)})
    frame = pd.DataFrame(rows)
    frame["vs baseline (median images/s)"] = (frame["images/s (median)"]
                                              / frame["images/s (median)"].iloc[0])
    _common.print_table(f"batch {batch} per model, {args.steps} steps x {args.repeats} rounds",
                        frame.round(2), floats="{:,.2f}")
    print(f"cpu ISA: {_common.isa()}; load average (1, 5, 15 min) at the end: "
          + ", ".join(f"{v:.2f}" for v in __import__("os").getloadavg()))
    return frame


if __name__ == "__main__":
    main()
