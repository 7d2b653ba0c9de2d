"""The tables of the report's models (chapters 5 and 6): one call each, rounded, "–" where a
value is undefined, the minus sign "−", no "NaN"."""
from __future__ import annotations

import pandas as pd

from semisup_utils.book import tables
from semisup_utils.study import analysis
from semisup_utils.study.analysis import UNDEFINED
from semisup_utils.text.prose import MINUS


def _history(loss):
    return [{"epoch": 1, "loss": loss + 1, "test_acc": 0.2}, {"epoch": 2, "loss": loss}]


def _models_frame():
    return pd.DataFrame({
        "recipe": ["A", "B", "C"], "m": 500, "seed": 0,
        "n_inferred": [0, 4500, 4500], "label_acc": [None, 0.3512, 0.2866],
        "test_acc": [0.3012, 0.36549, 0.3171],
        "history": [_history(1.3214), _history(0.2577), _history(0.19649)]})


def _sweep_runs():
    rows = []
    acc = {"A": [0.30, 0.32, 0.31], "B": [0.36, 0.37, 0.365], "C": [0.29, 0.31, 0.30]}
    for m, shift in ((500, 0.0), (1000, 0.05)):
        for model, values in acc.items():
            for seed, value in enumerate(values):
                rows.append({"m": m, "seed": seed, "recipe": model,
                             "test_acc": value + shift,
                             "label_acc": None if model == "A" else 0.3 + seed / 100})
    return pd.DataFrame(rows)


def test_report_models_table_shows_each_model_once_rounded_with_the_report():
    shown = tables.report_models_table(_models_frame(), {"A": 35.1, "B": 26.3, "C": 35.2},
                                       weight=0.1)
    frame = shown.frame
    assert list(frame.index) == ["A", "B", "C"]
    assert frame.loc["A", "label accuracy (%)"] == UNDEFINED
    assert frame.loc["B", "label accuracy (%)"] == "35.1"
    assert frame.loc["B", "test accuracy (%)"] == "36.5"
    assert frame.loc["C", "report's test accuracy (%)"] == "35.2"
    assert frame.loc["B", "inferred labels"] == "4,500"
    assert frame.loc["C", "last epoch's training loss"] == "0.196"
    assert "(weight 0.1)" in frame.loc["B", "trained on"]
    assert shown.notes and shown.notes[0].startswith(UNDEFINED)  # A's dash is explained
    assert "NaN" not in shown._repr_html_()


def test_report_models_table_leaves_the_report_out_where_it_has_no_run():
    frame = tables.report_models_table(_models_frame(), None).frame
    assert "report's test accuracy (%)" not in frame
    assert "(weight w)" in frame.loc["C", "trained on"]


def test_report_sweep_table_has_mean_sd_label_accuracy_and_the_report_per_model():
    shown = tables.report_sweep_table(_sweep_runs(), {500: {"A": 35.1, "B": 26.3, "C": 35.2}})
    frame = shown.frame
    assert list(frame.index) == [500, 1000] and frame.index.name == "M"
    assert frame.loc[500, ("Model A", "test acc. (%)")] == "31.0\u00a0±\u00a01.0"
    assert ("Model A", "label acc. (%)") not in frame  # A infers no labels
    assert frame.loc[500, ("Model B", "label acc. (%)")] == "31.0"
    assert frame.loc[500, ("Model B", "report (%)")] == "26.3"
    assert frame.loc[1000, ("Model C", "report (%)")] == UNDEFINED
    assert shown.notes == [f"{UNDEFINED} the report has no run at this M."]


def test_report_sweep_table_without_the_report_has_no_report_columns():
    frame = tables.report_sweep_table(_sweep_runs(), {}).frame
    assert not any(what == "report (%)" for _, what in frame.columns)


def test_paired_gains_table_writes_gains_with_the_minus_sign_and_verdicts():
    runs = _sweep_runs()
    gains = analysis.paired_gains(runs, reference={500: {"A": 35.1, "B": 26.3, "C": 35.2}})
    frame = tables.paired_gains_table(gains).frame
    b, c = "Model B against A", "Model C against A"
    assert frame.loc[500, (b, "gain (points)")] == "+5.5\u00a0±\u00a00.5"
    assert frame.loc[500, (b, "seeds ahead")] == "3 of 3"
    assert frame.loc[500, (b, "report's gain")] == f"{MINUS}8.8"
    assert frame.loc[500, (b, "verdict")] == "reversed"
    assert frame.loc[1000, (b, "report's gain")] == UNDEFINED
    assert frame.loc[500, (c, "gain (points)")] == f"{MINUS}1.0\u00a0±\u00a00.0"
    assert frame.loc[500, (c, "verdict")] == "reversed"  # a clear loss; the report: +0.1
    assert "-" not in "".join(frame[(c, "gain (points)")])


def test_precision_table_pairs_the_two_precisions_or_says_none():
    runs = _sweep_runs()
    a = runs[runs["recipe"] == "A"]
    both = pd.concat([a.assign(model="bf16"),
                      a.assign(model="fp32", test_acc=a["test_acc"] + 0.004)])
    frame = tables.precision_table(both).frame
    assert list(frame.index) == [500, 1000]
    assert frame.loc[500, "bf16 − fp32, paired (points)"] == f"{MINUS}0.4\u00a0±\u00a00.0"
    assert frame.loc[500, "fp32 (%)"] == "31.4\u00a0±\u00a01.0"
    assert frame.loc[500, "verdict"] in ("loss", "within seed noise")
    assert tables.precision_table(a.assign(model="bf16")) is None


def test_verdict_sentences_are_plain_text_of_the_verdict_lines():
    gains = analysis.paired_gains(_sweep_runs(),
                                  reference={500: {"A": 35.1, "B": 26.3, "C": 35.2}})
    sentences = tables.verdict_sentences(gains)
    assert set(sentences) == {"B", "C"}
    b = sentences["B"]
    assert b.startswith("Reversed at M = 500") or b.startswith("The report's sign")
    assert "**" not in b and not b.startswith("-") and "seeds per M" not in b
    assert "M = 1,000" in b and "M = 1000" not in b
    assert "1,000." in tables.verdict_sentences(gains.assign(verdict="within seed noise"))["B"]
    assert "-" not in b.replace("no report", "")
    assert f"smallest {MINUS}1.0" in sentences["C"]  # prose.signed: the minus sign


def test_verdict_sentences_write_a_zero_gain_without_a_sign():
    runs = _sweep_runs()
    same = runs[runs["recipe"] == "A"].assign(recipe="B")
    runs = pd.concat([runs[runs["recipe"] != "B"], same])
    sentence = tables.verdict_sentences(analysis.paired_gains(runs))["B"]
    assert "±0.0" in sentence and "+0.0" not in sentence
