"""Consistent teaching: a bank of the teacher's probabilities for K augmented views of every
unknown image, so the student learns each view it sees with that view's own target.

Fixed targets are computed once per image as it is, while the student sees it flipped,
rotated, jittered or cropped and cut out; Beyer et al. (CVPR 2022, "A good teacher is patient
and consistent") find targets of the very view the student sees distil better, and FKD (Shen
& Xing, ECCV 2022) stores the teacher's soft labels of many crops per image to get them
cheaply. Here view ``v`` of image ``i`` is drawn by the student's own augmentation
(``train.VIEW_AUGMENTATIONS``: the same draw and render code as training) from a generator
seeded by (bank seed, v), so the views are the same whatever K (a bank of 16 reuses the 8 of a
bank of 8); the teacher embeds each rendered 32x32 view with its own backbone views (same
preprocessing; a ``"flip"`` view averages the rendered view's features with its mirror's) and
applies its classifier, fitted on the known images' features as for its fixed targets. Two
caches (``ArrayCache``), each view on its own, so an interrupted bank resumes: the views'
embeddings of every training image (kind ``bank-views``, the costly part, shared by every M,
seed and fit, since the views are seeded by the bank seed alone) and each fit's probabilities
(kind ``banks``, float16, about 1 MB per view), which later runs read without recomputing.

The trainer, given the bank (its ``bank`` argument), draws a view per unknown image at every
step, renders it and uses that view's probabilities as the target; the known images keep the
usual augmentation and their labels.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..base.cache import ArrayCache
from ..base.device import pick_device
from ..base.progress import bar
from ..training.train import VIEW_AUGMENTATIONS
from .features import embedder, get_backbone
from .label_inference import fit_method
from .targets import soften
from .teachers import parse_view, view_features

BANK_VERSION = 1


def check_augment(augment: str) -> str:
    if augment not in VIEW_AUGMENTATIONS:
        raise ValueError(f"augment={augment!r}: a view bank draws the student's augmentation, "
                         f"one of {', '.join(VIEW_AUGMENTATIONS)}")
    return augment


def view_seed(bank_seed: int, v: int) -> int:
    """The generator seed of view ``v``: from (bank seed, v) alone, so view v's parameters do
    not depend on K (prefix-stable banks)."""
    return int(np.random.SeedSequence([int(bank_seed), int(v)]).generate_state(1, np.uint64)[0]
               >> np.uint64(1))


def view_params(augment: str, n: int, bank_seed: int, v: int,
                size=(32, 32)) -> dict[str, np.ndarray]:
    """View ``v``'s augmentation parameters for ``n`` images (dataset order), drawn on the CPU
    by the augmentation's own draw function with its defaults (what training draws)."""
    draw, _ = VIEW_AUGMENTATIONS[check_augment(augment)]
    generator = torch.Generator().manual_seed(view_seed(bank_seed, v))
    return {name: t.numpy() for name, t in draw(n, generator, "cpu", tuple(size)).items()}


def render(augment: str, images: np.ndarray, params: dict) -> np.ndarray:
    """uint8 images (n, H, W, 3) under the view parameters ``params`` (one per image), as the
    student sees them (float in [0, 1], the trainer's rendering), returned as float32
    (n, H, W, 3) in 0..255: what the teacher's backbone takes."""
    _, render_fn = VIEW_AUGMENTATIONS[check_augment(augment)]
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)
    out = render_fn(x, {name: torch.as_tensor(p) for name, p in params.items()})
    return (out * 255).permute(0, 2, 3, 1).contiguous().numpy()


def bank_key(recipe, data, known: np.ndarray, seed: int, augment: str, bank_seed: int,
             v: int) -> dict:
    """The cache key of view ``v``'s probabilities: the data, the teacher (method, views, the
    seed and known images it was fitted with), the augmentation and the bank seed. K is not in
    it: view v is the same in every bank that has it."""
    known = np.asarray(known)
    return {"data": data.fingerprint, "n": int(data.n_train), "method": recipe.teacher,
            "views": [list(view) for view in recipe.views], "seed": int(seed),
            "m": int(len(known)),
            "known": hashlib.sha256(known.astype(np.int64).tobytes()).hexdigest(),
            "augment": augment, "bank_seed": int(bank_seed), "view": int(v),
            "version": BANK_VERSION}


def teacher_predictor(recipe, data, known: np.ndarray, seed: int, ctx):
    """The recipe's teacher fitted on the known images' features (the fit its fixed targets
    come from: same method, features and seed; refitted, since the label cache keeps no
    classifier), as a function of feature rows giving probabilities."""
    guess = fit_method(recipe.teacher, view_features(data, recipe.views, seed, ctx), known,
                       data.y_train[known], seed=seed, n_classes=data.n_classes)
    if guess.predict is None:
        raise ValueError(f"teacher {recipe.teacher!r} cannot label new images, so it has no "
                         "view bank; use an embedding teacher such as logreg-cal")
    return guess.predict


def teacher_features(views, ctx):
    """A function of rendered views (n, 32, 32, 3) in 0..255 giving the teacher's features:
    each backbone view's, concatenated, a ``"flip"`` view the mean of the view's and its
    mirror's (the backbones built once)."""
    device = pick_device(ctx.device)
    parts = []
    for view in views:
        backbone, size, flip = parse_view(view)
        if backbone == "pca":
            raise ValueError(f"view {tuple(view)!r}: a view bank embeds rendered views with a "
                             "backbone; PCA views have none")
        parts.append((embedder(get_backbone(backbone), size, device, ctx.embed_engine), flip))

    def features(batch: np.ndarray) -> np.ndarray:
        out = []
        for run, flip in parts:
            f = run(batch)
            out.append((f + run(batch, mirror=True)) / 2 if flip else f)
        return np.concatenate(out, axis=1).astype(np.float32)
    return features


@dataclass(frozen=True)
class ViewBank:
    """K views of the unknown images ``rows`` (dataset indices): their parameters (each
    (len(rows), K)) and the teacher's probabilities of them ((len(rows), K, classes), float16)."""

    augment: str
    rows: np.ndarray
    params: dict
    proba: np.ndarray

    @property
    def k(self) -> int:
        return self.proba.shape[1]

    def for_training(self, index: np.ndarray, temperature: float = 1.0) -> "StudentBank":
        """What the trainer takes for the training set ``index`` (dataset indices): the bank's
        images among them, their view parameters and their targets (each view's probabilities
        at ``temperature``, as :func:`targets.soften` does for fixed targets)."""
        index = np.asarray(index)
        position = np.searchsorted(self.rows, index)
        member = (position < len(self.rows)) & (
            self.rows[np.minimum(position, len(self.rows) - 1)] == index)
        rows = position[member]
        n, k, c = len(index), self.k, self.proba.shape[2]
        params = {}
        for name, p in self.params.items():
            full = np.zeros((n, k), dtype=np.int64 if np.issubdtype(p.dtype, np.integer)
                            else p.dtype)
            full[member] = p[rows]
            params[name] = full
        targets = np.zeros((n, k, c), np.float32)
        targets[member] = soften(self.proba[rows].reshape(-1, c).astype(np.float32),
                                 temperature).reshape(-1, k, c)
        return StudentBank(self.augment, member, params, targets)

    def label_accuracy(self, y_train: np.ndarray) -> float:
        """The teacher's accuracy over every (image, view) of the bank."""
        return float((self.proba.argmax(2) == y_train[self.rows][:, None]).mean())


class StudentBank:
    """The trainer's side of a bank, by training-set position: which positions have views
    (``member``), and for positions ``idx`` and views ``v`` (tensors), the rendered views
    (:meth:`render`) and their targets (:meth:`targets`)."""

    def __init__(self, augment: str, member, params: dict, targets):
        self.augment = check_augment(augment)
        self.member = torch.as_tensor(member)
        self.params = {name: torch.as_tensor(p) for name, p in params.items()}
        self._targets = torch.as_tensor(targets)

    @property
    def k(self) -> int:
        return self._targets.shape[1]

    def __len__(self) -> int:
        return len(self.member)

    def to(self, device) -> "StudentBank":
        return StudentBank(self.augment, self.member.to(device),
                           {name: p.to(device) for name, p in self.params.items()},
                           self._targets.to(device))

    def render(self, x: torch.Tensor, idx: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Views ``v`` of the float batch ``x`` (the images at positions ``idx``, in [0, 1])."""
        _, render_fn = VIEW_AUGMENTATIONS[self.augment]
        return render_fn(x, {name: p[idx, v] for name, p in self.params.items()})

    def targets(self, idx: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self._targets[idx, v]


def view_bank(recipe, data, known: np.ndarray, seed: int, ctx, k: int | None = None,
              augment: str = "report", bank_seed: int = 0, chunk: int = 256) -> ViewBank:
    """The recipe's teacher's probabilities of K views (``k``, default ``recipe.views_bank``)
    of every unknown image (those not in ``known``), each view read from the cache or computed
    and cached (resumable view by view). ``bank_seed`` seeds the views: by default the same
    for every run, so the views' embeddings (:func:`view_embeddings`, the bank's whole cost)
    are computed once and every M, seed and teacher fit only applies its classifier."""
    k = recipe.views_bank if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k={k!r}: a view bank needs K >= 1 views")
    check_augment(augment)
    known = np.sort(np.asarray(known))
    rows = np.setdiff1d(np.arange(data.n_train), known)
    cache = ArrayCache(ctx.cache_dir)
    entries = {v: cache.load("banks", bank_key(recipe, data, known, seed, augment, bank_seed, v))
               for v in range(k)}
    missing = [v for v, entry in entries.items() if entry is None]
    if missing:
        predict = teacher_predictor(recipe, data, known, seed, ctx)
        for v in missing:
            entries[v] = _compute_view(augment, data, rows, bank_seed, v, predict,
                                       recipe.views, ctx, chunk)
            entries[v]["engine"] = np.array(ctx.embed_engine)
            cache.save("banks", bank_key(recipe, data, known, seed, augment, bank_seed, v),
                       entries[v])
    names = [name[len("param_"):] for name in entries[0] if name.startswith("param_")]
    return ViewBank(augment, rows,
                    {name: np.stack([entries[v][f"param_{name}"] for v in range(k)], 1)
                     for name in names},
                    np.stack([entries[v]["proba"] for v in range(k)], 1))


def view_embeddings(views, data, augment: str, bank_seed: int, v: int, ctx,
                    chunk: int = 256) -> dict[str, np.ndarray]:
    """View ``v`` of every training image: its parameters and the teacher backbones' features
    of it (float16, ``features``), cached once whatever M, seed or classifier reads them (key:
    data, views, augmentation, bank seed, v): 50,000 images at 224x224 are hours on a CPU,
    the classifier on their features seconds."""
    cache = ArrayCache(ctx.cache_dir)
    key = {"data": data.fingerprint, "n": int(data.n_train),
           "views": [list(view) for view in views], "augment": augment,
           "bank_seed": int(bank_seed), "view": int(v), "version": BANK_VERSION}
    entry = cache.load("bank-views", key)
    if entry is not None:
        return entry
    start, n = time.perf_counter(), data.n_train
    features = teacher_features(views, ctx)
    params = view_params(augment, n, bank_seed, v, data.x_train.shape[1:3])
    out = []
    for begin in bar(range(0, n, chunk), show=ctx.progress, unit="chunk",
                     desc=f"view {v} of the bank, embedded"):
        batch = {name: p[begin:begin + chunk] for name, p in params.items()}
        out.append(features(render(augment, data.x_train[begin:begin + chunk], batch))
                   .astype(np.float16))
    entry = {"features": np.concatenate(out),
             **{f"param_{name}": _compact(p) for name, p in params.items()},
             "seconds": np.array(time.perf_counter() - start)}
    cache.save("bank-views", key, entry)
    return entry


def _compute_view(augment: str, data, rows: np.ndarray, bank_seed: int, v: int, predict,
                  views, ctx, chunk: int) -> dict[str, np.ndarray]:
    """View ``v`` of the images ``rows``: its parameters and the teacher's probabilities
    (float16) of its embeddings (:func:`view_embeddings`, computed once)."""
    embedded = view_embeddings(views, data, augment, bank_seed, v, ctx, chunk)
    proba = predict(embedded["features"][rows].astype(np.float32))
    return {"proba": proba.astype(np.float16),
            **{name: p[rows] for name, p in embedded.items() if name.startswith("param_")},
            "seconds": embedded["seconds"]}


def _compact(p: np.ndarray) -> np.ndarray:
    """Integer parameters (offsets, centres) stored as int16; the others as they are."""
    return p.astype(np.int16) if np.issubdtype(p.dtype, np.integer) else p


__all__ = ["BANK_VERSION", "StudentBank", "ViewBank", "bank_key", "render", "teacher_features",
           "teacher_predictor", "view_bank", "view_embeddings", "view_params", "view_seed"]
