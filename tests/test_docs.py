"""The README is the front door (short, no typed results, a link per topic) and docs/ holds the
how-to: every link resolves, every command they name exists (make targets, semisup
subcommands, files)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from semisup_utils import cli
from semisup_utils.book import findings

ROOT = Path(__file__).absolute().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
TOPICS = ["data.md", "running.md", "experiments.md", "testing.md", "ray.md", "timings.md",
          "ARCHITECTURE.md"]


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    heading = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return heading.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    body = re.sub(r"```.*?```", "", text(path), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", body, flags=re.M)}


def links(path: Path):
    for target in re.findall(r"\]\(([^)\s]+)\)", text(path)):
        if not re.match(r"[a-z]+:", target):
            yield target


def test_the_readme_is_short_and_links_every_topic_page():
    readme = text(README)
    assert len(readme.splitlines()) <= 150
    for page in TOPICS:
        assert f"(docs/{page}" in readme, f"README.md does not link docs/{page}"


def test_the_readme_types_no_result():
    """Results live in the book; the README's findings come from the store, between the
    markers (`semisup findings --readme README.md`)."""
    readme = text(README)
    start, end = findings.README_MARKERS
    assert readme.count(start) == 1 and readme.count(end) == 1
    assert readme.index(start) < readme.index(end)
    outside = readme[:readme.index(start)] + readme[readme.index(end):]
    assert "book/figures/headline.png" in outside[:readme.index(start)]
    typed = re.findall(r"\d+(?:\.\d+)?\s?%|±|\b\d+\.\d+ points\b", outside)
    assert not typed, f"results typed into README.md: {typed}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves(page):
    for target in links(page):
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        assert path.exists(), f"{page.name}: link to {target}: no such file"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{page.name}: link to {target}: no such heading"


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", text(ROOT / "Makefile"), flags=re.M))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_commands_they_name_exist(page):
    body = text(page)
    targets = makefile_targets()
    for target in re.findall(r"(?:`|^\s*|&& )make ([a-z][\w-]*)", body, flags=re.M):
        assert target in targets, f"{page.name}: `make {target}`: no such target"
    commands = set(subcommands().choices)
    for command in re.findall(r"(?:`|^\s*|&& |bin/|=\S+ )semisup ([a-z]+)\b", body,
                              flags=re.M):
        assert command in commands, f"{page.name}: `semisup {command}`: no such subcommand"
    for path in re.findall(r"\b((?:bench|tests|notebooks|semisup_utils)/[\w/.-]+\.(?:py|cfg))",
                           body):
        assert (ROOT / path).exists(), f"{page.name}: {path}: no such file"


def test_the_readmes_nbval_command_is_documented_and_a_target():
    """The exact nbval commands of the README are the ones docs/testing.md explains."""
    readme, testing = text(README), text(ROOT / "docs" / "testing.md")
    for command in ("make nbval CHAPTERS=02_pca",
                    ".venv/bin/python -m pytest tests/nbval/02_pca.ipynb --nbval"):
        assert command in readme and command in testing
    assert "nbval" in makefile_targets()
    assert (ROOT / "tests" / "nbval" / "02_pca.ipynb").is_file()


def test_the_papermill_command_names_a_chapter_and_its_parameters():
    readme, running = text(README), text(ROOT / "docs" / "running.md")
    command = ("jupytext --to ipynb notebooks/05_models_abc.py -o /tmp/05.ipynb && papermill "
               "/tmp/05.ipynb /tmp/05-out.ipynb -p profile published -p M 1000")
    assert command in readme and command in running
    source = text(ROOT / "notebooks" / "05_models_abc.py")
    assert re.search(r"^M = ", source, flags=re.M), "chapter 5 has no parameter M"


def subcommands():
    return cli.build_parser()._subparsers._group_actions[0]


def test_compare_is_chapter_9s_sweep():
    """`semisup --help` names the chapter whose sweep `semisup compare` runs (09_beyond_sweep:
    the best recipes over M and seeds at equal compute)."""
    line = next(a.help for a in subcommands()._choices_actions if a.dest == "compare")
    assert line.startswith("chapter 9's sweep")
