"""Where the runs of a grid execute. Executors know one thing about a run: :func:`execute`.

- ``local``: here, one after another.
- ``processes``: a pool of worker processes on this machine, each with ``threads`` torch threads
  (on a 2-core CPU, two one-thread runs side by side), no Ray needed.
- ``ray``: each missing run is one Ray task, on a cluster or a Ray started here.

Whatever the executor, a run missing from the store is trained and stored by whoever runs it
(one append under the store's lock, refused if already there), a run already stored is read,
and the rows come back in the order of the grid. Runs that need Model A's network (Model C, the
"+A" recipes) wait for Model A's run of their (M, seed, budget), which the pool and Ray run
first; the network reaches them through the on-disk model cache. A run that fails does not stop
the others: the grid raises one :class:`SweepError` naming every failure once the rest are
stored, and rerunning it trains only what is missing.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..base.cache import default_cache_dir
from ..data.dataset import check_m
from .runs import (Context, MissingRunError, Run, execute, refuse_missing_runs,
                   run_key, warn_left_out)
from .store import ResultsStore, rows_frame, run_id

EXECUTORS = ("local", "processes", "ray")


def check_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r}: expected one of {', '.join(EXECUTORS)}")
    return executor


class SweepError(RuntimeError):
    """Runs of a grid failed; every other run is stored. ``failures``: [(run, error)];
    ``rows``: the rows of the grid that are in the store."""

    def __init__(self, failures: list, rows: list[dict]):
        self.failures, self.rows = failures, rows
        lines = [f"  {run.describe()}: {error}" for run, error in failures]
        super().__init__(f"{len(failures)} run(s) of the grid failed; the {len(rows)} others "
                         "are stored, and rerunning the grid trains only the missing ones:\n"
                         + "\n".join(lines))


@dataclass(frozen=True)
class WorkerContext:
    """What a worker needs to rebuild the driver's Context: absolute paths every worker sees."""

    store_dir: str
    store_file: str
    cache_dir: str
    device: str | None
    profile: str
    threads: int
    max_evals: int = 50
    embed_engine: str = "torch"

    @classmethod
    def of(cls, ctx: Context, device, threads: int) -> "WorkerContext":
        return cls(str(ctx.store.directory.resolve()), ctx.store.path.name,
                   str(Path(ctx.cache_dir or default_cache_dir()).resolve()), device,
                   ctx.profile, threads, ctx.max_evals, ctx.embed_engine)

    def context(self) -> Context:
        import torch

        torch.set_num_threads(self.threads)  # CPU training repeats for a given thread count
        return Context(store=ResultsStore(self.store_dir, self.store_file),
                       cache_dir=Path(self.cache_dir), device=self.device,
                       profile=self.profile, progress=False, max_evals=self.max_evals,
                       embed_engine=self.embed_engine)


def _error_text(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error  # a RayTaskError wraps the task's exception
    text = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {text[:300]}"


def _waves(data, missing: list[Run]) -> tuple[list[Run], list[Run]]:
    """Model A's runs that the missing runs need (first), and the missing runs that remain."""
    first, seen = [], set()
    for run in missing:
        if run.recipe.needs_model_a:
            a_id = run_id(run_key(data, run.model_a))
            if a_id not in seen:
                seen.add(a_id)
                first.append(run.model_a)
    first_ids = {run_id(run_key(data, r)) for r in first}
    rest = [r for r in missing if run_id(run_key(data, r)) not in first_ids]
    return first, rest


# ----------------------------------------------------------------------------- the grid
def run_grid(data, runs: list[Run], ctx: Context | None = None, executor: str | None = None,
             workers: int | None = None, threads: int = 1, address: str | None = None,
             resources: dict | None = None):
    """Every run of the grid as a DataFrame (rows in grid order), training the missing ones
    with ``executor`` (default: the context's); with ``ctx.train_missing`` False nothing is trained and missing runs are
    left out with a :class:`~semisup_utils.study.runs.MissingRunWarning` naming them.

    ``workers``/``threads``: the process pool's size (default: one per CPU core / ``threads``)
    and each worker's torch threads. ``address``/``resources``: Ray's cluster and task options
    (see :func:`ray_runs`).
    """
    from ..base.progress import bar

    ctx = ctx or Context()
    executor = check_executor(executor or ctx.executor)
    for run in runs:  # refuse a bad M before anything is trained
        check_m(run.m, data.n_train)
    keys = [run_key(data, run) for run in runs]
    missing = list({run_id(k): r for k, r in zip(keys, runs)
                    if ctx.store.find(k) is None}.values())
    failures, left_out = [], []
    if missing and not ctx.train_missing:
        if len({(run.m, run.seed) for run in runs}) == 1:
            # one run per model (chapter 5): no other seed or M to show in a missing run's place
            raise refuse_missing_runs(ctx, missing, data.n_train)
        left_out = missing
    elif missing and executor == "local":
        for run in bar(missing, show=ctx.progress, desc="runs", unit="run"):
            execute(data, run, ctx)
    elif missing and executor == "processes":
        failures = pool_runs(data, missing, ctx, workers, threads)
    elif missing:
        failures = ray_runs(data, missing, ctx, address=address, resources=resources,
                            planned=len(runs))
    rows = _found(ctx.store, keys)
    if failures:
        raise SweepError(failures, rows)
    warn_left_out(left_out, ctx, data.n_train)
    return rows_frame(rows)


def compare(data, ms, seeds, recipes, budget, ctx: Context | None = None, **grid_options):
    """Recipes x M x seeds at one budget (:func:`run_grid`), with the ceiling beside every M
    and the share of the gap between Model A and the ceiling each run closes."""
    from .analysis import add_gap_closed, ceiling_at_every_m
    from .runs import plan

    frame = run_grid(data, plan(ms, seeds, recipes, budget), ctx, **grid_options)
    if frame.empty:
        return frame
    return add_gap_closed(ceiling_at_every_m(frame, ms))


def stored_rows(data, runs: list[Run], store: ResultsStore):
    """The grid's stored rows as a DataFrame; nothing is trained (missing runs are absent)."""
    return rows_frame(_found(store, [run_key(data, run) for run in runs]))


def _found(store: ResultsStore, keys: list[dict]) -> list[dict]:
    """The stored rows of ``keys``, in their order, each once (the ceiling recurs per M)."""
    unique = {run_id(k): k for k in keys}
    return [row for row in map(store.find, unique.values()) if row is not None]


# ----------------------------------------------------------------------------- processes
_WORKER = {}


def _init_worker(data, where: WorkerContext, parent: int | None = None) -> None:
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    if parent is not None:
        _end_with(parent)
    _WORKER["data"], _WORKER["ctx"] = data, where.context()


def _end_with(parent: int, interval: float = 0.5) -> None:
    """End this worker as soon as process ``parent`` is gone. A parent killed (SIGKILL, or a
    Jupyter kernel that exits with its own parent) cannot stop its pool: without this its
    workers trained on, wrote rows nobody asked for and held their memory."""
    import os
    import threading
    import time

    def watch():
        while os.getppid() == parent:  # an orphan is adopted: its parent's pid changes
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _terminate_workers(pool) -> None:
    """Stop the pool's workers now, mid-run (Python 3.14's ``terminate_workers``)."""
    if hasattr(pool, "terminate_workers"):
        pool.terminate_workers()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


@contextmanager
def _workers_end_on_sigterm(pool):
    """While the pool works, SIGTERM (``kill``, ``timeout``, a CI cancellation) first ends its
    workers, then does what it did before (by default: ends this process, as the signal
    says). Only in the main thread, where Python runs signal handlers, and not where SIGTERM
    is ignored or handled outside Python."""
    import os
    import signal
    import threading

    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or \
            previous in (signal.SIG_IGN, None):
        yield
        return

    def handler(signum, frame):
        _terminate_workers(pool)
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute_in_worker(run: Run) -> dict:
    return execute(_WORKER["data"], run, _WORKER["ctx"])


def pool_runs(data, missing: list[Run], ctx: Context, workers: int | None = None,
              threads: int = 1) -> list:
    """Train the missing runs in a pool of processes (spawned: safe with torch's threads);
    returns [(run, error)] of the runs that failed."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from ..base.progress import bar

    workers = workers or max(1, (os.cpu_count() or 1) // threads)
    where = WorkerContext.of(ctx, ctx.device, threads)
    failures, waves = [], _waves(data, missing)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker,
                             initargs=(data, where, os.getpid())) as pool, \
            _workers_end_on_sigterm(pool), \
            bar(total=sum(map(len, waves)), show=ctx.progress, desc="runs",
                unit="run") as progress:
        for wave in waves:
            futures = {pool.submit(_execute_in_worker, run): run for run in wave}
            for future in as_completed(futures):
                try:
                    future.result()
                except Exception as error:  # noqa: BLE001 - every failure is reported at the end
                    failures.append((futures[future], _error_text(error)))
                progress.update(1)
    return failures


# ----------------------------------------------------------------------------- Ray
def run_one(data, run: Run, where: WorkerContext, *after) -> dict:
    """One run in a Ray worker: its row, written to the shared store. ``after``: the results of
    the tasks it waits for (Model A's), unused: A's network is in the model cache."""
    # the dataset comes from the object store, read-only; training copies what it changes
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    return execute(data, run, where.context())


def _wants_gpu(device, ray) -> bool:
    if device is None or device == "auto":  # automatic: CUDA where the cluster has GPUs
        return ray.cluster_resources().get("GPU", 0) > 0
    return str(device).startswith("cuda")


def ray_runs(data, missing: list[Run], ctx: Context, address: str | None = None,
             resources: dict | None = None, task=run_one, planned: int | None = None) -> list:
    """Train the missing runs as Ray tasks; returns [(run, error)] of those that failed.

    ``address``: a Ray cluster (``ray://head:10001``, ``auto``); None: ``$RAY_ADDRESS`` or a
    local Ray started here and stopped at the end (an already initialised Ray is used as is).
    ``resources``: Ray task options overriding ``num_cpus=1``, ``num_gpus`` (1 when the runs
    use CUDA, else 0) and ``max_retries=2`` (e.g. ``{"num_gpus": 0.5}``: two runs per GPU).
    ``task``: what each task runs (tests wrap :func:`run_one` to inject faults). Embeddings the
    teachers need are computed here first, once, into the shared cache.
    """
    import ray

    from ..base.progress import bar
    from ..teachers.teachers import view_features

    for views in {r.recipe.views for r in missing if r.recipe.uses_embeddings}:
        if all(view[0] != "pca" for view in views):
            view_features(data, views, 0, ctx)  # embeddings, once, into the shared cache
    started = not ray.is_initialized()
    if started:
        ray.init(address=address)
    try:
        options = {"num_cpus": 1, "num_gpus": 1 if _wants_gpu(ctx.device, ray) else 0,
                   "max_retries": 2, **(resources or {})}
        device = ctx.device if ctx.device not in (None, "auto") else (
            "cuda" if options["num_gpus"] else "cpu")
        where = WorkerContext.of(ctx, "cuda" if str(device).startswith("cuda") else str(device),
                         max(1, int(options["num_cpus"])))  # Ray's GPU is cuda:0 in the task
        remote = ray.remote(task).options(**options)
        data_ref = ray.put(data)
        first, rest = _waves(data, missing)
        pending, teachers = {}, {}
        for run in first:
            ref = remote.remote(data_ref, run, where)
            pending[ref] = run
            teachers[run_id(run_key(data, run))] = ref
        for run in rest:
            a_id = run_id(run_key(data, run.model_a))
            after = [teachers[a_id]] if run.recipe.needs_model_a and a_id in teachers else []
            pending[remote.remote(data_ref, run, where, *after)] = run
        planned = planned or len(pending)
        failures = []
        with bar(total=planned, initial=planned - len(pending), show=ctx.progress,
                 desc="runs", unit="run") as progress:
            try:
                while pending:
                    (ref,), _ = ray.wait(list(pending), num_returns=1)
                    run = pending.pop(ref)
                    try:
                        ray.get(ref)
                    except Exception as error:  # noqa: BLE001 - reported at the end
                        failures.append((run, _error_text(error)))
                        progress.set_postfix(failed=len(failures))
                    progress.update(1)
            except KeyboardInterrupt:
                for ref in pending:
                    ray.cancel(ref)
                raise
        return failures
    finally:
        if started:
            ray.shutdown()


__all__ = ["EXECUTORS", "SweepError", "check_executor", "run_grid", "stored_rows",
           "pool_runs", "ray_runs", "run_one", "MissingRunError"]
