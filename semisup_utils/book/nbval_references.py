"""Re-make the nbval reference executions: every chapter at the smoke profile.

Run on purpose (``make references``, or ``make references CHAPTERS="10"`` for some chapters)
after a change that is meant to alter printed results; review ``git diff tests/nbval`` before
committing. Uses an empty results store and cache, as
the test run does, so the references show freshly computed results.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


def make_references(output_dir: Path, chapters=(), run=None) -> list[str]:
    """Execute the chapters at the smoke profile into ``output_dir``; returns their names.
    Some chapters read the runs earlier ones stored (11 reads 06's sweep) and the test suite
    executes them in order into one store, so for a selection every chapter up to the last
    one asked for runs too, and only those asked for are written."""
    from .chapters import chapters as all_chapters
    from .chapters import find_chapters

    if run is None:
        from .chapters import run
    asked = find_chapters(list(chapters))
    upto = [c for c in all_chapters() if c.stem <= max(p.stem for p in asked)]
    with tempfile.TemporaryDirectory(prefix="semisup-refs-") as tmp:
        os.environ["SEMISUP_RESULTS"] = str(Path(tmp) / "results")
        os.environ["SEMISUP_CACHE"] = str(Path(tmp) / "cache")
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # as `make test` (tests/conftest.py)
        executed = Path(tmp) / "executed"
        run([c.stem for c in upto], "smoke", {}, executed)
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        for chapter in asked:
            shutil.copyfile(executed / f"{chapter.stem}.ipynb",
                            Path(output_dir) / f"{chapter.stem}.ipynb")
    return [c.stem for c in asked]


if __name__ == "__main__":
    make_references(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/nbval"), sys.argv[2:])
