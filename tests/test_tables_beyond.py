"""The tables and computed phrases of chapters 7-9 (label inference, the screening at equal
compute, the sweep beyond the report): `semisup_utils.book.tables`, on small made-up runs."""
from __future__ import annotations

import pandas as pd
import pytest

from semisup_utils.book import tables
from semisup_utils.study import analysis
from semisup_utils.text.prose import MINUS


# ------------------------------------------------------------------------------ chapter 7
def _study():
    acc = {  # (M, method, size): label accuracy in 0..1
        (500, "kmeans", 32): .21, (500, "logreg", 32): .29, (500, "knn", 32): .31,
        (500, "kmeans", 96): .41, (500, "logreg", 96): .66, (500, "knn", 96): .62,
        (5000, "kmeans", 32): .24, (5000, "logreg", 32): .37, (5000, "knn", 32): .39,
        (5000, "kmeans", 96): .43, (5000, "logreg", 96): .71, (5000, "knn", 96): .69,
    }
    return pd.DataFrame([{"M": m, "method": method, "input_size": size, "label_acc": a,
                          "ece": .1, "seconds": 1.0} for (m, method, size), a in acc.items()])


def test_label_accuracy_table_has_one_column_per_size_in_percent():
    shown = tables.label_accuracy_table(_study()).frame
    assert list(shown.columns) == ["32x32 (%)", "96x96 (%)"]
    assert shown.loc[(500, "logreg"), "96x96 (%)"] == "66.0"
    assert list(shown.index.get_level_values("method")[:3]) == ["kmeans", "logreg", "knn"]


def test_best_labels_against_the_reports_way():
    best = tables.best_labels(_study())
    assert list(best["method"]) == ["logreg", "logreg"] and list(best["size"]) == [96, 96]
    assert best.loc[500, "base acc"] == pytest.approx(21.0)
    assert best.loc[5000, "gain"] == pytest.approx(47.0)
    shown = tables.best_labels_table(best).frame
    assert shown.loc[500, "gain (points)"] == "+45.0"
    assert shown.loc[500, "input size"] == "96x96"
    assert "kmeans at 32x32 (%)" in shown.columns


def test_labels_story_states_method_size_and_gain():
    story = tables.labels_story(_study())
    assert story["best"].startswith("logreg at 96x96 gives the best labels at every M")
    assert story["best"].endswith("right for 66.0% of the unknown images at M = 500 and "
                                  "71.0% at M = 5,000")
    assert "21.0% and 24.0% for kmeans at 32x32 (the report's way)" in story["over_base"]
    assert story["over_base"].endswith("a gain of between +45.0 and +47.0 points")
    assert "(knn) beats kmeans" in story["method_effect"]
    assert story["method_effect"].endswith("beats kmeans by between 10.0 and 15.0 points")
    assert "lifts its label accuracy by between 34.0 and 37.0 points" in story["size_effect"]


def test_labels_story_names_each_winner_where_they_differ():
    study = _study()
    study.loc[(study["M"] == 5000) & (study["method"] == "knn")
              & (study["input_size"] == 96), "label_acc"] = .75
    story = tables.labels_story(study)
    assert story["best"] == ("The best labels come from logreg at 96x96 at M = 500 (66.0%) "
                             "and knn at 96x96 at M = 5,000 (75.0%)")


def test_labels_story_without_kmeans_or_a_second_size():
    study = _study()
    only = study[(study["method"] != "kmeans") & (study["input_size"] == 96)]
    story = tables.labels_story(only)
    assert "not among the methods compared" in story["over_base"]
    assert story["method_effect"] == ""
    assert story["size_effect"] == "Only one input size is compared here"
    assert "–" in tables.best_labels_table(tables.best_labels(only)).frame.to_string()


def test_report_labels_phrase():
    assert tables.report_labels_phrase({"PCA": 22.0, "VGG": (29.0, 31.0)}) == \
        "22% to 31% of them right"
    assert tables.report_labels_phrase({}) == ""


# ------------------------------------------------------------------------------ chapters 8, 9
def _runs(acc: dict, seeds=(0, 1, 2)) -> pd.DataFrame:
    """acc: {(m, recipe): [test accuracy per seed, %]}; the ceiling once per seed (m 0)."""
    rows = []
    for (m, recipe), values in acc.items():
        for seed, value in zip(seeds, values):
            rows.append({"m": m, "seed": seed, "recipe": recipe, "test_acc": value / 100,
                         "label_acc": None if recipe in ("A", "ceiling") else .6})
    frame = pd.DataFrame(rows)
    ms = sorted({m for m, _ in acc if m})
    return analysis.add_gap_closed(analysis.ceiling_at_every_m(frame, ms))


SWEEP = {
    (500, "A"): [38, 36, 39], (500, "B"): [22, 20, 24], (500, "teach"): [66, 65, 66],
    (5000, "A"): [62, 63, 61], (5000, "B"): [50, 50, 51], (5000, "teach"): [69, 70, 69],
    (40000, "A"): [72, 71, 72], (40000, "B"): [71, 72, 71], (40000, "teach"): [73, 70, 73],
    (0, "ceiling"): [72, 73, 71],
}


def test_per_recipe_mean_sd_both_ways_with_the_minus_sign():
    runs = _runs(SWEEP)
    by_recipe = tables.per_recipe(runs, recipes=["A", "B", "teach"], name="x").frame
    assert list(by_recipe.columns) == ["M=500", "M=5000", "M=40000"]
    assert by_recipe.loc["A", "M=500"] == "37.7\u00a0±\u00a01.5"
    by_m = tables.per_recipe(runs, "gap_closed", ["B", "teach"], by="m", digits=0).frame
    assert by_m.index.name == "M" and list(by_m.columns) == ["B", "teach"]
    assert by_m.loc[500, "B"].startswith(MINUS)
    assert "-" not in by_m.to_string()


def test_sweep_table_targets_and_ceiling():
    runs = _runs(SWEEP)
    shown = tables.sweep_table(runs, ["A", "B", "teach", "ceiling"], {500: 60.0}, "acc")
    assert list(shown.frame.columns) == ["A", "B", "teach", "target"]
    assert shown.frame.loc[500, "target"] == "60.0" and shown.frame.loc[5000, "target"] == "–"
    assert "targets are set at M = 500" in repr(shown)
    assert tables.ceiling_phrase(runs) == "72.0\u00a0±\u00a01.0%"


def test_best_against_a_pairs_by_seed_and_judges_the_target():
    runs = _runs(SWEEP)
    best = tables.best_against_a(runs, {500: 60.0, 40000: 72.5})
    assert list(best["recipe"]) == ["teach"] * 3
    assert best.loc[500, "gain"] == pytest.approx(28.0) and best.loc[500, "ahead"] == 3
    assert bool(best.loc[500, "clear"]) and not bool(best.loc[40000, "clear"])
    assert best.loc[40000, "to target"] == pytest.approx(-0.5)
    shown = tables.best_against_a_table(best).frame
    assert shown.loc[500, "target met?"] == "met"
    assert shown.loc[40000, "target met?"] == "short by 0.5"
    assert shown.loc[5000, "target met?"] == "–"
    assert "seeds ahead" not in shown.columns  # the prose says where the gain is clear
    story = tables.sweep_story(runs, best, 19550)
    assert story["best"] == "teach is the best recipe at every M"
    assert story["gains"].startswith("+28.0 points at M = 500, +7.3 at M = 5,000 and +0.3 "
                                     "at M = 40,000; the gain is clear")
    assert "within seed noise at M = 40,000" in story["gains"]
    assert "met at M = 500 (65.7% for a target of 60%)" in story["targets"]
    assert "missed at M = 40,000 by 0.5 points" in story["targets"]
    assert story["steps"] == "19,550"
    assert story["near_ceiling"].startswith("At M = 40,000, the largest here, Model A is 0.3 "
                                            "points below the ceiling")
    assert story["bounds"] == "no model's mean reaches above it at any M"
    higher = _runs({**SWEEP, (40000, "teach"): [74, 73, 74]})
    story = tables.sweep_story(higher, tables.best_against_a(higher), 19550)
    assert story["bounds"] == "teach at M = 40,000 reaches above it"


def test_sweep_story_without_targets():
    runs = _runs(SWEEP)
    story = tables.sweep_story(runs, tables.best_against_a(runs), 400)
    assert story["targets"] == "No target is set for this data or these values of M"


def test_gains_phrase_groups_m_by_verdict():
    gains = analysis.paired_gains(_runs(SWEEP), models=["B"])
    text = tables.gains_phrase(gains, "B")
    assert text.startswith("B against A: a clear loss at M = 500 and 5,000")
    assert "within seed noise at M = 40,000" in text


def test_screening_story_and_undefined_gap():
    one_seed = {(500, "A"): [36], (500, "soft"): [46], (500, "fix"): [37],
                (5000, "A"): [45], (5000, "soft"): [44], (5000, "fix"): [47],
                (0, "ceiling"): [44.5]}
    runs = _runs(one_seed, seeds=(0,))
    story = tables.screening_story(runs, 1173)
    assert story["winner"] == "soft is the best recipe at M = 500, fix at M = 5,000"
    lower = _runs({**one_seed, (5000, "fix"): [43.5]}, seeds=(0,))
    assert tables.screening_story(lower, 1173)["winner"] == (
        "soft is the best recipe at every M screened; but no recipe beats Model A at "
        "M = 5,000")
    assert "ceiling (44.5%) is at or below Model A at M = 5,000" in story["ceiling"]
    sentences = tables.against_a_sentences(runs, 1173)
    assert sentences[500].startswith("At M = 500, soft reaches 46.0% (1 seed) against Model "
                                     "A's 36.0% with the same 1,173 steps (+10.0 points, "
                                     "closing 118% of the gap")
    assert sentences[5000].endswith("no gap to close: Model A is at or above the ceiling at "
                                    "this M.")
    assert "`" not in story["against_a"] and "**" not in story["against_a"]
    assert "with the same" not in story["against_a"]


def test_schedule_table_and_phrase():
    rows = []
    for schedule, shift in (("constant", 0), ("onecycle", 1)):
        for recipe, m, acc in (("A", 500, 35), ("A", 5000, 57), ("ceiling", 500, 57),
                               ("ceiling", 5000, 57)):
            rows.append({"recipe": recipe, "m": m, "schedule": schedule,
                         "test_acc": (acc + shift * (2 if recipe == "A" else 7)) / 100})
    runs = pd.DataFrame(rows)
    shown = tables.schedule_table(runs, "onecycle").frame
    assert list(shown.index) == ["A, M=500", "A, M=5000", "ceiling (every M)"]
    assert shown.loc["ceiling (every M)", "gain (points)"] == "+7.0"
    assert tables.schedule_phrase(runs, "onecycle") == \
        "lifts Model A by 2.0 points over M and lifts the ceiling by 7.0 points"


def test_teacher_scores_and_calibration():
    rows = pd.DataFrame([
        {"M": m, "teacher of": t, "label_acc": a, "ece": e}
        for m in (500, 5000)
        for t, a, e in (("plain", .66, .15 if m == 500 else .20),
                        ("cal", .66, .03 if m == 500 else .04))])
    table = tables.teacher_scores_table(rows, ["plain", "cal"]).frame
    assert table.loc["cal", ("ECE (%)", 500)] == "3.0"
    phrase = tables.calibration_phrase(rows, "plain", "cal")
    assert phrase == ("leaves every label as it was (the same label accuracy) and cuts the "
                      "ECE from 15.0%–20.0% to 3.0%–4.0% over M")
    assert tables.calibration_phrase(rows, "plain", "missing") == "–"


def test_budget_relation_in_words():
    assert tables.budget_relation(1173, 19550) == "6.0% of the 19,550"
    assert tables.budget_relation(3910, 19550) == "20% of the 19,550"
    assert tables.budget_relation(600, 400) == "1.5 times the 400"
    assert tables.budget_relation(19550, 19550) == "the same as the 19,550"


def test_teachers_and_students_rank():
    runs = _runs(SWEEP)
    runs.loc[runs["recipe"] == "B", "label_acc"] = .2
    story = tables.teachers_and_students(runs, 500)
    assert story["teacher_labels"] == "60.0% (teach) and 20.0% (B)"
    assert story["same_order"] == "their students rank in the same order"
    runs.loc[runs["recipe"] == "B", "label_acc"] = .9
    story = tables.teachers_and_students(runs, 500)
    assert story["same_order"].startswith("their students rank in another order (teach, B")


def test_sweep_comparisons_b_c_and_the_mixed_teacher():
    acc = {**SWEEP, (500, "C"): [40, 38, 41], (40000, "C"): [72, 71, 72],
           (500, "mix"): [52, 51, 53], (40000, "mix"): [74, 72, 72]}
    runs = _runs(acc)
    runs.loc[runs["recipe"] == "C", "label_acc"] = runs["test_acc"]
    recipes = ["A", "B", "C", "teach", "mix", "ceiling"]
    story = tables.sweep_comparisons(runs, recipes, mix="mix", alone="teach")
    assert story["b_and_c"].startswith("B against A: a clear loss at M = 500 and 5,000")
    assert "; C against A: " in story["b_and_c"]
    assert story["mix"].startswith("mix against teach: a clear loss at M = 500")
    assert "right for 39.7% at M = 500 to 71.7% at M = 40,000 of the unknown" in story["mix"]
    alone = tables.sweep_comparisons(runs, ["A", "teach", "ceiling"], mix="mix",
                                     alone="teach")
    assert alone == {"b_and_c": "B and C are not among this page's recipes",
                     "mix": "mix is not among this page's recipes"}


def test_moves_reads_the_sign_from_the_verb():
    assert tables._moves([-1.04], "A") == "lowers A by 1.0 points"
    assert tables._moves([0.8, 5.6], "A") == "lifts A by between 0.8 and 5.6 points"
    assert tables._moves([-1.0, 2.0], "A") == \
        f"changes A by between {MINUS}1.0 and +2.0 points"
