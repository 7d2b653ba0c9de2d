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

from semisup_utils.book import chapters as runner, lab

pytest.importorskip("jupyter_server", reason="jupyter_server (the dev extra) is needed for "
                    "jupytext's contents manager: pip install -e '.[dev]'")

CONFIG = runner.PROJECT_ROOT / "jupytext.toml"


def _open_and_save(chapter, tmp_path, edit=None):
    """Lab's round trip: GET the file as a notebook, (let the kernel/user touch it,) PUT it,
    through jupytext's contents manager configured as `make lab` configures the server."""
    from jupytext import TextFileContentsManager
    from traitlets.config.loader import JSONFileConfigLoader

    shutil.copy(CONFIG, tmp_path / CONFIG.name)
    shutil.copy(chapter, tmp_path / chapter.name)
    server_config = lab.write_server_config(tmp_path / "jupyter_server_config.d")
    config = JSONFileConfigLoader(server_config.name, str(server_config.parent)).load_config()
    manager = TextFileContentsManager(root_dir=str(tmp_path), config=config)
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


def _inspector_clicked(notebook):
    """What Lab's property inspector does with its cell tags open: every untagged cell it
    selects gets ``tags: []``."""
    for cell in notebook.cells:
        cell.metadata.setdefault("tags", [])


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_empty_tags_from_the_property_inspector_are_not_saved(chapter, tmp_path):
    """jupytext drops empty tags only on its default filter path; ``tags,-all`` keeps them, so
    the pre-save hook that ``make lab`` configures strips them (``semisup_utils.book.lab``)."""
    assert _open_and_save(chapter, tmp_path, _inspector_clicked) == chapter.read_bytes(), (
        f"{chapter.name}: the empty tags Lab's property inspector adds were written "
        "(`tags=[]` in a cell marker)")


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


def test_lab_s_async_manager_runs_the_hook(tmp_path):
    """Lab's server uses jupytext's manager derived from the async large-file manager: the hook
    runs there too."""
    import asyncio

    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
    from jupytext import build_async_jupytext_contents_manager_class
    from traitlets.config import Config

    chapter = runner.chapters()[1]
    shutil.copy(CONFIG, tmp_path / CONFIG.name)
    shutil.copy(chapter, tmp_path / chapter.name)
    manager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)(
        root_dir=str(tmp_path), config=Config(lab.SERVER_CONFIG))

    async def round_trip():
        model = await manager.get(chapter.name, content=True, type="notebook")
        _inspector_clicked(model["content"])
        await manager.save(model, chapter.name)

    asyncio.run(round_trip())
    assert (tmp_path / chapter.name).read_bytes() == chapter.read_bytes()


def test_the_hook_strips_only_empty_tags():
    text = ('# %% tags=[]\nx = 1\n\n# %% [markdown] tags=[]\n# tags=[]\n\n'
            '# %% tags=["parameters"]\nM = None\n')
    model = {"type": "file", "format": "text", "content": text}
    lab.strip_empty_tags(model=model, path="notebooks/x.py")
    assert model["content"] == ('# %%\nx = 1\n\n# %% [markdown]\n# tags=[]\n\n'
                                '# %% tags=["parameters"]\nM = None\n')
    notebook = {"type": "notebook", "content": {"cells": [
        {"metadata": {"tags": []}}, {"metadata": {"tags": ["hide-input"]}}, {"metadata": {}}]}}
    lab.strip_empty_tags(model=notebook, path="x.ipynb")
    assert [c["metadata"] for c in notebook["content"]["cells"]] == [
        {}, {"tags": ["hide-input"]}, {}]
