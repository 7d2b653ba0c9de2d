"""Sentences a chapter computes, so that no result is typed into its Markdown.

A chapter states a result by gluing a phrase computed from its runs (myst-nb's ``glue``) and
pasting it into the Markdown with ``{glue:text}`name```; a rerun with other parameters then
rewrites the sentence. Numbers are formatted here, once, with the glyphs of the tables
(:data:`analysis.PM`, the minus sign ``−``). A glued phrase is pasted as plain text (a text
node, which the page HTML-escapes), so a string from the store or the data never becomes
Markdown or HTML on the page; a cell that writes Markdown itself builds it with :func:`md` and
shows it with :func:`show` (:mod:`semisup_utils.text.markup`), which escape every value.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from .markup import Markdown, code, escape, join, md, show  # noqa: F401  (Markdown, one way)

UNDEFINED = "–"  # what a table shows where a value is undefined (never "NaN")
PM = "\u00a0±\u00a0"  # " ± " with no-break spaces: a table cell never splits "mean ± sd"

MINUS = "\u2212"


def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def number(value, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals, a thousands comma, the minus sign; "–" if undefined."""
    if not _finite(value):
        return UNDEFINED
    text = f"{float(value):,.{digits}f}" if digits else f"{round(float(value)):,}"
    return text.replace("-", MINUS)


def percent(points, digits: int = 1) -> str:
    """An accuracy already in percent (69.13 → "69.1%")."""
    return UNDEFINED if not _finite(points) else number(points, digits) + "%"


def signed(points, digits: int = 1) -> str:
    """A difference with its sign, "+1.9" or "−0.3" ("±0.0" when it rounds to zero)."""
    if not _finite(points):
        return UNDEFINED
    text = number(abs(points), digits)
    if float(text.replace(",", "")) == 0:
        return "±" + text
    return ("+" if points > 0 else MINUS) + text


def points(diff, digits: int = 1) -> str:
    """A signed difference in points of accuracy: "+1.9 points"."""
    text = signed(diff, digits)
    return text if text == UNDEFINED else f"{text} points"


def mean_sd(values: Iterable[float], digits: int = 1) -> str:
    """"69.1 ± 0.5" over the values given (percent), the mean alone for one value."""
    values = [float(v) for v in values if _finite(v)]
    if not values:
        return UNDEFINED
    mean = sum(values) / len(values)
    if len(values) == 1:
        return number(mean, digits)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return f"{number(mean, digits)}{PM}{number(sd, digits)}"


def listing(items: Iterable, last: str = "and") -> str:
    """"a, b and c"."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def at_ms(ms) -> str:
    """"M = 500, 5,000 and 40,000": the values of M a statement holds at."""
    return "M = " + listing(number(m, 0) for m in ms)


def choose(condition: bool, yes: str, no: str) -> str:
    """The word a computed comparison calls for ("above" or "below", "gains" or "loses")."""
    return yes if condition else no


def direction(diff, up: str = "above", down: str = "below", same: str = "level with",
              digits: int = 1) -> str:
    """How ``diff`` (points) reads in words once rounded: "1.9 points above", "level with"."""
    if not _finite(diff):
        return UNDEFINED
    size = number(abs(diff), digits)
    if float(size.replace(",", "")) == 0:
        return same
    return f"{size} points {up if diff > 0 else down}"


def glue(name: str, value) -> None:
    """Glue ``value`` (a phrase or a number) for ``{glue:text}`name``` in the chapter's Markdown;
    shown nowhere else. It is pasted as text, as it is: a Markdown fragment (:func:`md`) is
    refused, since its escapes would show."""
    import myst_nb

    if isinstance(value, Markdown):
        raise TypeError(f"glue {name!r}: a glued phrase is pasted as plain text; show a "
                        "Markdown fragment with prose.show, or glue the plain phrase")
    text = str(value)
    myst_nb.glue(name, text, display=False)


def glue_all(phrases: dict) -> None:
    """Glue every ``{name: phrase}`` (nothing is shown: the Markdown pastes them)."""
    for name, value in phrases.items():
        glue(name, value)
