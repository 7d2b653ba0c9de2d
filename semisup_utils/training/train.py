"""One training loop for every model: images, labels and per-sample weights in.

In the spirit of airbench: the whole training set sits on the device as uint8, batches are
gathered by index and augmented there as tensor ops on the whole batch (no DataLoader, no
per-sample transforms), and nothing crosses back to the host per step but the loss.
"""
from __future__ import annotations

import functools
import math
import time

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..base.device import out_of_memory, pick_device
from ..base.progress import bar as progress_bar
from .cnn import build_cnn


def _to_device_images(images: np.ndarray, device) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) numpy -> uint8 (N, 3, 32, 32) tensor on the device."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).contiguous()


def _uniform(generator: torch.Generator, device, *shape) -> torch.Tensor:
    """Uniform draws in [-1, 1)."""
    return torch.rand(*shape, generator=generator, device=device) * 2 - 1


def draw_report(n: int, generator: torch.Generator, device=None, size=(32, 32), *,
                flip: bool = True, brightness: float = 0.1, contrast: float = 0.1,
                rotate_degrees: float = 2.0) -> dict[str, torch.Tensor]:
    """The parameters of :func:`augment_batch` for ``n`` images, one per image, drawn from
    ``generator`` in its order: ``flip`` (bool), ``angle`` (radians), brightness ``shift`` and
    contrast ``factor``; an option switched off draws nothing and has no entry. ``size`` is
    unused (the same signature as :func:`draw_crop_cutout`)."""
    params = {}
    if flip:
        params["flip"] = torch.rand(n, generator=generator, device=device) < 0.5
    if rotate_degrees:
        params["angle"] = _uniform(generator, device, n) * math.radians(rotate_degrees)
    if brightness:
        params["shift"] = _uniform(generator, device, n) * brightness
    if contrast:
        params["factor"] = 1 + _uniform(generator, device, n) * contrast
    return params


def render_report(x: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """The report's augmentation of a float batch in [0, 1] under given parameters
    (:func:`draw_report`'s): mirrored where ``flip``, rotated by ``angle`` (reflect padding,
    as Keras' RandomRotation), brightness shifted and contrast scaled about each image's mean,
    clamped to [0, 1]."""
    n = x.shape[0]
    if "flip" in params:
        x = torch.where(params["flip"].view(n, 1, 1, 1), x.flip(3), x)
    if "angle" in params:
        angle = params["angle"]
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1),
                             torch.stack([sin, cos, zero], 1)], 1).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                          align_corners=False)
    if "shift" in params:
        x = x + params["shift"].view(n, 1, 1, 1)
    if "factor" in params:
        mean = x.mean(dim=(2, 3), keepdim=True)
        x = (x - mean) * params["factor"].view(n, 1, 1, 1) + mean
    return x.clamp_(0, 1)


def augment_batch(x: torch.Tensor, generator: torch.Generator, flip: bool = True,
                  brightness: float = 0.1, contrast: float = 0.1,
                  rotate_degrees: float = 2.0) -> torch.Tensor:
    """The report's augmentation on a float batch in [0, 1], drawn per image, done per batch.

    Horizontal flip with p=0.5; rotation up to ``rotate_degrees`` (reflect padding, as Keras'
    RandomRotation); brightness shift and contrast factor up to +-0.1 (Keras' RandomBrightness
    and RandomContrast). The report's 1% translation is under half a pixel and is left out.
    Parameters drawn (:func:`draw_report`), then rendered (:func:`render_report`), so that a
    view bank renders the very same views from stored parameters.
    """
    params = draw_report(x.shape[0], generator, x.device, flip=flip, brightness=brightness,
                         contrast=contrast, rotate_degrees=rotate_degrees)
    return render_report(x, params)


def draw_crop_cutout(n: int, generator: torch.Generator, device=None, size=(32, 32), *,
                     pad: int = 4, cutout: int = 8) -> dict[str, torch.Tensor]:
    """The parameters of :func:`crop_cutout` for ``n`` images of ``size`` (height, width),
    drawn from ``generator`` in its order: ``flip`` (bool), crop offsets ``dy``, ``dx`` in
    0..2 ``pad`` and cutout centre ``cy``, ``cx``; a step switched off has no entry."""
    h, w = size
    params = {"flip": torch.rand(n, generator=generator, device=device) < 0.5}
    if pad:
        params["dy"] = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=device)
        params["dx"] = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=device)
    if cutout:
        params["cy"] = torch.randint(0, h, (n,), generator=generator, device=device)
        params["cx"] = torch.randint(0, w, (n,), generator=generator, device=device)
    return params


def render_crop_cutout(x: torch.Tensor, params: dict[str, torch.Tensor], pad: int = 4,
                       cutout: int = 8, fill: float = 0.5) -> torch.Tensor:
    """Crop and cutout of a float batch under given parameters (:func:`draw_crop_cutout`'s):
    mirrored where ``flip``, the ``side x side`` window at (``dy``, ``dx``) of the image padded
    by ``pad`` pixels of reflection, a ``cutout``-pixel square of ``fill`` centred at
    (``cy``, ``cx``), clipped at the border."""
    n, _, h, w = x.shape
    device = x.device
    x = torch.where(params["flip"].view(n, 1, 1, 1), x.flip(3), x)
    if "dy" in params:
        padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        rows = params["dy"].view(n, 1, 1) + torch.arange(h, device=device).view(1, h, 1)
        cols = params["dx"].view(n, 1, 1) + torch.arange(w, device=device).view(1, 1, w)
        batch = torch.arange(n, device=device).view(n, 1, 1)
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if "cy" in params:
        rows = torch.arange(h, device=device).view(1, h, 1) - params["cy"].view(n, 1, 1)
        cols = torch.arange(w, device=device).view(1, 1, w) - params["cx"].view(n, 1, 1)
        half = cutout // 2
        hole = (rows >= -half) & (rows < cutout - half) & (cols >= -half) & (cols < cutout - half)
        x = x.masked_fill(hole.unsqueeze(1), fill)
    return x.contiguous()


def crop_cutout(x: torch.Tensor, generator: torch.Generator, pad: int = 4,
                cutout: int = 8, fill: float = 0.5) -> torch.Tensor:
    """The standard CIFAR augmentation for small CNNs, as whole-batch tensor ops (airbench's
    way): horizontal flip with p=0.5, a random ``side x side`` crop of the image padded by
    ``pad`` pixels of reflection, and a ``cutout``-pixel square set to ``fill`` at a random
    centre (clipped at the border, as DeVries & Taylor's Cutout). Drawn per image from
    ``generator`` (:func:`draw_crop_cutout`), then rendered (:func:`render_crop_cutout`)."""
    params = draw_crop_cutout(x.shape[0], generator, x.device, tuple(x.shape[-2:]), pad=pad,
                              cutout=cutout)
    return render_crop_cutout(x, params, pad=pad, cutout=cutout, fill=fill)


# train(augment=...): what every training batch goes through; "report" is what every stored
# run used (True means it, False means none). Names of this module's functions, looked up
# when a run starts (so a patched or instrumented augment_batch is the one that runs)
AUGMENTATIONS = {"report": "augment_batch", "crop-cutout": "crop_cutout"}
# each augmentation as (draw its parameters, render under given parameters), with its
# defaults: what a view bank (semisup_utils.teachers.bank) draws and renders its views with
VIEW_AUGMENTATIONS = {"report": (draw_report, render_report),
                      "crop-cutout": (draw_crop_cutout, render_crop_cutout)}


def augmentation(augment) -> object:
    """The batch function of ``augment`` (True/"report", "crop-cutout"), None for False."""
    if augment is False or augment is None:
        return None
    name = "report" if augment is True else augment
    if name not in AUGMENTATIONS:
        raise ValueError(f"augment={augment!r}: expected True, False or one of "
                         f"{', '.join(AUGMENTATIONS)}")
    return globals()[AUGMENTATIONS[name]]


PRECISIONS = ("auto", "fp32", "bf16", "fast")
SCHEDULES = ("constant", "onecycle")


@functools.cache
def native_bf16_cpu() -> bool:
    """Whether this CPU runs bf16 convolutions natively (AVX512-BF16 or AMX, and oneDNN allowed
    to use them: ``ONEDNN_MAX_CPU_ISA=AVX2`` turns them off). Elsewhere bf16 is emulated and
    slower than fp32. Asked once per process (every evaluation batch asks it)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()
                and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()))


def autocast_enabled(precision: str, device: torch.device) -> bool:
    """Whether to run the model under bf16 autocast.

    ``auto`` (the default, what every stored run used): bf16 on CUDA, fp32 on the CPU.
    ``bf16`` also on the CPU, where it trains about 1.6x faster on CPUs with bf16 support
    (bench/train_throughput.py) and slower on the others; ``fp32`` nowhere. ``fast``: bf16
    wherever the hardware computes it natively (CUDA; a CPU where :func:`native_bf16_cpu`),
    fp32 elsewhere, so a laptop profile is fast on every machine; the run records which
    (:func:`numerics`). It keeps the default memory layout: channels_last (1.3x faster with
    bf16 where bf16 is native) once looked 0.8 points worse, but those runs drew other dropout
    masks than their twins (fixed in :class:`cnn.ReportCNN`); its paired verdict is open
    (bench/README.md).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "fast":
        return device.type == "cuda" or (device.type == "cpu" and native_bf16_cpu())
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def numerics(precision: str, device: torch.device, channels_last: bool = False) -> str:
    """What a run computed in, for its row: ``bf16`` or ``fp32``, plus ``channels_last``."""
    return ("bf16" if autocast_enabled(precision, device) else "fp32") + \
        (" channels_last" if channels_last else "")


def strong_augment(x: torch.Tensor, generator: torch.Generator, degrees: float = 15.0,
                   shift: float = 0.125, jitter: float = 0.4, cutout: int = 12) -> torch.Tensor:
    """FixMatch's strong view, as whole-batch tensor ops: flip, rotation up to ``degrees``,
    translation up to ``shift`` of the side, brightness and contrast up to ``jitter``, and a
    ``cutout``-pixel square blanked at a random place of every image."""
    n, _, h, w = x.shape
    device = x.device

    def uniform(*shape):
        return torch.rand(*shape, generator=generator, device=device) * 2 - 1

    x = augment_batch(x, generator, flip=True, brightness=jitter, contrast=jitter,
                      rotate_degrees=0)
    angle = uniform(n) * math.radians(degrees)
    tx, ty = uniform(n) * 2 * shift, uniform(n) * 2 * shift  # affine_grid spans [-1, 1]
    theta = torch.stack([torch.stack([angle.cos(), -angle.sin(), tx], 1),
                         torch.stack([angle.sin(), angle.cos(), ty], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if cutout:
        cy = torch.randint(0, h, (n, 1, 1), generator=generator, device=device)
        cx = torch.randint(0, w, (n, 1, 1), generator=generator, device=device)
        rows = torch.arange(h, device=device).view(1, h, 1)
        cols = torch.arange(w, device=device).view(1, 1, w)
        hole = ((rows - cy).abs() <= cutout // 2) & ((cols - cx).abs() <= cutout // 2)
        x = x.masked_fill(hole.unsqueeze(1), 0.5)
    return x


def _check_positive(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value <= 0):
        raise ValueError(f"{name}={value!r}: must be a positive whole number")


def _memory_format(channels_last: bool) -> torch.memory_format:
    return torch.channels_last if channels_last else torch.contiguous_format


@torch.inference_mode()
def _predict_device(model: torch.nn.Module, x_all: torch.Tensor, batch_size: int,
                    precision: str, channels_last: bool, flip: bool = False) -> torch.Tensor:
    """Softmax probabilities of uint8 (N, 3, 32, 32) images already on the model's device,
    in batches of ``batch_size``; the result stays on the device. ``flip``: the mean of the
    softmax over each image and its mirror (flip test-time averaging, two passes)."""
    device = x_all.device
    model.eval()
    out = []
    for start in range(0, len(x_all), batch_size):
        x = x_all[start:start + batch_size].float() / 255
        views = (x, x.flip(3)) if flip else (x,)
        with torch.autocast(device.type, dtype=torch.bfloat16,
                            enabled=autocast_enabled(precision, device)):
            probs = [model(v.contiguous(memory_format=_memory_format(channels_last)))
                     .float().softmax(1) for v in views]
        out.append(probs[0] if not flip else (probs[0] + probs[1]) / 2)
    return torch.cat(out)


@torch.inference_mode()
def predict_proba(model: torch.nn.Module, images: np.ndarray, batch_size: int = 2048,
                  device=None, precision: str = "auto", channels_last: bool = False,
                  flip: bool = False) -> np.ndarray:
    """Softmax probabilities (N, 10) of uint8 images (N, 32, 32, 3).

    ``channels_last`` runs the model in that memory format (as ``train(channels_last=True)``
    trains it; same values up to rounding, faster on the CPU); ``flip`` averages each image's
    softmax with its mirror's."""
    device = pick_device(device) if device is not None else next(model.parameters()).device
    model = model.to(device, memory_format=_memory_format(channels_last)).eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = _to_device_images(images[start:start + batch_size], device)
        out.append(_predict_device(model, x, batch_size, precision, channels_last, flip).cpu())
    return torch.cat(out).numpy()


def evaluate(model, images: np.ndarray, labels: np.ndarray, device=None,
             precision: str = "auto", channels_last: bool = False, flip: bool = False) -> float:
    """Top-1 accuracy (``flip``: of the softmax averaged over each image and its mirror)."""
    return float((predict_proba(model, images, device=device, precision=precision,
                                channels_last=channels_last, flip=flip).argmax(1)
                  == labels).mean())


def _train(images: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None, *,
          arch: str = "report", epochs: int | None = None, steps: int | None = None,
          batch_size: int = 128, lr: float = 1e-3, seed: int = 0, device=None,
          augment: bool | str = True, test: tuple[np.ndarray, np.ndarray] | None = None,
          progress: bool | None = None, desc: str = "training", max_evals: int = 50,
          precision: str = "auto", schedule: str = "constant", label_smoothing: float = 0.0,
          objective=None, n_classes: int | None = None, channels_last: bool = False,
          temperature: float | np.ndarray = 1.0, ema: float = 0.0, bank=None):
    """Train a fresh CNN; returns ``(model, history)``.

    ``labels`` are ints (N,) or soft targets (N, 10); ``weights`` scale each sample's
    cross-entropy, averaged over the batch as Keras' ``sample_weight`` does. Give ``epochs``
    (passes over the data) or ``steps`` (optimizer updates). Adam at ``lr``. Same seed and
    device, same result. ``history`` holds one dict per epoch (loss, train accuracy on the
    augmented batches, test accuracy when ``test`` is given, seconds so far; the last also the
    accuracy with flip averaging). Options: see :func:`train`.
    """
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs= or steps=")
    _check_positive("epochs", epochs)
    _check_positive("steps", steps)
    _check_positive("batch_size", batch_size)
    n = len(images)
    if n == 0 or len(labels) != n or (weights is not None and len(weights) != n):
        raise ValueError(f"{n} images, {len(labels)} labels and "
                         f"{'no' if weights is None else len(weights)} weights: lengths differ")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r}: expected one of {', '.join(SCHEDULES)}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing={label_smoothing!r}: must lie in [0, 1)")
    t_all = _temperatures(temperature, n, np.ndim(labels) == 2)
    if not 0 <= ema < 1:
        raise ValueError(f"ema={ema!r}: the decay must lie in [0, 1) (0: no averaging)")
    augment_fn = augmentation(augment)
    _check_bank(bank, n, np.ndim(labels) == 2)
    device = pick_device(device)
    amp = autocast_enabled(precision, device)
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    labels = np.asarray(labels)
    if n_classes is None:  # the dataset's, where the caller knows it; else what the labels show
        n_classes = labels.shape[1] if labels.ndim == 2 else max(int(labels.max()) + 1, 2)
    fmt = _memory_format(channels_last)
    model = build_cnn(arch, n_classes).to(device, memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    # EMA of the weights (buffers copied), the network evaluated and returned; its first
    # update copies the weights
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema)) if ema else None
    evaluated = averaged.module if averaged else model
    generator = torch.Generator(device=device).manual_seed(seed)
    shuffle_gen = torch.Generator().manual_seed(seed)

    x_all = _to_device_images(images, device)
    soft = labels.ndim == 2
    y_all = torch.from_numpy(labels.astype(np.float32 if soft else np.int64)).to(device)
    hard_all = y_all.argmax(1) if soft else y_all
    w_all = torch.from_numpy(np.ones(n, np.float32) if weights is None
                             else np.asarray(weights, np.float32)).to(device)
    t_all = None if t_all is None else torch.from_numpy(t_all).to(device)
    bank = None if bank is None else bank.to(device)

    if objective is not None:
        objective.start(device, seed, fmt)
    # the test set is uploaded once and stays on the device (the same batches and values as
    # evaluate() on the arrays, without converting 10,000 images at every evaluation)
    if test is not None:
        test_x, test_y = _to_device_images(test[0], device), torch.from_numpy(
            np.asarray(test[1], np.int64)).to(device)
    steps_per_epoch = math.ceil(n / batch_size)
    total_steps = steps if steps is not None else epochs * steps_per_epoch
    total_epochs = math.ceil(total_steps / steps_per_epoch)
    # a step budget over few images makes many short epochs: test at most max_evals times
    eval_stride = max(1, math.ceil(total_epochs / max_evals))
    # onecycle: warm up over the first 20% of the steps to 4x lr, then anneal to ~0 (a very
    # short run warms up for at least 1.5 steps, so both phases exist; one step stays constant)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=4 * lr, total_steps=total_steps,
        pct_start=max(0.2, 1.5 / total_steps)) if schedule == "onecycle" and total_steps > 1
        else None)
    history, step, start = [], 0, time.perf_counter()
    bar = progress_bar(total=total_steps, show=progress, desc=desc, unit="step", leave=False)
    epoch = 0
    while step < total_steps:
        epoch += 1
        model.train()
        order = torch.randperm(n, generator=shuffle_gen).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        seen = 0
        for begin in range(0, n, batch_size):
            if step >= total_steps:
                break
            idx = order[begin:begin + batch_size]
            x, y = _batch(x_all, y_all, idx, generator, augment_fn, bank)
            x = x.contiguous(memory_format=fmt)
            if objective is not None:  # e.g. FixMatch's strong views, in the same pass
                x = torch.cat([x, objective.extra_inputs(model, len(idx), generator, amp)])
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(x)
            logits = logits.float()
            if objective is not None:
                logits, extra_logits = logits[:len(idx)], logits[len(idx):]
            if soft:
                target = y
                if label_smoothing:
                    target = target * (1 - label_smoothing) + label_smoothing / target.shape[1]
                if t_all is None:
                    per_sample = -(target * logits.log_softmax(1)).sum(1)
                else:  # Hinton et al. (2015): logits / T, times T^2 (T = 1: plain CE)
                    t = t_all[idx]
                    per_sample = -(target * (logits / t[:, None]).log_softmax(1)).sum(1) * t**2
            else:
                per_sample = F.cross_entropy(logits, y, reduction="none",
                                             label_smoothing=label_smoothing)
            loss = (per_sample * w_all[idx]).mean()
            if objective is not None:
                loss = loss + objective.loss(extra_logits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if averaged is not None:
                averaged.update_parameters(model)
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == hard_all[idx]).sum()
            seen += len(idx)
            step += 1
            bar.update()
        record = {"epoch": epoch, "step": step, "loss": float(loss_sum) / seen,
                  "train_acc": float(correct) / seen}
        if test is not None and (epoch % eval_stride == 0 or step >= total_steps):
            proba = _predict_device(evaluated, test_x, 2048, precision, channels_last)
            record["test_acc"] = int((proba.argmax(1) == test_y).sum()) / len(test_y)
        if test is not None and step >= total_steps:  # the last: also with flip averaging
            proba = _predict_device(evaluated, test_x, 2048, precision, channels_last, True)
            record["test_acc_flip"] = int((proba.argmax(1) == test_y).sum()) / len(test_y)
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.3f}",
                        **({"test": f"{record['test_acc']:.3f}"} if "test_acc" in record else {}))
    bar.close()
    return evaluated.eval(), history


def _batch(x_all: torch.Tensor, y_all: torch.Tensor, idx: torch.Tensor,
           generator: torch.Generator, augment_fn, bank) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's images in [0, 1], augmented, and its targets. With a ``bank``, each image
    draws one of K views; the bank's images are seen as that view, rendered, with that view's
    targets (consistent teaching); the others as usual."""
    x = x_all[idx].float().div_(255)
    if bank is not None:
        v = torch.randint(0, bank.k, (len(idx),), generator=generator, device=x.device)
        in_bank = bank.member[idx]
        views = bank.render(x, idx, v)
    if augment_fn is not None:
        x = augment_fn(x, generator)
    if bank is None:
        return x, y_all[idx]
    return (torch.where(in_bank.view(-1, 1, 1, 1), views, x),
            torch.where(in_bank.view(-1, 1), bank.targets(idx, v), y_all[idx]))


def _check_bank(bank, n: int, soft: bool) -> None:
    """train(bank=): one entry per training image, and soft targets (a view's are
    probabilities)."""
    if bank is None:
        return
    if len(bank) != n:
        raise ValueError(f"bank: {len(bank)} positions for {n} training images; build it for "
                         "this training set (ViewBank.for_training(index))")
    if not soft:
        raise ValueError("bank: its targets are probabilities; give labels as (N, classes) "
                         "soft targets")


def _temperatures(temperature, n: int, soft: bool) -> np.ndarray | None:
    """train(temperature=): None where every sample's is 1 (the plain loss, unchanged), else
    one float32 per sample; refused for hard labels and for T <= 0."""
    t = np.asarray(temperature, np.float32)
    if t.ndim > 1 or t.size not in (1, n):
        raise ValueError(f"temperature: give one number or one per sample ({n}), not "
                         f"shape {np.shape(temperature)}")
    t = np.broadcast_to(t.reshape(-1), (n,))
    if not (t > 0).all():
        raise ValueError("temperature: must be > 0 (1: plain cross-entropy)")
    if (t == 1).all():
        return None
    if not soft:
        raise ValueError("temperature: Hinton's loss distils soft targets; give labels as "
                         "(N, classes) probabilities")
    return np.array(t, np.float32)  # a writable copy of the broadcast view


def train(images: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None, **kwargs):
    """Train a fresh CNN; returns ``(model, history)``.

    ``labels`` are ints (N,) or soft targets (N, n_classes); ``weights`` scale each sample's
    cross-entropy, averaged over the batch as Keras' ``sample_weight`` does. Keyword arguments:
    ``arch``, ``epochs`` (passes over the data) or ``steps`` (optimizer updates),
    ``batch_size``, ``lr`` (Adam), ``seed``, ``device``, ``augment`` (True or ``"report"``:
    the report's flip, rotation and colour jitter; ``"crop-cutout"``: flip, reflect-padded
    random crop and cutout, :func:`crop_cutout`; False: none), ``test`` (images, labels)
    for a per-epoch test accuracy, ``progress``, ``desc``, ``precision`` (auto | fp32 |
    bf16 | fast, see :func:`autocast_enabled`), ``schedule`` (constant, as the report, or
    onecycle: warm-up to 4x ``lr`` and annealing), ``label_smoothing``, ``n_classes`` (the
    network's outputs; by default the soft targets' width, or one more than the largest
    label); ``objective``: a term added to every step's loss, e.g.
    :class:`semisup_utils.training.objectives.FixMatch`;
    ``channels_last`` (default False, what every stored run used) keeps the model's weights
    and activations in that memory format: about 1.2x faster in fp32 and 1.3x on top of bf16
    on an AVX512-BF16 CPU (bench/train_throughput.py), the same accuracy within seed noise
    (bench/precision_schedule.py --channels-last) but not the same digits, since the
    convolutions round differently, so it is an option;
    ``temperature`` (default 1; one number or one per sample): Hinton's distillation loss,
    the sample's logits / T and its loss times T^2 (at T = 1 the plain loss, unchanged);
    ``ema`` (default 0: off): decay of a moving average of the weights updated every step
    (AveragedModel, buffers copied), the network evaluated and returned;
    ``bank`` (default None): consistent teaching, a view bank's
    :class:`~semisup_utils.teachers.bank.StudentBank`: its images see one of their K stored views,
    drawn per step, with that view's teacher probabilities as target (the others as usual).
    Same seed and device, same result. ``history`` holds one dict per epoch (loss, train
    accuracy on the augmented batches, test accuracy when ``test`` is given, seconds so far);
    the last also ``test_acc_flip``, the softmax averaged over each test image and its mirror.
    A GPU out-of-memory error is re-raised as :class:`DeviceMemoryError` saying how to lower
    the batch size.
    """
    try:
        return _train(images, labels, weights, **kwargs)
    except torch.cuda.OutOfMemoryError as error:
        raise out_of_memory(error, "training", kwargs.get("batch_size", 128)) from None
