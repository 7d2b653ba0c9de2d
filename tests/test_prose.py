"""No result is typed into a chapter's prose (issue 32, item 2).

A number in a chapter's Markdown that came from a run goes stale the moment the chapter is
rerun with another profile or parameters. So every such number is computed when the chapter
runs: glued (``{glue:text}`name``` with :func:`semisup_utils.text.prose.glue`) or written by a cell.

The rule, on each Markdown cell of ``notebooks/*.py`` (code spans, math, roles and link targets
removed first): no percentage ("69.1%", "35 %"), no decimal number ("1.9", "0.75"), no signed
number ("+1.9", "−0.3") and no count of points ("3 points"): the forms a result takes. Whole
numbers that describe the design (M = 5,000, 50 epochs, 32,122 parameters, 224x224 pixels)
pass. The allowlist holds the protocol's constants, each with its reason; the report's own
figures are not constants here: they come from :mod:`semisup_utils.book.original_report`.
"""
from __future__ import annotations

import re

import jupytext
import pytest

from semisup_utils.book import chapters as runner
from semisup_utils.text import prose

# protocol constants a chapter may name in words, not results: (the token, why it is fixed)
ALLOWED = {
    "80%": "the share of the pixel variance the report's PCA keeps",
    "0.1": "the report's loss weight of inferred labels (and its ±0.1 jitter)",
    "0.5": "the report's dropout rate",
    "10%": "the share of each class in CIFAR-10 (a property of the data)",
    "1%": "the report's translation, left out as under half a pixel",
    "5%": "the level of the paired t-test",
}

RESULT = re.compile(
    r"(?<![\w.])(?:"
    r"[+\u2212-]?\d[\d,]*(?:\.\d+)?\s?%"          # a percentage
    r"|[+\u2212]\d[\d,]*(?:\.\d+)?"              # a signed number
    r"|\d[\d,]*\.\d+"                            # a decimal number
    r"|\d[\d,]*(?:\.\d+)?\s+points?\b"           # a count of points
    r")")

# what is not prose: code spans, math, MyST roles with their targets, link targets, labels
NOT_PROSE = re.compile(r"`[^`]*`|\$[^$]*\$|\{[\w:-]+\}`[^`]*`|\]\([^)]*\)|^\([\w-]+\)=$",
                       re.MULTILINE)


def typed_results(markdown: str) -> list[str]:
    """The result-like numbers in a Markdown text that the allowlist does not name."""
    text = NOT_PROSE.sub(" ", markdown)
    found = []
    for match in RESULT.finditer(text):
        token = match.group(0).replace(" ", "").lstrip("±")
        if token.rstrip("%") and token not in ALLOWED:
            found.append(text[max(0, match.start() - 30):match.end() + 10].replace("\n", " "))
    return found


def test_the_rule_catches_typed_results_and_passes_design_numbers():
    assert typed_results("students gain 1.9, 1.0 and −0.3 points")
    assert typed_results("the teacher labels 75% of the images")
    assert typed_results("a speed-up of 2.27x")
    assert typed_results("It costs 3 points at M=40,000")
    assert typed_results("+4 over A")
    assert not typed_results("M = 500, 5,000 and 40,000; 32,122 parameters; 224x224 images")
    assert not typed_results("gains {glue:text}`gain` over A; `lr = 1e-3`; $p < 0.05$")
    assert not typed_results("weight 0.1 in the loss; PCA keeps 80% of the variance")
    assert not typed_results("(teachers-choice)=\n# Choosing\nsee [the docs](https://x.org/1.5)")


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_no_result_is_typed_into_a_chapter(chapter):
    cells = [c for c in jupytext.read(chapter).cells if c.cell_type == "markdown"]
    typed = [hit for cell in cells for hit in typed_results(cell.source)]
    assert not typed, (f"{chapter.name}: {len(typed)} result(s) typed into the prose; compute "
                       "them (semisup_utils.text.prose.glue and {glue:text}) or reword:\n  "
                       + "\n  ".join(typed))


def test_numbers_are_formatted_one_way():
    assert prose.percent(69.125) == "69.1%"
    assert prose.signed(-0.26) == "\u22120.3" and prose.signed(1.94) == "+1.9"
    assert prose.signed(0.04) == "±0.0"
    assert prose.points(1.0) == "+1.0 points"
    assert prose.number(40000, 0) == "40,000"
    assert prose.mean_sd([69.0, 70.0, 68.0]) == "69.0\u00a0±\u00a01.0"
    assert prose.mean_sd([71.2]) == "71.2"
    assert prose.percent(float("nan")) == "–" and prose.mean_sd([]) == "–"
    assert prose.direction(-2.04) == "2.0 points below"
    assert prose.direction(0.01) == "level with"
    assert prose.listing([500, "5,000", "40,000"]) == "500, 5,000 and 40,000"


def test_strings_from_the_store_cannot_become_markup():
    hostile = "cpu <img src=x onerror=alert(1)><script>x</script> *bold* [a](b)"
    safe = prose.escape(hostile)
    assert "<" not in safe and "<script>" not in safe
    # a link needs its brackets; parentheses alone are text (and stay as written)
    assert "\\*bold\\*" in safe and "\\[a\\](b)" in safe
