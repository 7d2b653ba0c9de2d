"""Markdown a page renders, built so that no string from the store or the data becomes markup.

A page renders a cell's Markdown output as MyST, raw HTML included: a row's ``device`` of
``cpu <script>...</script>`` (a row arrives from anywhere through ``semisup store merge``)
printed into it would run in the reader's browser. So Markdown is written one way only:
:func:`md` fills a template the code wrote with values it escapes (:func:`escape`), and
:func:`show` displays a :class:`Markdown` fragment as Markdown and any other string as text.
Concatenating a fragment with a plain string gives a plain string, which :func:`show` escapes:
forgetting costs a visible backslash, never a live tag. (``tests/test_markup.py`` checks that
no chapter or module displays Markdown another way, and that every template is a literal.)
"""
from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable

# what makes Markdown of plain text: code spans and MyST roles (`, {}), links and images ([]),
# emphasis (*, _, ~), math ($), tables (|), the escape character itself; < > & are HTML-escaped
_SPECIAL = re.compile(r"([\\`*_{}\[\]$|~])")
# a line break would let a value open a block of its own (a fence, a directive, a heading)
_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


class Markdown(str):
    """A Markdown fragment: text the code wrote, every value in it escaped (see :func:`md`)."""


def escape(value) -> Markdown:
    """``value`` as Markdown that shows it as text: HTML escaped, Markdown's special characters
    backslashed, line breaks made spaces. A :class:`Markdown` fragment is returned unchanged."""
    if isinstance(value, Markdown):
        return value
    text = _BREAKS.sub(" ", str(value))
    return Markdown(_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)))


class _Escaping(string.Formatter):
    def format_field(self, value, format_spec):
        if isinstance(value, Markdown):
            return value
        return escape(format(value, format_spec))


def md(template: str, /, *args, **kwargs) -> Markdown:
    """``template.format(*args, **kwargs)`` with every value escaped (:func:`escape`; a
    :class:`Markdown` value is kept as it is). ``template`` is the code's own Markdown, a
    string literal; a value is never a template."""
    return Markdown(_Escaping().vformat(template, args, kwargs))


def join(parts: Iterable, sep: str = "\n") -> Markdown:
    """The parts (fragments kept, other values escaped) joined by ``sep`` (the code's own)."""
    return Markdown(sep.join(escape(part) for part in parts))


def code(value) -> Markdown:
    """``value`` as inline code: shown verbatim (a code span renders no HTML and no Markdown),
    fenced by more backticks than it holds in a row, line breaks made spaces."""
    text = _BREAKS.sub(" ", str(value))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def show(fragment) -> None:
    """Display ``fragment`` in the page: a :class:`Markdown` fragment as Markdown, any other
    value as the text it is (escaped)."""
    from IPython.display import Markdown as MarkdownOutput, display

    display(MarkdownOutput(escape(fragment)))
