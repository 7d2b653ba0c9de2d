"""Figures: every line of a figure gets its own colour."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from semisup_utils.plots import MODEL_COLOURS, accuracy_vs_m, model_colours  # noqa: E402


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
