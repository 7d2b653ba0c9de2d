"""No string from the store or the data becomes markup on a page (issue 35, item 2): a row
whose device, recipe or teacher carries HTML (it can arrive through `semisup store merge`) is
shown as text by every function that writes Markdown, and no chapter or module writes
Markdown another way."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from semisup_utils.book import findings, ledger, tables
from semisup_utils.study import analysis
from semisup_utils.study.store import ResultsStore
from semisup_utils.text import markup, prose
from semisup_utils.training.budget import Budget

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "cpu <img src=x onerror=alert(1)><script>alert(2)</script> [x](javascript:alert(3))"
RECIPE = "B<script>alert(4)</script>"
TEACHER = "kmeans<img src=y onerror=alert(5)>"
LIVE = re.compile(r"<\s*(script|img|iframe|svg|a)\b", re.I)  # a live tag, or a link


def rendered(markdown: str) -> str:
    """The HTML a page makes of ``markdown`` (CommonMark with raw HTML on, as MyST renders)."""
    return MarkdownIt("commonmark", {"html": True}).render(str(markdown))


def assert_inert(markdown: str) -> None:
    """No live tag once rendered, and none in the Markdown outside code spans (a code span
    shows its text verbatim: `<script>` there is text)."""
    html = rendered(markdown)
    assert not LIVE.search(html), html
    outside = re.sub(r"(`+).*?\1", "", str(markdown)).lower()
    assert "<script" not in outside and "<img" not in outside, markdown


@pytest.fixture
def hostile_runs(tmp_path):
    """A store whose rows carry HTML in device, recipe name and teacher, read back as the
    chapters read it."""
    store = ResultsStore(tmp_path)
    budget = Budget.steps(400).key()
    for m in (500, 5000):
        for seed in (0, 1):
            for name, teacher, acc in (("A", "none", 0.30), ("B", "kmeans", 0.40),
                                       ("C", "cnn", 0.35), (RECIPE, TEACHER, 0.45)):
                store.add({"schema": 2, "data": "d", "n_train": 5000, "m": m, "seed": seed,
                           "recipe": {"teacher": teacher, "views": [[TEACHER, 32]]},
                           "budget": budget},
                          {"name": name, "test_acc": acc + seed / 100, "device": HOSTILE,
                           "wall_s": 60.0, "git_rev": HOSTILE, "finished": "2026-12-01",
                           "profile": "laptop"})
    return store, store.frame()


def test_the_escaped_text_is_shown_as_it_was():
    assert_inert(markup.escape(HOSTILE))
    assert markup.escape("cpu (8 threads) #1 + 2!") == "cpu (8 threads) #1 + 2!"  # unchanged
    html = rendered(markup.escape("a *b* _c_ `d` {e} $f$ | ~g~ \\h"))
    assert "a *b* _c_ `d` {e} $f$ | ~g~ \\h" in html
    # a line break cannot open a block of its own (a fence, a directive, raw HTML)
    assert "\n" not in markup.escape("x\n```{raw} html\n<script>y</script>\n```")


def test_md_escapes_every_value_and_keeps_fragments():
    fragment = markup.md("- **{}** on {device}: {:.1f}%", RECIPE, 41.25, device=HOSTILE)
    assert isinstance(fragment, markup.Markdown)
    assert fragment.startswith("- **B&lt;script&gt;") and fragment.endswith(": 41.2%")
    assert_inert(fragment)
    nested = markup.md("{} and {}", markup.md("**{}**", HOSTILE), markup.code(RECIPE))
    assert nested.startswith("**cpu &lt;img") and "`B<script>alert(4)</script>`" in nested
    assert_inert(nested)
    assert_inert(markup.join([fragment, HOSTILE]))
    assert markup.code("a`b") == "``a`b``"


def test_show_displays_a_plain_string_as_text(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    prose.show(HOSTILE)
    prose.show(prose.md("**{}**", "bold"))
    assert_inert(shown[0].data)
    assert shown[1].data == "**bold**"


def test_glue_pastes_plain_text_and_refuses_a_markdown_fragment(monkeypatch):
    import myst_nb

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    prose.glue("device", HOSTILE)
    assert glued["device"] == HOSTILE and type(glued["device"]) is str  # {glue:text}: a text node
    with pytest.raises(TypeError, match="prose.show"):
        prose.glue("line", prose.md("**{}**", "x"))


def test_the_conclusions_lines_show_store_strings_as_text(hostile_runs):
    _, runs = hostile_runs
    gains = analysis.paired_gains(runs)
    verdicts = tables.report_verdicts(gains, runs, Budget.steps(400), TEACHER, HOSTILE, 32)
    assert "Best model per M" in verdicts and "devices: cpu &lt;img" in verdicts
    assert_inert(verdicts)
    for line in analysis.verdict_lines(gains):
        assert_inert(line)
    assert_inert(analysis.best_model_line(runs))
    lines = analysis.against_a_lines(runs, 400, {500: 40})
    assert lines and all(f"`{RECIPE}`" in line for line in lines)
    for line in lines:
        assert_inert(line)
    listed = tables.full_compute_lines(runs, 5000, "400 steps")
    assert listed.count("\n- ") == len(runs) - 1 and "on cpu &lt;img" in listed
    assert_inert(listed)
    assert tables.full_compute_lines(runs.iloc[:0], 5000, "400 steps").startswith("None stored")


def test_glued_sentences_and_tables_carry_the_strings_as_text(hostile_runs):
    store, runs = hostile_runs
    sentences = tables.against_a_sentences(runs, 400)
    assert all(RECIPE in s for s in sentences.values())  # plain text for {glue:text}

    class Data:
        fingerprint = "d"

    html = ledger.runs_of(Data, store).to_html() + ledger.summary(
        ledger.runs_of(Data, store)).to_html()
    assert "cpu &lt;img" in html and not LIVE.search(html)
    table = analysis.undefined_as_dash(runs[["recipe", "device"]], "a note <b>")
    assert not LIVE.search(table._repr_html_()) and "<b>" not in table._repr_html_()


def test_the_readme_block_shows_a_profile_as_text(monkeypatch):
    monkeypatch.setattr(findings, "answer", lambda frame, steps: {
        "seeds": "3 seeds", "steps": "400", "verdict": HOSTILE})
    frame = pd.DataFrame(columns=["series", "m", "mean", "sd", "n"])
    block = findings.readme_block(frame, 400, f"x` {HOSTILE}")
    assert_inert(block)


# ----------------------------------------------------------------------------- no other way
def _sources():
    return sorted([*ROOT.glob("notebooks/*.py"), *ROOT.glob("semisup_utils/**/*.py"),
                   *ROOT.glob("bench/*.py")])


def test_markdown_is_displayed_only_through_prose_show():
    """IPython's Markdown is imported by markup.show alone; text/markdown is written nowhere
    else; every md() template is a string literal (a value is never a template)."""
    offenders = []
    for path in _sources():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "IPython.display" and \
                    any(a.name == "Markdown" for a in node.names) and path.stem != "markup":
                offenders.append(f"{path.name}:{node.lineno} imports IPython's Markdown")
            if isinstance(node, ast.Constant) and node.value == "text/markdown":
                offenders.append(f"{path.name}:{node.lineno} writes text/markdown")
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name == "md" and not (node.args and isinstance(node.args[0], ast.Constant)
                                         and isinstance(node.args[0].value, str)):
                    offenders.append(f"{path.name}:{node.lineno} md() without a literal")
    assert offenders == []


def test_glued_phrases_are_pasted_as_text():
    """{glue:text} pastes a text node (HTML-escaped by the page); {glue:md} would parse the
    phrase as Markdown, and {glue} pastes by the output's type: the chapters use neither."""
    pasted = [(p.name, role) for p in ROOT.glob("notebooks/*.py")
              for role in re.findall(r"\{glue(?::(\w+))?\}", p.read_text())]
    assert pasted and {role for _, role in pasted} == {"text"}, pasted
