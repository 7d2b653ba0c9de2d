"""JupyterLab on the chapters: a save rewrites nothing that was not edited.

With its cell tags open, Lab's property inspector gives every cell it selects ``tags: []``.
jupytext drops empty tags only on its default metadata-filter path; the project's
``cell_metadata_filter = "tags,-all"`` (``jupytext.toml``) keeps them, and an unedited chapter
would be saved with ``# %% [markdown] tags=[]`` lines. ``strip_empty_tags`` is a Jupyter
server pre-save hook that removes them; ``make lab`` writes ``SERVER_CONFIG`` into the
environment's own Jupyter config (``python -m semisup_utils.book.lab DIR``).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SERVER_CONFIG = {"ContentsManager": {"pre_save_hook": "semisup_utils.book.lab.strip_empty_tags"}}
CONFIG_NAME = "semisup.json"

# a percent-format cell marker ending in empty tags: "# %% tags=[]", "# %% [markdown] tags=[]"
_EMPTY_TAGS = re.compile(r"^(# %%.*?) tags=\[\]$", re.MULTILINE)


def strip_empty_tags(model, **kwargs):
    """Drop empty cell tags from a model about to be saved, in place.

    jupytext converts a notebook to its text before the server's save runs this hook, so a
    chapter arrives as a text file (its cell markers are edited); a notebook (``.ipynb``)
    arrives as cells (their metadata are edited).
    """
    content = model.get("content")
    if model.get("type") == "notebook" and content is not None:
        for cell in content["cells"]:
            if cell.get("metadata", {}).get("tags") == []:
                del cell["metadata"]["tags"]
    elif model.get("type") == "file" and isinstance(content, str):
        model["content"] = _EMPTY_TAGS.sub(r"\1", content)


def write_server_config(folder: str | Path) -> Path:
    """Write the hook's server config into ``folder`` (a ``jupyter_server_config.d``)."""
    path = Path(folder) / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(SERVER_CONFIG, indent=2) + "\n")
    return path


if __name__ == "__main__":
    print(write_server_config(sys.argv[1]))
