"""The study's answer (findings), the provenance ledger, the headline figure and its export:
what page one, the teachers chapter, the conclusions and the appendix compute (issue 32)."""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from semisup_utils.book import chapters as runner, findings, ledger, plots  # noqa: E402
from semisup_utils.study.store import ResultsStore  # noqa: E402


def _headline(student_500=69.1, a_500=37.8, ceiling=72.2, seeds=3):
    rows = [("A, report's protocol", 500, 30.6, 1.9, 3), ("A, the report", 500, 35.1, None, 1),
            ("C, the report", 500, 35.2, None, 1), ("A, the report", 5000, 50.7, None, 1),
            (findings.MODEL_A, 500, a_500, 1.5, 3), (findings.MODEL_A, 5000, 62.2, 0.8, 3),
            (findings.CEILING, 500, ceiling, 0.6, 3), (findings.CEILING, 5000, ceiling, 0.6, 3),
            (findings.STUDENT, 500, student_500, 0.5, seeds),
            (findings.STUDENT, 5000, 71.4, 0.3, seeds), (findings.TEACHER, 500, 74.9, None, 1)]
    return pd.DataFrame(rows, columns=["series", "m", "mean", "sd", "n"])


def test_the_answer_states_what_the_runs_give():
    said = findings.answer(_headline(), 19550)
    assert said["students"] == "69.1% and 71.4%"
    assert said["model_a"] == "37.8% and 62.2%"
    assert said["report_best"] == "35.2% and 50.7%"  # the report's best model at each M
    assert said["ms"] == "500 and 5,000" and said["steps"] == "19,550"
    assert said["verdict"].startswith("With 500 labels, the student is 3.1 points below the "
                                      "ceiling and +31.3 points over Model A")
    # another run tells another story: a student above the ceiling, one seed
    other = findings.answer(_headline(student_500=74.0, seeds=1), 400)
    assert "1.8 points above the ceiling" in other["verdict"] and other["seeds"] == "1 seed"
    assert said["compute"] == "the report's compute" and other["compute"] == \
        "2% of the report's compute"


def test_the_answer_says_when_the_students_are_not_stored():
    frame = _headline()
    said = findings.answer(frame[frame["series"] != findings.STUDENT], 19550)
    assert said["students"] == "" and "run that chapter (10) first" in said["verdict"]


def _runs():
    """compare's rows: A, a fixed student, its T=2 twin and the ceiling, 3 seeds, 2 M."""
    rows = []
    acc = {"A": {500: 38, 5000: 62}, "fixed": {500: 67, 5000: 70}, "T2": {500: 66.9, 5000: 65}}
    for augment, shift in (("report", 0.0), ("crop-cutout", -1.0)):
        for seed, noise in enumerate((0.1, -0.1, 0.0)):
            for recipe, by_m in acc.items():
                for m, value in by_m.items():
                    wobble = 0.3 * (seed - 1) if recipe == "T2" else 0.0
                    rows.append({"augment": augment, "recipe": recipe, "m": m, "seed": seed,
                                 "test_acc": (value + shift + noise + wobble) / 100})
            rows.append({"augment": augment, "recipe": "ceiling", "m": 0, "seed": seed,
                         "test_acc": (72 + shift) / 100})
    return pd.DataFrame(rows)


def test_the_teachers_story_is_computed_from_the_runs():
    runs = _runs()
    scores = pd.DataFrame({"teacher": ["lite0 fixed"] * 2, "M": [500, 5000], "seed": [0, 0],
                           "test images": [71.4, 69.0], "unknown images": [71, 70],
                           "ECE (unknown)": [3, 2]})
    chosen = pd.DataFrame({"m": [500] * 3, "seed": [0, 1, 2], "test_acc": [0.69, 0.69, 0.69],
                           "teacher": ["pair"] * 3, "teacher_test": [74.9] * 3})
    choice = pd.DataFrame({"teacher": ["lite0 fixed", "pair"], "M": [500, 500],
                           "test_acc": [0.706, 0.749], "chosen": [False, True]})
    story = findings.teachers_story(runs, scores, chosen, "fixed", ["report", "crop-cutout"],
                                    {500: 70.0, 5000: 73.0}, softer="T2", choice=choice,
                                    fixed_name="lite0 fixed")
    # below its teacher at 500 (67 < 71.4), above at 5,000 (70 >= 69)
    assert "below its teacher at M = 500" in story["below_teacher"]
    assert "at or above it at M = 5,000" in story["below_teacher"]
    # T=2: -0.1 at 500 (noise), -5.0 at 5,000 (a clear loss)
    assert "a clear loss at M = 5,000)" in story["softer"]
    assert "no clear gain at any M" in story["softer"]
    assert "crop-cutout changes Model A by \u22121.0 points" in story["augmentation"]
    # the chosen teacher against the fixed one fitted on the same images: 74.9 - 70.6
    assert "+4.3 points at M = 500" in story["choice_gain"]
    assert "+2.0 points at M = 500" in story["choice_gain"]  # 69 - 67, paired
    assert "69.0% at M = 500 against a target of 70% (missed by 1.0 points)" in story["targets"]
    assert "3.0 points below at M = 500" in story["ceiling"]


def test_the_students_and_chosen_tables_read_the_runs():
    runs = _runs()
    summary = runs.assign(test_acc=100 * runs["test_acc"]).groupby(
        ["augment", "m", "recipe"], sort=False)["test_acc"].agg(
        mean="mean", std="std", n="count").reset_index()
    table = findings.students_table(summary, {500: 70.0})
    assert "ceiling" not in " ".join(table.index)
    assert table.loc["report: fixed", 500] == "67.0\u00a0±\u00a00.1"
    assert table.loc["target", 500] == 70.0
    chosen = pd.DataFrame({"m": [500] * 3, "seed": [0, 1, 2], "test_acc": [0.70, 0.69, 0.71],
                           "teacher": ["pair"] * 3, "teacher_test": [74.9] * 3})
    shown = findings.chosen_table(chosen, runs, "fixed", "report", {500: 70.0})
    assert shown.loc[500, "− fixed, same seeds (points)"] == "+3.0 (3 seeds)"
    assert shown.loc[500, "Model A"] == "38.0\u00a0±\u00a00.1"


def test_paired_uses_only_the_seeds_both_have():
    own = pd.Series([70.0, 71.0, 72.0], index=[0, 1, 2])
    other = pd.Series([69.0, 69.0], index=[1, 2])
    mean, sd, n = findings.paired(own, other)
    assert (mean, n) == (2.5, 2) and sd == pytest.approx(0.7071, abs=1e-3)
    assert findings.paired(own, pd.Series(dtype=float))[2] == 0


@pytest.mark.slow
def test_the_headline_reads_the_committed_store(cifar_real):
    """Page one's numbers are the committed store's: the held-out choice's students and Model
    A at the report's compute, three seeds each, below the ceiling at M = 500."""
    from semisup_utils.book import notebook
    from semisup_utils.study.profiles import resolve

    from dataclasses import replace

    params = resolve("published")
    committed = ResultsStore(runner.PROJECT_ROOT / "results")  # not the tests' own store
    ctx = replace(notebook.context(params), store=committed)
    frame = findings.headline(cifar_real, params, ctx)
    student, a = (findings.at(frame, s, 500) for s in (findings.STUDENT, findings.MODEL_A))
    assert student is not None and a is not None
    assert student["n"] == 3 and a["n"] == 3
    assert student["mean"] > a["mean"] + 10  # the teacher's labels matter at 500 labels
    assert set(frame[frame["series"] == findings.STUDENT]["m"]) == {500, 5000, 40000}
    assert findings.at(frame, "A, the report", 500)["mean"] == 35.1


def test_the_ledger_lists_the_runs_of_this_data_only(tmp_path):
    from semisup_utils.training.budget import Budget

    store = ResultsStore(tmp_path)
    budget = Budget.steps(400, precision="bf16").key()
    for fingerprint, seed in (("mine", 0), ("mine", 1), ("other", 0)):
        store.add({"data": fingerprint, "m": 500, "seed": seed, "n_train": 5000, "schema": 2,
                   "recipe": {"teacher": "none"}, "budget": budget},
                  {"name": "A", "test_acc": 0.4 + seed / 100, "device": "cpu", "wall_s": 120.0,
                   "git_rev": "abc1234", "finished": "2026-12-01T10:00:00+00:00",
                   "profile": "laptop"})

    class Data:
        fingerprint = "mine"

    runs = ledger.runs_of(Data, store)
    assert len(runs) == 2 and list(runs["seed"]) == [0, 1]
    assert list(runs["test (%)"]) == [40.0, 41.0] and runs["min"].iloc[0] == 2.0
    assert runs["finished"].iloc[0] == "2026-12-01" and runs["code"].iloc[0] == "abc1234"
    assert runs["budget"].iloc[0].startswith("400 steps, batch 128")
    summary = ledger.summary(runs)
    assert summary["runs"].iloc[0] == 2 and summary["seeds"].iloc[0] == "0, 1"
    assert summary["devices"].iloc[0] == "cpu" and summary["train (h)"].iloc[0] == 0.1


def test_the_headline_figure_and_its_export(tmp_path):
    fig = plots.headline(_headline(), title="t")
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "best student (held-out teacher) (3 seeds)" in labels
    assert "A, the report (1 run)" in labels and "its teacher" in labels
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    png = base64.b64encode(buffer.getvalue()).decode()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("fig", metadata={"tags": ["figure-headline"]},
                                                outputs=[nbformat.v4.new_output(
                                                    "display_data", data={"image/png": png})]),
                      nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
                          "display_data", data={"image/png": png})])]
    path = tmp_path / "page.ipynb"
    nbformat.write(notebook, path)
    written = runner.export_figures(path, tmp_path / "figures")
    assert [p.name for p in written] == ["headline.png"]
    assert written[0].read_bytes() == base64.b64decode(png)


def test_the_committed_headline_png_is_the_books_own():
    """README shows book/figures/headline.png: it must be the committed page's figure."""
    root = runner.PROJECT_ROOT
    page = nbformat.read(root / "book" / "00_abstract.ipynb", as_version=4)
    images = [o["data"]["image/png"] for c in page.cells
              if "figure-headline" in c.metadata.get("tags", [])
              for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "book/00_abstract.ipynb has no headline figure: run `semisup run 00`"
    png = root / "book" / "figures" / "headline.png"
    assert png.read_bytes() == base64.b64decode(images[-1]), (
        "book/figures/headline.png is stale: run `semisup run 00 --profile published`")
    assert np.frombuffer(png.read_bytes()[:8], np.uint8).tolist()[:4] == [137, 80, 78, 71]


@pytest.mark.slow
def test_the_readme_findings_are_the_stores(cifar_real):
    """README.md's findings block is what `semisup findings --readme README.md` writes from
    the committed store: no number in it is typed."""
    from dataclasses import replace

    from semisup_utils.book import notebook
    from semisup_utils.study.profiles import resolve

    params = resolve("published")
    ctx = replace(notebook.context(params),
                  store=ResultsStore(runner.PROJECT_ROOT / "results"))
    frame = findings.headline(cifar_real, params, ctx)
    steps = next(iter(notebook.distill_budgets(params, cifar_real.n_train).values())).amount
    block = findings.readme_block(frame, steps, "published")
    readme = (runner.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert findings.replace_block(readme, block) == readme, (
        "README.md's findings differ from the store: run `semisup findings --readme README.md`")


def test_replacing_the_block_needs_both_markers():
    start, end = findings.README_MARKERS
    assert findings.replace_block(f"a\n{start}\nold\n{end}\nb", "new") == \
        f"a\n{start}\nnew\n{end}\nb"
    with pytest.raises(ValueError, match="markers"):
        findings.replace_block("no markers here", "new")


def test_the_candidates_table_marks_the_choice_and_survives_an_empty_study():
    from semisup_utils.study.teacher_eval import choose_teacher

    study = pd.DataFrame({"teacher": ["a", "b", "a", "b"], "method": ["logreg-cal"] * 4,
                          "M": [500] * 4, "seed": [0, 0, 1, 1],
                          "val_acc": [0.7, 0.8, 0.7, 0.8], "val_ece": [0.02] * 4,
                          "label_acc": [0.69, 0.77, 0.7, 0.78], "test_acc": [0.68, 0.76, 0.7,
                                                                             0.78],
                          "ece": [0.03] * 4, "test_ece": [0.03] * 4, "seconds": [1.0] * 4,
                          "embed_s": [10.0] * 4})
    table = findings.candidates_table(choose_teacher(study))
    assert table.loc[(500, "b"), "chosen"] == "✓" and table.loc[(500, "a"), "chosen"] == ""
    assert table.loc[(500, "b"), "test"] == pytest.approx(77.0)
    assert list(findings.candidates_table(choose_teacher(study), chosen_only=True).index) == \
        [(500, "b")]
    empty = choose_teacher(study.iloc[:0])
    assert findings.candidates_table(empty).empty
