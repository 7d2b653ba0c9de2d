"""The process pool's workers end with their parent (issue 35, item 4): ``kill -TERM`` of
``semisup run``/``sweep`` (what ``timeout`` and CI cancellation send) or a parent killed outright
must not leave workers training, writing rows and holding memory.

A real parent process runs :func:`executors.pool_runs` with a fake job (each worker records its
pid and then writes a line every 0.1 s, as a run writes its row at the end), so no training.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

PARENT = textwrap.dedent("""
    import os, sys, time
    from types import SimpleNamespace

    from semisup_utils.study import executors
    from semisup_utils.study.recipes import RECIPES
    from semisup_utils.study.runs import Context, Run
    from semisup_utils.study.store import ResultsStore
    from semisup_utils.training.budget import Budget

    def fake_run(run):
        with open(os.environ["PIDS"], "a") as f:
            f.write(f"{os.getpid()}\\n")
        while True:  # stands for training; each line stands for a row written
            with open(os.environ["ROWS"], "a") as f:
                f.write(f"{os.getpid()} {time.time()}\\n")
            time.sleep(0.1)

    if __name__ == "__main__":
        executors._execute_in_worker = fake_run  # what the pool's workers execute
        tmp = os.environ["TMP"]
        runs = [Run(500, seed, RECIPES["A"], Budget.report(1)) for seed in (0, 1)]
        ctx = Context(store=ResultsStore(tmp), cache_dir=tmp, profile="test", progress=False)
        executors.pool_runs(SimpleNamespace(fingerprint="fake", n_train=1000), runs, ctx,
                            workers=2)
""")


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by whoever adopted it, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_pool_workers_end_with_their_parent(tmp_path, sig):
    script, pids, rows = tmp_path / "parent.py", tmp_path / "pids", tmp_path / "rows"
    script.write_text(PARENT)
    env = {**os.environ, "PIDS": str(pids), "ROWS": str(rows), "TMP": str(tmp_path),
           "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    parent = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path)
    try:
        started = _wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2, 120)
        assert started, "the pool's two workers did not start"
        workers = [int(p) for p in pids.read_text().split()]
        parent.send_signal(sig)
        assert parent.wait(30) == -sig  # it still ends as the signal ends it
        ended = _wait_for(lambda: not any(map(_alive, workers)), 5)
        survivors = [p for p in workers if _alive(p)]
        assert ended, f"workers {survivors} outlived their parent"
        written = rows.stat().st_size
        time.sleep(0.5)
        assert rows.stat().st_size == written, "the workers went on writing"
    finally:
        parent.kill()
        for pid in (int(p) for p in pids.read_text().split()) if pids.exists() else ():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_sigterm_ends_the_workers_first_then_does_what_it_did_before():
    """The parent's handler (the prompt path: workers end before the parent, not after it)."""
    from semisup_utils.study.executors import _workers_end_on_sigterm

    events = []

    class Pool:
        def terminate_workers(self):
            events.append("workers ended")

    previous = signal.signal(signal.SIGTERM, lambda *_: events.append("previous handler"))
    try:
        with _workers_end_on_sigterm(Pool()):
            os.kill(os.getpid(), signal.SIGTERM)
            assert _wait_for(lambda: len(events) == 2, 5)
        assert events == ["workers ended", "previous handler"]
        os.kill(os.getpid(), signal.SIGTERM)  # after the pool: the previous handler alone
        assert _wait_for(lambda: len(events) == 3, 5) and events[-1] == "previous handler"
    finally:
        signal.signal(signal.SIGTERM, previous)
