"""Where the runs of a sweep execute: here, one after another (``local``), or as Ray tasks.

``ray``: each missing run (M, seed, model) becomes one Ray task asking for its resources (one
CPU, and one GPU when the runs want CUDA). The work runs share is done once:
- the embeddings Model B's labels come from are computed by the driver before anything is
  submitted, into the on-disk cache that every worker then reads;
- the dataset goes to the object store once (``ray.put``) and every task reads it from there;
- Model A is trained once per (M, seed) by its own task, which stores its row and caches its
  weights; the Model C task of that (M, seed) takes the A task's result as an argument, so Ray
  starts it only after A finished, and it reads A's weights from the model cache.
The results store stays the only record: a worker writes its row when its run finished (under
the store's lock, refused if already there), so a worker that dies loses only its own run,
which Ray retries (``max_retries``); rerunning the sweep submits only what is missing. The
store and the cache must therefore be folders every worker sees (a shared filesystem on a
cluster); they are passed to the workers as absolute paths.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from .cache import default_cache_dir
from .experiments import Context, label_features, run_key, run_models
from .store import ResultsStore, run_id

EXECUTORS = ("local", "ray")


def check_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r}: expected one of {', '.join(EXECUTORS)}")
    return executor


class SweepError(RuntimeError):
    """Runs of a sweep failed; every other run is stored. ``failures``: [((m, seed, model),
    error)]; ``rows``: the rows of the grid that are in the store."""

    def __init__(self, failures: list, rows: list[dict]):
        self.failures, self.rows = failures, rows
        lines = [f"  M={m}, seed {seed}, Model {model}: {error}"
                 for (m, seed, model), error in failures]
        super().__init__(f"{len(failures)} run(s) of the sweep failed; the {len(rows)} others "
                         "are stored, and rerunning the sweep submits only the missing ones:\n"
                         + "\n".join(lines))


@dataclass(frozen=True)
class Where:
    """What a worker needs to rebuild the driver's Context: absolute paths every worker sees."""

    store_dir: str
    store_file: str
    cache_dir: str
    device: str
    profile: str
    threads: int


def run_one(data, m: int, seed: int, model: str, protocol, where: Where, *after) -> dict:
    """One run, in a Ray worker: its row, written to the shared store. ``after``: the results
    of the tasks it waits for (Model A's, for Model C), unused: A's weights are in the cache."""
    import torch

    torch.set_num_threads(where.threads)  # CPU training is reproducible for a thread count
    # the dataset comes from the object store, read-only; training copies what it changes
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    ctx = Context(store=ResultsStore(where.store_dir, where.store_file),
                  cache_dir=Path(where.cache_dir), device=where.device, profile=where.profile,
                  progress=False)
    (row,) = run_models(data, m, seed, [model], protocol, ctx)
    return row


def _wants_gpu(device, ray) -> bool:
    if device is None or device == "auto":  # automatic: CUDA where the cluster has GPUs
        return ray.cluster_resources().get("GPU", 0) > 0
    return str(device).startswith("cuda")


def _error_text(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error  # a RayTaskError wraps the task's exception
    text = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {text[:300]}"


def ray_sweep(data, ms, seeds, models, protocol, ctx: Context, address: str | None = None,
              resources: dict | None = None, task=run_one) -> list[dict]:
    """The grid's rows, after running its missing runs as Ray tasks (see the module's doc).

    ``address``: a Ray cluster (``ray://head:10001``, ``auto``); None: ``$RAY_ADDRESS`` or a
    local Ray started here and stopped at the end (an already initialised Ray is used as is).
    ``resources``: Ray task options overriding the defaults ``num_cpus=1``, ``num_gpus`` (1 when
    the runs use CUDA, else 0) and ``max_retries=2`` (e.g. ``{"num_gpus": 0.5}`` for two runs
    per GPU). ``task``: what each task runs (tests wrap :func:`run_one` to inject faults).
    Raises :class:`SweepError` after every other run finished when some failed.
    """
    import ray

    from .progress import bar

    grid = [(m, seed, model) for m in ms for seed in seeds for model in models]
    keys = {run: run_id(run_key(data, *run, protocol)) for run in grid}
    stored = {run_id(row["key"]) for row in ctx.store.rows()}
    missing = [run for run in grid if keys[run] not in stored]
    failures = []
    if missing:
        if protocol.backbone != "pca" and any(model == "B" for *_, model in missing):
            label_features(data, protocol, ctx)  # embeddings, once, into the shared cache
        started = not ray.is_initialized()
        if started:
            ray.init(address=address)
        try:
            failures = _submit(ray, bar, data, missing, protocol, ctx, resources, task,
                               len(grid))
        finally:
            if started:
                ray.shutdown()
    index = {run_id(row["key"]): row for row in ctx.store.rows()}
    rows = [index[keys[run]] for run in grid if keys[run] in index]
    if failures:
        raise SweepError(failures, rows)
    return rows


def _submit(ray, bar, data, missing, protocol, ctx, resources, task, planned) -> list:
    options = {"num_cpus": 1, "num_gpus": 1 if _wants_gpu(ctx.device, ray) else 0,
               "max_retries": 2, **(resources or {})}
    device = ctx.device if ctx.device not in (None, "auto") else (
        "cuda" if options["num_gpus"] else "cpu")
    where = Where(str(ctx.store.directory.resolve()), ctx.store.path.name,
                  str(Path(ctx.cache_dir or default_cache_dir()).resolve()),
                  "cuda" if str(device).startswith("cuda") else str(device),  # Ray's GPU is cuda:0
                  ctx.profile, max(1, int(options["num_cpus"])))
    remote = ray.remote(task).options(**options)
    data_ref = ray.put(data)
    pending, teachers = {}, {}
    for m, seed, model in sorted(missing, key=lambda run: run[2] != "A"):  # A before its C
        after = [teachers[m, seed]] if model == "C" and (m, seed) in teachers else []
        ref = remote.remote(data_ref, m, seed, model, protocol, where, *after)
        pending[ref] = (m, seed, model)
        if model == "A":
            teachers[m, seed] = ref
    failures = []
    with bar(total=planned, initial=planned - len(missing), show=ctx.progress, desc="sweep",
             unit="run") as progress:
        try:
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                run = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as error:  # noqa: BLE001 - every failure is reported at the end
                    failures.append((run, _error_text(error)))
                    progress.set_postfix(failed=len(failures))
                progress.update(1)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref)
            raise
    return sorted(failures)
