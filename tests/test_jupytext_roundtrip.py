"""Opening a chapter in JupyterLab and saving it without an edit must rewrite nothing.

JupyterLab reads and writes the ``.py`` chapters through jupytext's contents manager; if a save
added metadata (jupytext's version, its filters, the running kernel's name), every chapter
opened in Lab would show as modified and autosave would rewrite its header. Here each chapter
is opened and saved the way Lab does it, in a temporary copy beside ``jupytext.toml``, and must
come back byte for byte.
"""
from __future__ import annotations

import shutil

import pytest

from semisup_utils import runner

pytest.importorskip("jupyter_server", reason="jupyter_server (the dev extra) is needed for "
                    "jupytext's contents manager: pip install -e '.[dev]'")

CONFIG = runner.PROJECT_ROOT / "jupytext.toml"


def _open_and_save(chapter, tmp_path, edit=None):
    """Lab's round trip: GET the file as a notebook, (let the kernel/user touch it,) PUT it."""
    from jupytext import TextFileContentsManager

    shutil.copy(CONFIG, tmp_path / CONFIG.name)
    shutil.copy(chapter, tmp_path / chapter.name)
    manager = TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get(chapter.name, content=True, type="notebook")
    if edit is not None:
        edit(model["content"])
    manager.save(model, chapter.name)
    return (tmp_path / chapter.name).read_bytes()


def _kernel_ran(notebook):
    """What Lab adds once the chapter's kernel has started and a cell ran: the kernelspec of
    the environment's "python3" kernel, language_info, and per-cell execution metadata."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    notebook.metadata["kernelspec"] = {"display_name": spec.display_name,
                                       "language": spec.language, "name": "python3"}
    notebook.metadata["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
        "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3", "version": "3.11.2"}
    for cell in notebook.cells:
        cell.metadata["collapsed"] = False
        cell.metadata["execution"] = {"iopub.status.busy": "2026-11-26T00:00:00.000000Z"}


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_open_and_save_in_lab_rewrites_nothing(chapter, tmp_path):
    original = chapter.read_bytes()
    assert _open_and_save(chapter, tmp_path) == original, (
        f"saving {chapter.name} unedited through jupytext changes it: adjust jupytext.toml's "
        "filters or the chapter's header (see the diff of a saved copy)")


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_saving_after_the_kernel_ran_rewrites_nothing(chapter, tmp_path):
    assert _open_and_save(chapter, tmp_path, _kernel_ran) == chapter.read_bytes(), (
        f"{chapter.name}: what the kernel adds in Lab (its display name, language_info, cell "
        "execution metadata) would be written back: the header's kernelspec must be the "
        "environment's python3 kernel's")


def test_a_real_edit_is_saved(tmp_path):
    """The round trip is not a no-op by construction: a new cell and a tag reach the file."""
    chapter = runner.chapters()[0]

    def edit(notebook):
        from nbformat.v4 import new_code_cell

        notebook.cells.append(new_code_cell("print('added in Lab')"))
        notebook.cells[1].metadata["tags"] = ["hide-input"]

    saved = _open_and_save(chapter, tmp_path, edit).decode()
    assert saved != chapter.read_text()
    assert saved.rstrip().endswith("print('added in Lab')")
    assert 'tags=["hide-input"]' in saved
