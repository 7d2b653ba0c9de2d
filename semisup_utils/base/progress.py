"""Progress bars (tqdm) that show in a terminal and stay out of notebooks and logs.

``show=None`` (the default everywhere) lets tqdm decide: a bar on an interactive terminal,
nothing where stderr is not one (an executed notebook, a CI log), so that executed chapters
hold no timing noise. ``show=True`` forces a bar, ``show=False`` hides it.
"""
from __future__ import annotations

from tqdm import tqdm


def bar(iterable=None, show: bool | None = None, **kwargs) -> tqdm:
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, disable=None if show is None else not show, **kwargs)
