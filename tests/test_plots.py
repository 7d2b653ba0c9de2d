"""Figures: every line of a figure gets its own colour."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from semisup_utils.book.plots import (MODEL_COLOURS, accuracy_vs_m, model_colours,  # noqa: E402
                                 students_and_teacher)


def test_model_colours_keep_abc_and_never_repeat():
    names = ["A", "B-report", "C-report", "logreg-cal-soft", "multiscale+A-soft", "B", "C"]
    colours = model_colours(names)
    assert colours["A"] == MODEL_COLOURS["A"] and colours["C"] == MODEL_COLOURS["C"]
    assert len({to_hex(c) for c in colours.values()}) == len(names)


def test_accuracy_vs_m_draws_one_distinct_line_per_model():
    summary = pd.DataFrame({"m": [500, 5000] * 3, "model": ["A"] * 2 + ["x"] * 2 + ["y"] * 2,
                            "mean": [30, 50, 40, 55, 45, 60], "std": [1.0] * 6, "n": [3] * 6})
    ax = accuracy_vs_m(summary).axes[0]
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(lines) == 3 and len({to_hex(line.get_color()) for line in lines}) == 3


def test_students_and_teacher_draws_a_labelled_panel_per_augmentation():
    students = pd.DataFrame({"augment": ["report"] * 4 + ["crop-cutout"] * 4,
                             "model": ["A", "A", "x", "x"] * 2, "m": [500, 5000] * 4,
                             "mean": [40, 60, 66, 70, 41, 62, 65, 68], "std": [1.0] * 8,
                             "n": [3] * 8})
    teacher = pd.DataFrame({"m": [500, 5000], "mean": [71.0, 76.0], "std": [0.1, 0.1]})
    fig = students_and_teacher(students, teacher, {"report": 72.0, "crop-cutout": 68.0},
                               {500: 70.0}, title="t")
    assert [ax.get_title() for ax in fig.axes] == ["augmentation: report",
                                                   "augmentation: crop-cutout"]
    assert fig.axes[0].get_ylabel() == "test accuracy (%)"
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "teacher itself" in labels and "target" in labels
        assert any(label.startswith("ceiling") for label in labels)
        assert "A (3 seeds)" in labels and "x (3 seeds)" in labels


def test_validation_vs_test_stars_the_chosen_teacher_in_a_panel_per_m():
    from semisup_utils.book.plots import validation_vs_test

    table = pd.DataFrame({
        "M": [500, 500, 500, 500, 500, 5000, 5000],
        "teacher": ["lite0@96 logreg", "lite0@224 flip logreg-cal", "lite1@224 flip logreg-cal",
                    "lite0@96 logreg-self", "lite0@96 logreg-cv", "lite0@96 logreg",
                    "lite0@224 flip + lite0@96 flip logreg-cal"],
        "val_acc": [0.60, 0.70, 0.68, 0.65, 0.66, 0.72, 0.80],
        "test_acc": [0.61, 0.71, 0.70, 0.66, 0.67, 0.73, 0.79],
        "chosen": [False, True, False, False, False, False, True]})
    fig = validation_vs_test(table, headline="lite1@224 flip logreg-cal")
    assert [ax.get_title() for ax in fig.axes] == ["M = 500", "M = 5,000"]
    first, second = fig.axes
    labels = [t.get_text() for t in first.get_legend().get_texts()]
    assert labels == ["Lite0, logreg", "Lite0, logreg-self", "Lite0, logreg-cv",
                      "Lite0, flip, logreg-cal", "Lite1 / Lite2, logreg-cal", "chosen",
                      "fixed in advance"]
    # the self-trained fit is a triangle (3 corners and the closing point), the
    # cross-validated one a square (4 and the closing point), the rest circles
    corners = [len(c.get_paths()[0].vertices) for c in first.collections[:3]]
    assert corners[1] == 4 and corners[2] == 5 and corners[0] > 5
    star = first.collections[labels.index("chosen")].get_offsets()
    assert star.tolist() == [[70.0, 71.0]]  # the chosen teacher, in %
    assert "fixed in advance" not in [t.get_text() for t in second.get_legend().get_texts()]
    assert "concatenation, logreg-cal" in [t.get_text() for t in second.get_legend().get_texts()]
    assert first.get_xlabel().startswith("accuracy on held-out")
