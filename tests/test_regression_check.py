"""The regression check can fail: deliberate breakages of the package fail the nbval suite.

The nbval references compare trained numbers within a tolerance (tests/nbval_tolerance.py),
wide enough for another CPU or kernel set. These tests show it is still narrow enough: each
breakage below is a plausible bug, injected into the notebook's kernel through a
``sitecustomize`` module (the package's files are not touched), and the chapter that should
notice it is re-run under nbval in a fresh store. Each must fail on differing outputs, not on
an exception.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).absolute().parents[1]
REFERENCES = REPO_ROOT / "tests" / "nbval"

BREAKAGES = {
    "inferred labels weigh 1 instead of 0.1": ("05_models_abc", """
        from dataclasses import replace
        import semisup_utils.teachers.targets as targets
        original = targets.training_set
        targets.training_set = lambda y, known, unknown, proba, recipe, **kw: original(
            y, known, unknown, proba, replace(recipe, weight=1.0), **kw)
        """),
    "augmentation given 0-255 pixels (the division by 255 forgotten)": ("05_models_abc", """
        import semisup_utils.training.train as train
        original = train.augment_batch
        train.augment_batch = lambda x, generator, **kw: original(x * 255, generator, **kw)
        """),
    "cluster-to-label map off by one": ("03_clustering", """
        import semisup_utils.teachers.label_inference as labels
        original = labels.CLUSTER_MAPS["majority"]
        labels.CLUSTER_MAPS["majority"] = lambda counts: (original(counts) + 1) % counts.shape[1]
        """),
    "teacher fitted on shuffled labels": ("07_label_inference", """
        import numpy as np
        import semisup_utils.teachers.label_inference as labels
        original = labels.METHODS["logreg"]
        labels.METHODS["logreg"] = lambda features, known, y, **kw: original(
            features, known, np.random.default_rng(0).permutation(y), **kw)
        """),
}


def _fresh_store_and_cache(tmp_path: Path) -> dict:
    """A new store and model/label cache (so nothing trained before is reused), sharing the
    session's decoded data and embeddings, which no breakage touches."""
    env = dict(os.environ)
    cache = tmp_path / "cache"
    cache.mkdir()
    outer = os.environ.get("SEMISUP_CACHE")
    for shared in ("data", "embeddings"):
        if outer and (Path(outer) / shared).is_dir():
            (cache / shared).symlink_to(Path(outer) / shared)
    env["SEMISUP_CACHE"] = str(cache)
    env["SEMISUP_RESULTS"] = str(tmp_path / "results")
    return env


def run_reference(chapter: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(REFERENCES / f"{chapter}.ipynb"), "--nbval",
         "--nbval-sanitize-with", str(REFERENCES / "sanitize.cfg"), "--nbval-current-env",
         "-p", "no:cacheprovider", "-q", "--color=no"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("name", BREAKAGES)
def test_breakage_fails_the_suite(name, tmp_path, shared_data):
    chapter, patch = BREAKAGES[name]
    breakage = tmp_path / "breakage"
    breakage.mkdir()
    (breakage / "sitecustomize.py").write_text(textwrap.dedent(patch))
    env = _fresh_store_and_cache(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(breakage), env.get("PYTHONPATH")]))
    result = run_reference(chapter, env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"{name}: nbval on {chapter} did not fail:\n{output[-3000:]}"
    assert "Cell outputs differ" in output, output[-3000:]
    assert "raised uncaught exception" not in output, (
        f"{name}: the chapter crashed instead of printing different numbers:\n{output[-3000:]}")
