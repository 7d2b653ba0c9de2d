"""Paired gains over seeds: the verdicts ch. 11 states must follow the numbers."""
import math

import pandas as pd
import pytest

from semisup_utils.study.analysis import is_clear, paired_gains, verdict


def runs_of(accs):
    """accs: {(m, model): [test_acc per seed]}"""
    return pd.DataFrame([{"m": m, "recipe": model, "seed": s, "test_acc": a}
                         for (m, model), values in accs.items() for s, a in enumerate(values)])


def test_gain_is_paired_by_seed():
    # B beats A by exactly one point on every seed, while A itself varies a lot across seeds:
    # paired, the gain is clear; unpaired, the spread of A would hide it
    runs = runs_of({(500, "A"): [0.30, 0.40, 0.50], (500, "B"): [0.31, 0.41, 0.51]})
    row = paired_gains(runs, {500: {"A": 35.0, "B": 36.0}}, models=["B"]).iloc[0]
    assert row["gain"] == pytest.approx(1.0)
    assert row["sd"] == pytest.approx(0.0, abs=1e-9)
    assert row["seeds better"] == 3 and row["seeds"] == 3
    assert row["report gain"] == pytest.approx(1.0)
    assert row["verdict"] == "holds"


def test_reversed_and_noise_verdicts():
    runs = runs_of({(5000, "A"): [0.50, 0.51, 0.52], (5000, "B"): [0.45, 0.455, 0.47],
                    (5000, "C"): [0.52, 0.49, 0.53]})
    table = paired_gains(runs, {5000: {"A": 50.7, "B": 55.2, "C": 53.5}}).set_index("model")
    assert table.loc["B", "verdict"] == "reversed"  # report: B > A; here B < A on every seed
    assert table.loc["C", "verdict"] == "within seed noise"  # +2, -2, +1 points
    assert table.loc["C", "seeds better"] == 2


def test_missing_models_and_single_seed():
    runs = runs_of({(500, "A"): [0.3], (500, "B"): [0.4]})
    table = paired_gains(runs)  # no C, one seed, no report
    assert list(table["model"]) == ["B"]
    assert math.isnan(table.iloc[0]["sd"]) and table.iloc[0]["verdict"] == "within seed noise"


@pytest.mark.parametrize("mean,report,expected", [
    (3.0, 2.0, "holds"), (-3.0, 2.0, "reversed"), (1.5, 2.0, "within seed noise"),
    (3.0, None, "gain"), (-3.0, float("nan"), "loss")])
def test_verdict(mean, report, expected):
    # three seeds, sd 1: a gain is clear beyond t(0.975, 2) * 1 / sqrt(3) = 2.48 points
    assert verdict(mean, 1.0, 3, report) == expected


def test_clear_is_a_paired_t_test():
    assert is_clear(2.5, 1.0, 3) and not is_clear(2.4, 1.0, 3)
    assert not is_clear(5.0, 1.0, 2) and is_clear(5.0, 0.1, 2)  # 1 degree of freedom: t=12.7
    assert not is_clear(5.0, float("nan"), 1)
    assert is_clear(0.1, 0.0, 3) and not is_clear(0.0, 0.0, 3)


def test_summary_and_mean_sd_table():
    from semisup_utils.study.analysis import mean_sd, summary

    runs = runs_of({(500, "A"): [0.30, 0.32, 0.34], (500, "B"): [0.40], (5000, "A"): [0.5, 0.6]})
    table = summary(runs)
    assert table.set_index(["m", "recipe"]).loc[(500, "A"), "mean"] == pytest.approx(32.0)
    assert table.set_index(["m", "recipe"]).loc[(500, "A"), "n"] == 3
    text = mean_sd(table, index="m", columns="recipe")
    assert text.loc[500, "A"] == "32.0\u00a0±\u00a02.0"  # no-break spaces: one line
    assert text.loc[500, "B"] == "40.0"          # one seed: no spread to show
    assert text.loc[5000, "B"] == "–"            # no run


def test_gap_closed_is_undefined_where_a_reaches_the_ceiling():
    from semisup_utils.study.analysis import add_gap_closed

    runs = pd.DataFrame([
        {"m": 500, "seed": 0, "recipe": "A", "test_acc": 0.40},
        {"m": 500, "seed": 0, "recipe": "x", "test_acc": 0.55},
        {"m": 40000, "seed": 0, "recipe": "A", "test_acc": 0.71},
        {"m": 40000, "seed": 0, "recipe": "x", "test_acc": 0.70},
        {"m": 500, "seed": 0, "recipe": "ceiling", "test_acc": 0.70}])
    gap = add_gap_closed(runs).set_index(["m", "recipe"])["gap_closed"]
    assert gap[(500, "x")] == pytest.approx(0.5)
    assert math.isnan(gap[(40000, "x")])  # A above the ceiling: nothing to close


def test_statements_follow_the_numbers():
    from semisup_utils.study.analysis import against_a_lines, best_model_line, verdict_lines

    runs = runs_of({(500, "A"): [0.30, 0.32, 0.34], (500, "B"): [0.40, 0.41, 0.43],
                    (5000, "A"): [0.50, 0.51, 0.52], (5000, "B"): [0.45, 0.455, 0.47]})
    lines = verdict_lines(paired_gains(runs, {500: {"A": 35.1, "B": 26.3},
                                              5000: {"A": 50.7, "B": 55.2}}, models=["B"]))
    assert lines == ["- **B against A** (3 seeds per M): reversed at M = 500, 5000. Largest "
                     "mean gain +9.3 points (M = 500), smallest −5.2 (M = 5000)."]
    assert best_model_line(runs) == ("- **Best model per M**: M=500: B (41.3 ± 1.5%), "
                                     "M=5000: A (51.0 ± 1.0%).")
    one_seed = runs[runs["seed"] == 0]  # one seed has no spread to show, not "± nan"
    assert best_model_line(one_seed) == ("- **Best model per M**: M=500: B (40.0%, 1 seed), "
                                         "M=5000: A (50.0%, 1 seed).")
    sweep = pd.concat([runs, pd.DataFrame([{"m": 500, "recipe": "ceiling", "seed": 0,
                                            "test_acc": 0.7}])])
    (line500, line5000) = against_a_lines(sweep, 19550, targets={500: 40}, report={})
    assert line500.startswith("- **M=500**: `B` 41.3% (sd 1.5, 3 seeds) against Model A's "
                              "32.0% with the same 19,550 steps (+9.3 points)")
    assert line500.endswith("target 40% met.")
    assert "missed" not in line5000 and "(−5.2 points)" in line5000


def test_gains_table_shows_a_dash_where_the_report_has_no_run():
    from semisup_utils.study.analysis import UNDEFINED, gains_table

    runs = runs_of({(500, "A"): [0.30, 0.32], (500, "B"): [0.40, 0.41],
                    (1000, "A"): [0.35, 0.36], (1000, "B"): [0.42, 0.44]})
    table = gains_table(paired_gains(runs, {500: {"A": 35.1, "B": 26.3}}, models=["B"]))
    assert table.loc[500, "B − A: report's gain"] == "−8.8"
    assert table.loc[1000, "B − A: report's gain"] == UNDEFINED
    assert "nan" not in table.to_string().lower()


def test_undefined_values_show_as_a_dash_with_a_footnote_never_nan():
    """A table the book shows never says "NaN": an undefined value (the gap closed where Model
    A reaches the ceiling, the label accuracy of a model without inferred labels) reads "–",
    and a footnote under the table says why."""
    import numpy as np

    from semisup_utils.study.analysis import UNDEFINED, mean_sd, summary, undefined_as_dash

    gap = pd.DataFrame({500: [120.04, 66.0], 5000: [float("nan"), np.float32(3.25)],
                        40000: [None, 12.0]}, index=["logreg-soft", "fixmatch"])
    gap.columns.name = "M"
    shown = undefined_as_dash(gap, "no gap to close: Model A reaches the ceiling")
    for text in (repr(shown), shown._repr_html_()):
        assert "nan" not in text.lower() and "None" not in text
        assert "no gap to close: Model A reaches the ceiling" in text
    assert shown.frame.loc["logreg-soft", 500] == "120.0"
    assert shown.frame.loc["logreg-soft", 5000] == UNDEFINED
    assert shown.frame.loc["logreg-soft", 40000] == UNDEFINED
    assert shown.frame.loc["fixmatch", 5000] == "3.2"  # float32 too, to one decimal
    assert repr(shown).splitlines()[-1] == (f"{UNDEFINED} no gap to close: Model A reaches "
                                            "the ceiling")
    assert shown._repr_html_().index("<table") < shown._repr_html_().index("table-footnote")

    # no undefined value, no footnote; whole numbers and text stay as they are
    full = undefined_as_dash(pd.DataFrame({"n": [3, 0], "acc": [50.25, 1.0],
                                           "who": ["A", "B"]}), "never shown", digits=2)
    assert "never shown" not in repr(full) and "never shown" not in full._repr_html_()
    assert list(full.frame["n"]) == [3, 0] and list(full.frame["acc"]) == ["50.25", "1.00"]

    # a mean ± sd table's "–" (no run) gets the footnote as well
    runs = runs_of({(500, "A"): [0.30, 0.32], (5000, "B"): [0.5]})
    text = mean_sd(summary(runs), index="m", columns="recipe")
    assert "not stored" in repr(undefined_as_dash(text, "not stored"))


def test_paired_comparison_of_two_precisions():
    from semisup_utils.study.analysis import paired_comparison

    runs = runs_of({(500, "bf16"): [0.30, 0.32, 0.34], (500, "fp32"): [0.31, 0.33, 0.36],
                    (5000, "bf16"): [0.5]}).rename(columns={"recipe": "model"})
    runs["device"] = ["cuda", "cpu", "cpu", "cpu", "cpu", "cpu", "cuda"]
    table = paired_comparison(runs, base="fp32", other="bf16")
    assert list(table.index) == [500]  # 5000: no float32 run to pair with
    row = table.loc[500]
    assert row["seeds"] == 3
    assert row["bf16 (%)"] == "32.0\u00a0±\u00a02.0" and row["fp32 (%)"] == "33.3\u00a0±\u00a02.5"
    assert row["bf16 − fp32, paired (points)"] == "-1.3\u00a0±\u00a00.6"
    assert row["devices, bf16 / fp32"] == "cpu, cuda / cpu"
    assert paired_comparison(runs[runs["model"] == "bf16"], "fp32", "bf16").empty


def test_targets_per_study_and_none_for_other_data():
    from types import SimpleNamespace

    from semisup_utils.book import original_report as report

    assert report.targets() == report.TARGETS
    assert report.targets(study="teachers") == {500: 70.0, 5000: 73.0, 40000: 75.0}
    assert report.targets(SimpleNamespace(is_cifar10=False), study="teachers") == {}
    with pytest.raises(ValueError, match="'sweep' or 'teachers'"):
        report.targets(study="other")
