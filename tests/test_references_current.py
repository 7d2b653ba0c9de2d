"""The nbval references must hold the chapters' current code: nbval re-executes the code stored
in tests/nbval/*.ipynb, so a chapter edited without `make references` would go untested."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from semisup_utils.book import chapters as runner

REFERENCES = Path(__file__).parent / "nbval"


def _code(cells):
    return [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            for c in cells if c["cell_type"] == "code"
            and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_reference_holds_the_current_code(chapter, tmp_path):
    reference = REFERENCES / f"{chapter.stem}.ipynb"
    assert reference.exists(), f"no nbval reference for {chapter.stem}: run `make references`"
    current = json.loads(runner.convert(chapter, tmp_path / "c.ipynb").read_text())
    stored = json.loads(reference.read_text())
    assert _code(stored["cells"]) == _code(current["cells"]), (
        f"{chapter.name} changed since its nbval reference was made: run `make references` "
        "and review `git diff tests/nbval`")
