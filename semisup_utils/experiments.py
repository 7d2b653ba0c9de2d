"""Models A, B and C of the report, and the sweep over M, over the results store.

A run is identified by (data, M, model, label method, backbone, input size, architecture,
seed, epochs, batch size, weight of inferred samples). Asking for a stored run returns its
row without training; Model A is trained once per (M, seed, budget) and its weights cached so
that Model C reuses it.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .cache import ArrayCache
from .cnn import build_cnn, check_arch
from .data import CIFAR10, check_m, split_known
from .device import pick_device
from .features import embed, fit_pca, get_backbone
from .labels import InferredLabels, check_method, infer_labels, label_report
from .store import ResultsStore, rows_frame  # noqa: F401  (rows_frame: re-exported)
from .train import PRECISIONS, train

MODELS = {
    "A": "CNN on the M known labels only",
    "B": "known labels + labels inferred from pretrained embeddings (weight w)",
    "C": "known labels + Model A's predictions on the unknown images (weight w)",
}


class UnknownModelError(KeyError):
    def __str__(self):
        return str(self.args[0])


def check_models(models) -> list[str]:
    models = [models] if isinstance(models, str) else list(models)
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise UnknownModelError(f"unknown model(s) {bad or models!r}; known models: "
                                f"{', '.join(MODELS)}")
    return models


@dataclass(frozen=True)
class Protocol:
    """How every model of a comparison is trained and how B's labels are inferred."""

    epochs: int = 50
    batch_size: int = 128
    weight: float = 0.1
    method: str = "kmeans"
    backbone: str = "effnet-lite0"
    input_size: int = 32
    arch: str = "report"
    lr: float = 1e-3
    precision: str = "auto"  # auto: fp32 on the CPU, bf16 on CUDA (see train.autocast_enabled)

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name}={value!r}: must be a positive whole number")
        if not 0 < self.weight <= 1:
            raise ValueError(f"weight={self.weight!r}: the weight of inferred samples must lie "
                             "in (0, 1]")
        check_method(self.method)
        check_arch(self.arch)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r}: expected one of "
                             f"{', '.join(PRECISIONS)}")
        if self.backbone != "pca":
            get_backbone(self.backbone)


@dataclass
class Context:
    """Where results and caches live and what runs them (no hidden globals)."""

    store: ResultsStore = field(default_factory=ResultsStore)
    cache_dir: Path | None = None
    device: object = None
    profile: str = "custom"
    progress: bool | None = None  # None: bars on a terminal only
    # False: a run missing from the store is not trained (MissingRunError); sweeps leave it out
    # with a warning. The published book renders from the committed store this way.
    train_missing: bool = True


class MissingRunError(LookupError):
    """A run is not in the results store and this context does not train."""


class MissingRunWarning(UserWarning):
    """A sweep left out runs that are not in the results store."""


def refuse_missing(ctx: "Context", what: str, command: str) -> None:
    """Raise MissingRunError for a run this context may not train, naming how to compute it."""
    if not ctx.train_missing:
        raise MissingRunError(f"{what} is not in the results store ({ctx.store.path}) and this "
                              f"profile trains nothing (train_missing=False); compute it with "
                              f"`{command}`, or rerun with -p train_missing true")


def warn_left_out(missing: list[str]) -> None:
    if missing:
        import warnings

        warnings.warn(f"{len(missing)} run(s) not in the results store were left out: "
                      f"{'; '.join(missing)}", MissingRunWarning, stacklevel=3)


def git_revision() -> str:
    """The checkout's revision; ``$SEMISUP_GIT_REV`` where the code runs from a copy without
    ``.git`` (a GPU machine that was sent the working tree)."""
    if os.environ.get("SEMISUP_GIT_REV"):
        return os.environ["SEMISUP_GIT_REV"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_key(data: CIFAR10, m: int, seed: int, model: str, protocol: Protocol) -> dict:
    """The fields that define a run; rows with equal keys are the same run."""
    uses_labels = model == "B"
    return {
        "data": data.fingerprint, "n_train": data.n_train, "m": int(m), "model": model,
        "method": {"A": "none", "B": protocol.method, "C": "cnn"}[model],
        "backbone": protocol.backbone if uses_labels else "none",
        "input_size": protocol.input_size if uses_labels else 0,
        "arch": protocol.arch, "seed": int(seed), "epochs": protocol.epochs,
        "batch_size": protocol.batch_size, "lr": protocol.lr,
        "weight": protocol.weight if model != "A" else 1.0,
        # left out at its default, so the runs stored before the field existed still match
        **({"precision": protocol.precision} if protocol.precision != "auto" else {}),
    }


def label_features(data: CIFAR10, protocol: Protocol, ctx: Context, seed: int = 0) -> np.ndarray:
    """What B's labels are inferred from: backbone embeddings, or PCA of the pixels."""
    if protocol.backbone == "pca":
        return fit_pca(data.x_train, 0.8, whiten=True, seed=seed)[1]
    return embed(data.x_train, protocol.backbone, protocol.input_size, device=ctx.device,
                 cache_dir=ctx.cache_dir, fingerprint=data.fingerprint, progress=ctx.progress)


def _state_to_arrays(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def _model_from_arrays(arrays: dict[str, np.ndarray], arch: str, device):
    import torch

    # the output layer is the last 2-D weight of the Sequential ("13.weight"): one row per class
    last = max((k for k in arrays if k.endswith("weight") and np.ndim(arrays[k]) == 2),
               key=lambda k: [int(p) if p.isdigit() else 0 for p in k.split(".")])
    model = build_cnn(arch, n_classes=int(np.shape(arrays[last])[0]))
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
    return model.to(device).eval()


def _train_and_score(data, images, labels, weights, protocol, seed, ctx, desc):
    start = time.perf_counter()
    model, history = train(images, labels, weights, arch=protocol.arch, epochs=protocol.epochs,
                           batch_size=protocol.batch_size, lr=protocol.lr, seed=seed,
                           precision=protocol.precision, n_classes=data.n_classes,
                           device=ctx.device, test=(data.x_test, data.y_test),
                           progress=ctx.progress, desc=desc)
    seconds = time.perf_counter() - start
    return model, {"test_acc": history[-1]["test_acc"], "wall_s": round(seconds, 2),
                   "history": [{k: round(v, 5) if isinstance(v, float) else v
                                for k, v in h.items()} for h in history]}


def _provenance(data: CIFAR10, ctx: Context) -> dict:
    """Where a row came from. CPU runs are bit-for-bit repeatable only for the same thread
    count and torch build, so both are recorded beside the device."""
    return {"device": str(pick_device(ctx.device)), "data_source": data.source,
            "git_rev": git_revision(), "profile": ctx.profile,
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def model_a(data: CIFAR10, m: int, seed: int, protocol: Protocol, ctx: Context):
    """Model A's trained network, from the model cache or trained now (and its store row)."""
    key = run_key(data, m, seed, "A", protocol)
    cache = ArrayCache(ctx.cache_dir)
    known, _ = split_known(data.y_train, m, seed)
    stored = cache.load("models", key)
    row = ctx.store.find(key)
    if stored is not None and row is not None:
        return _model_from_arrays(stored, protocol.arch, pick_device(ctx.device)), row
    model, result = _train_and_score(data, data.x_train[known], data.y_train[known], None,
                                     protocol, seed, ctx, f"Model A, M={m}, seed {seed}")
    cache.save("models", key, _state_to_arrays(model))
    row = ctx.store.add(key, {**result, "label_acc": None, "n_inferred": 0,
                              **_provenance(data, ctx)})
    return model, row


def _with_inferred(data, known, guess: InferredLabels, weight: float):
    labels = data.y_train.copy()
    labels[guess.indices] = guess.labels
    weights = np.ones(data.n_train, dtype=np.float32)
    weights[guess.indices] = weight
    assert np.all(labels[known] == data.y_train[known])
    return labels, weights


def run_models(data: CIFAR10, m: int, seed: int = 0, models=("A", "B", "C"),
               protocol: Protocol | None = None, ctx: Context | None = None) -> list[dict]:
    """Rows for the requested models at one (M, seed); stored runs are not retrained."""
    protocol = protocol or Protocol()
    ctx = ctx or Context()
    models = check_models(models)
    m = check_m(m, data.n_train)
    known, _ = split_known(data.y_train, m, seed)
    rows = {}
    for name in models:
        row = ctx.store.find(run_key(data, m, seed, name, protocol))
        if row is not None:
            rows[name] = row
    for name in models:
        if name not in rows:
            refuse_missing(ctx, f"Model {name} at M={m}, seed {seed}",
                           f"semisup sweep --profile {ctx.profile} -p M_list '[{m}]' "
                           f"-p seeds '[{seed}]'")
    teacher = None
    if "A" in models and "A" not in rows or "C" in models and "C" not in rows:
        teacher, rows_a = model_a(data, m, seed, protocol, ctx)
        if "A" in models:
            rows["A"] = rows_a
    for name in ("B", "C"):
        if name not in models or name in rows:
            continue
        if name == "B":
            features = label_features(data, protocol, ctx, seed)
            guess = infer_labels(protocol.method, features, known, data.y_train[known], seed=seed,
                                 n_classes=data.n_classes)
        else:
            guess = infer_labels("cnn", data.x_train, known, data.y_train[known], seed=seed,
                                 model=teacher)
        report = label_report(guess, data.y_train)
        labels, weights = _with_inferred(data, known, guess, protocol.weight)
        _, result = _train_and_score(data, data.x_train, labels, weights, protocol, seed, ctx,
                                     f"Model {name}, M={m}, seed {seed}")
        rows[name] = ctx.store.add(
            run_key(data, m, seed, name, protocol),
            {**result, "label_acc": round(report["accuracy"], 5),
             "n_inferred": report["n_inferred"], **_provenance(data, ctx)})
    return [rows[name] for name in models]


def stored_runs(data: CIFAR10, ms, seeds, models, protocol: Protocol, store: ResultsStore):
    """The stored rows of a grid, as a DataFrame; nothing is trained (missing runs are absent)."""
    rows = [store.find(run_key(data, m, s, model, protocol))
            for m in ms for s in seeds for model in check_models(models)]
    return rows_frame([row for row in rows if row is not None])


def sweep(data: CIFAR10, ms, seeds, models=("A", "B", "C"), protocol: Protocol | None = None,
          ctx: Context | None = None, executor: str = "local", address: str | None = None,
          resources: dict | None = None):
    """Every (M, seed) of the grid, resuming from the store; a DataFrame of the rows.

    ``executor``: ``local`` runs them here, one after another; ``ray`` runs each missing run as
    a Ray task (on the cluster at ``address``, else a local Ray; ``resources``: Ray task
    options), see :mod:`semisup_utils.executors`. Both give the same rows in the same order.
    """
    from .executors import check_executor
    from .progress import bar

    ctx = ctx or Context()
    ms = [check_m(m, data.n_train) for m in ms]
    models = check_models(models)
    if check_executor(executor) == "ray":
        from .executors import ray_sweep

        return rows_frame(ray_sweep(data, ms, seeds, models, protocol or Protocol(), ctx,
                                    address=address, resources=resources))
    rows, missing = [], []
    grid = [(m, s) for m in ms for s in seeds]
    for m, seed in bar(grid, show=ctx.progress, desc="sweep", unit="(M, seed)"):
        if ctx.train_missing:
            rows += run_models(data, m, seed, models, protocol, ctx)
            continue
        for name in models:  # one by one, so that one missing model leaves out only itself
            try:
                rows += run_models(data, m, seed, [name], protocol, ctx)
            except MissingRunError:
                missing.append(f"Model {name}, M={m}, seed {seed}")
    warn_left_out(missing)
    return rows_frame(rows)


