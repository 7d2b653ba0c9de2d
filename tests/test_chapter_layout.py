"""The chapters as a reader of the book sees them (issue 17, item 10).

- Every code line fits the page: at a 1280-pixel window the book's code column holds 73
  characters (`docs/screenshots/take.py` measures it and reports any line or table cut off),
  so chapter code is wrapped to CODE_WIDTH; longer lines would scroll sideways, cut off.
- The setup cell (imports, parameters, data, context) is collapsed behind a toggle
  (`hide-input`: its printed lines stay visible), so the story starts with the first call a
  reader learns from; the runner leaves the parameters cells out of the book (`remove-cell`).
- Parameters are read through `notebook.parameters(globals())`, one short line, which also
  refuses a name the chapter does not declare.
"""
from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

from semisup_utils.book import chapters as runner

CODE_WIDTH = 72


def _code_cells(chapter):
    return [c for c in jupytext.read(chapter).cells if c.cell_type == "code"]


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_code_lines_fit_the_page(chapter):
    long = [f"{len(line)}: {line}" for cell in _code_cells(chapter)
            for line in cell.source.splitlines() if len(line) > CODE_WIDTH]
    assert not long, (f"{chapter.name}: {len(long)} code line(s) longer than {CODE_WIDTH} "
                      "characters (cut off in the book):\n" + "\n".join(long))


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_setup_cell_is_collapsed_and_reads_the_parameters_in_one_call(chapter):
    cells = _code_cells(chapter)
    assert "parameters" in cells[0].metadata.get("tags", [])
    setup = cells[1]
    assert "hide-input" in setup.metadata.get("tags", []), (
        f"{chapter.name}: tag its setup cell hide-input")
    assert "P = notebook.parameters(globals())" in setup.source
    assert not any("resolve(" in c.source for c in cells), (
        f"{chapter.name}: read the parameters with notebook.parameters(globals())")


def test_every_page_of_the_book_has_a_screenshot():
    """docs/screenshots/take.py shoots the pages _toc.yml lists (page one, the chapters, the
    appendices); each page is rendered from book/, every chapter is a page, each page has its
    PNG committed and no PNG is left from a page the book no longer has."""
    import importlib.util

    root = runner.PROJECT_ROOT
    spec = importlib.util.spec_from_file_location("take", root / "docs/screenshots/take.py")
    take = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(take)
    pages = take.pages_of_toc(root / "_toc.yml")
    assert len(pages) == len(set(pages)), "_toc.yml names a page twice"
    for page in pages:
        take.source_of(page, root)  # book/<page>.ipynb or .md
    absent = [c.stem for c in runner.chapters() if f"book/{c.stem}" not in pages]
    assert not absent, f"chapters _toc.yml leaves out: {', '.join(absent)}"
    shots = root / "docs" / "screenshots"
    taken = {p.stem for p in shots.glob("*.png")}
    names = {Path(p).name for p in pages}
    missing, extra = sorted(names - taken), sorted(taken - names)
    assert not (missing or extra), (
        f"pages without a screenshot: {', '.join(missing) or 'none'}; screenshots of no page "
        f"(delete them): {', '.join(f'{n}.png' for n in extra) or 'none'}. Retake: "
        "make html && bash docs/screenshots/take.sh")


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_a_chapter_reads_the_store_through_its_context(chapter):
    """Where a chapter's runs live is said once, by `notebook.context` (issue 33, item 4:
    chapter 11 opened the `ResultsStore` itself)."""
    code = "\n".join(cell.source for cell in _code_cells(chapter))
    assert "ResultsStore" not in code, f"{chapter.name} opens the results store itself"
