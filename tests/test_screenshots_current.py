"""The committed screenshots show the book as it is (issue 32, items 4 and 7).

`docs/screenshots/take.py` records in `docs/screenshots/manifest.json` what it photographed:
each page's source in book/ by its sha256 (a notebook normalised, so that executing an
unchanged chapter again keeps its hash), the page's height and the audit's result. These tests
recompute the hashes and fail naming the pages changed since their screenshot, and fail when a
committed screenshot did not pass the audit (too tall, something cut off, "NaN", a machine path).
"""
from __future__ import annotations

import copy
import importlib.util
import json

import pytest

from semisup_utils.book import chapters as runner

ROOT = runner.PROJECT_ROOT
SHOTS = ROOT / "docs" / "screenshots"
RETAKE = "make html && bash docs/screenshots/take.sh"


def _take():
    spec = importlib.util.spec_from_file_location("take", SHOTS / "take.py")
    take = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(take)
    return take


take = _take()


def _manifest() -> dict:
    path = SHOTS / take.MANIFEST
    assert path.exists(), (f"{path.relative_to(ROOT)} is missing: the screenshots record "
                           f"nothing of what they show. Retake them: {RETAKE}")
    return json.loads(path.read_text())


def _executed(source: list[str], output: str, when: str, run_dir: str) -> dict:
    """A notebook as papermill leaves it, executed at ``when`` from ``run_dir``."""
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3"}, "papermill": {
            "duration": 35.1, "start_time": f"{when}:00+00:00", "end_time": f"{when}:35+00:00",
            "input_path": f"{run_dir}/10_teachers.ipynb", "exception": None,
            "output_path": f"{run_dir}/10_teachers.executing.ipynb",
            "parameters": {"profile": "published"}, "version": "2.7.0"}},
        "cells": [{
            "cell_type": "code", "execution_count": 1, "id": when[-5:],
            "metadata": {"tags": ["hide-input"],
                         "execution": {"iopub.execute_input": f"{when}:01Z",
                                       "shell.execute_reply": f"{when}:02Z"},
                         "papermill": {"duration": 1.2, "start_time": f"{when}:01",
                                       "end_time": f"{when}:02", "exception": False,
                                       "status": "completed"}},
            "source": source,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": [output]}],
        }],
    }


def _hash(tmp_path, nb: dict, name: str) -> str:
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(nb))
    return take.source_hash(path)


def test_executing_an_unchanged_chapter_again_keeps_its_hash(tmp_path):
    first = _executed(["x = 1\n", "print(x)"], "1\n", "2026-12-03T09:55", "/tmp/run-a")
    again = _executed(["x = 1\nprint(x)"], "1\n", "2026-12-04T11:02", "/tmp/run-b")
    assert _hash(tmp_path, first, "first") == _hash(tmp_path, again, "again")
    edited = _executed(["x = 2\nprint(x)"], "2\n", "2026-12-03T09:55", "/tmp/run-a")
    assert _hash(tmp_path, edited, "edited") != _hash(tmp_path, first, "first")
    output = _executed(["x = 1\nprint(x)"], "2\n", "2026-12-03T09:55", "/tmp/run-a")
    assert _hash(tmp_path, output, "output") != _hash(tmp_path, first, "first")
    profile = copy.deepcopy(first)
    profile["metadata"]["papermill"]["parameters"]["profile"] = "laptop"
    assert _hash(tmp_path, profile, "profile") != _hash(tmp_path, first, "first")
    tags = copy.deepcopy(first)
    tags["cells"][0]["metadata"]["tags"] = []
    assert _hash(tmp_path, tags, "tags") != _hash(tmp_path, first, "first")


def test_a_markdown_page_is_hashed_as_it_is(tmp_path):
    page = tmp_path / "glossary.md"
    page.write_text("# Glossary\n")
    before = take.source_hash(page)
    page.write_text("# Glossary\n\nterm\n: definition\n")
    assert take.source_hash(page) != before


@pytest.mark.parametrize("text", [
    "Data source: /work/shared/data/cifar10-jpeg.tar.gz (sha256 1a2b)",
    "Data source: imagefolder-tarball:/work/shared/data/cifar10-jpeg.tar.gz; 50000 training",
    "cached in /home/user/.cache/semisup/embeddings.npy",
    "written to /tmp/semisup-run-z9p1qo3s/10_teachers.ipynb",
    "HOME=/root",
    "(/Users/ana/cifar10.tar.gz)",
    r"read C:\Users\ana\cifar10.tar.gz",
    "figure at file:///work/main/book/figures/headline.png",
])
def test_the_audit_finds_a_machine_path(text):
    assert take.machine_paths(text), text


@pytest.mark.parametrize("text", [
    "see https://github.com/home/tmp/work and http://127.0.0.1:8000/tmp/page.html",
    "https://example.org:443/Users/x, //cdn.example.org/var/lib.js",
    "accuracy/home team, 50,000/M images, known/unknown, and/or",
    "one-cycle / bf16, ratio 3:1, ~/.cache/semisup",
])
def test_a_url_or_a_fraction_is_not_a_machine_path(text):
    assert take.machine_paths(text) == []


def test_the_manifest_names_every_page_and_its_screenshot_is_current():
    """Each page of _toc.yml was photographed from the book/ file it is rendered from now."""
    manifest = _manifest()
    pages = take.pages_of_toc(ROOT / "_toc.yml")
    recorded = manifest["pages"]
    never = [p for p in pages if p not in recorded]
    stale = [p for p in pages if p in recorded
             and recorded[p]["sha256"] != take.source_hash(take.source_of(p, ROOT))]
    gone = [p for p in recorded if p not in pages]
    assert not (never or stale or gone), (
        "the committed screenshots do not show the book as it is: "
        f"never photographed: {', '.join(never) or 'none'}; "
        f"changed in book/ since photographed: {', '.join(stale) or 'none'}; "
        f"photographed but no longer in _toc.yml: {', '.join(gone) or 'none'}. "
        f"Retake them all: {RETAKE} (or only these pages: bash docs/screenshots/take.sh "
        f"{' '.join(never + stale)}, after make html)")


def test_every_committed_screenshot_passed_the_audit():
    """Taken at the default width, no page above the height limit, nothing cut off, no NaN, no
    machine path (take.py prints what it found on each page)."""
    manifest = _manifest()
    assert manifest["width"] == take.DEFAULT_WIDTH, (
        f"screenshots taken at {manifest['width']} px; the book is checked at "
        f"{take.DEFAULT_WIDTH}: {RETAKE}")
    failed = {page: entry["problems"] for page, entry in manifest["pages"].items()
              if not entry["passed"] or entry["height"] > take.MAX_HEIGHT}
    assert not failed, "pages that failed the screenshot audit: " + "; ".join(
        f"{page}: {', '.join(problems) or 'too tall'}" for page, problems in failed.items())
