"""Re-make the nbval reference executions: every chapter at the smoke profile.

Run on purpose (``make references``, or ``make references CHAPTERS="10"`` for some chapters)
after a change that is meant to alter printed results; review ``git diff tests/nbval`` before
committing. Uses an empty results store and cache, as
the test run does, so the references show freshly computed results.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def make_references(output_dir: Path, chapters=()) -> None:
    from .runner import run

    with tempfile.TemporaryDirectory(prefix="semisup-refs-") as tmp:
        os.environ["SEMISUP_RESULTS"] = str(Path(tmp) / "results")
        os.environ["SEMISUP_CACHE"] = str(Path(tmp) / "cache")
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # as `make test` (tests/conftest.py)
        run(list(chapters), "smoke", {}, output_dir)


if __name__ == "__main__":
    make_references(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/nbval"), sys.argv[2:])
