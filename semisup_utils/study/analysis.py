"""What the chapters compute from stored runs: summaries over seeds, differences to Model A
paired by seed, the share of the gap to the all-labels ceiling closed, verdicts.

Runs with the same seed share the known set and the initialisation, so the difference of two
models is taken seed by seed; a two-sided paired t-test at 5% decides whether a gain is more
than seed noise (with three seeds the mean must exceed 4.3 standard errors).
"""
from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from ..text.markup import Markdown, code, join, md
from ..text.prose import PM, UNDEFINED, signed  # one set of glyphs and signs: prose's


def is_clear(mean: float, sd: float, n: int, level: float = 0.05) -> bool:
    """Paired t-test: is the mean difference over n seeds nonzero at this level?"""
    if n < 2 or not math.isfinite(sd):
        return False
    if sd == 0:
        return mean != 0
    return abs(mean) > scipy_stats.t.ppf(1 - level / 2, n - 1) * sd / math.sqrt(n)


def verdict(mean: float, sd: float, n: int, report_gain: float | None) -> str:
    """Whether a paired gain is clear (:func:`is_clear`) and has the report's sign."""
    if not is_clear(mean, sd, n):
        return "within seed noise"
    if report_gain is None or not math.isfinite(report_gain) or report_gain == 0:
        return "gain" if mean > 0 else "loss"
    return "holds" if (mean > 0) == (report_gain > 0) else "reversed"


def paired_gains(runs: pd.DataFrame, reference: dict | None = None, base: str = "A",
                 models=("B", "C"), column: str = "recipe") -> pd.DataFrame:
    """Per M and model: the gain over ``base`` in points of test accuracy, paired by seed.

    ``runs``: rows with columns m, seed, ``column`` (the model's name), test_acc (0..1).
    ``reference``: the report's accuracies (%) by M and model, for the report's gain and the
    verdict.
    """
    reference = reference or {}
    acc = 100 * runs.pivot_table(index=["m", "seed"], columns=column, values="test_acc")
    rows = []
    for m, part in acc.groupby(level="m"):
        for model in models:
            if model not in part or base not in part:
                continue
            diff = (part[model] - part[base]).dropna()
            if diff.empty:
                continue
            n = len(diff)
            sd = float(diff.std()) if n > 1 else float("nan")
            report = reference.get(m, {})
            report_gain = report[model] - report[base] if model in report and base in report \
                else float("nan")
            rows.append({"m": int(m), "model": model, "seeds": n, "gain": float(diff.mean()),
                         "sd": sd, "seeds better": int((diff > 0).sum()),
                         "report gain": report_gain,
                         "verdict": verdict(float(diff.mean()), sd, n, report_gain)})
    return pd.DataFrame(rows, columns=["m", "model", "seeds", "gain", "sd", "seeds better",
                                       "report gain", "verdict"])


def summary(runs: pd.DataFrame, by=("m", "recipe"), value: str = "test_acc") -> pd.DataFrame:
    """Mean, sd and number of seeds of ``value`` (in %, from 0..1) per group, groups in the
    order they first appear."""
    acc = runs.assign(**{value: 100 * runs[value].astype(float)})
    return (acc.groupby(list(by), sort=False)[value].agg(mean="mean", std="std", n="count")
            .reset_index())


def mean_sd(table: pd.DataFrame, index: str, columns: str, digits: int = 1) -> pd.DataFrame:
    """A :func:`summary` as "mean ± sd" strings, ``index`` down and ``columns`` across;
    "–" where a cell has no runs, the mean alone where it has one seed."""
    def cell(row):
        if pd.isna(row["mean"]):
            return UNDEFINED
        if row["n"] < 2 or pd.isna(row["std"]):
            return f"{row['mean']:.{digits}f}"
        return f"{row['mean']:.{digits}f}{PM}{row['std']:.{digits}f}"

    text = table.assign(text=table.apply(cell, axis=1))
    wide = text.pivot(index=index, columns=columns, values="text")
    wide = wide.reindex(columns=list(dict.fromkeys(table[columns])))
    return wide.fillna(UNDEFINED)


class Footnoted:
    """A table shown with a footnote under it: HTML in the book (the table as pandas renders
    it, the note in a paragraph below), text elsewhere. ``frame`` is the table itself."""

    def __init__(self, frame: pd.DataFrame, notes=()):
        self.frame = frame
        self.notes = [n for n in notes if n]

    def _repr_html_(self) -> str:
        notes = "".join(f'<p class="table-footnote">{html.escape(n)}</p>' for n in self.notes)
        return self.frame.to_html() + notes

    def __repr__(self) -> str:
        return "\n".join([self.frame.to_string(), *self.notes])


def undefined_as_dash(table: pd.DataFrame, note: str, digits: int = 1) -> Footnoted:
    """``table`` as a reader sees it: decimal numbers to ``digits`` places, "–" where a value
    is undefined (NaN or None; never "NaN"), and under it, when a "–" is shown, the footnote
    "– ``note``" saying why (e.g. "no gap to close: Model A reaches the ceiling"). Whole
    numbers and text stay as they are; a cell that already reads "–" (:func:`mean_sd`) counts
    as undefined too."""
    def text(value):
        if value is None or (pd.api.types.is_scalar(value) and not isinstance(value, str)
                             and pd.isna(value)):
            return UNDEFINED
        if isinstance(value, (float, np.floating)):
            return f"{value:.{digits}f}"
        return value

    shown = table.astype(object).apply(lambda column: column.map(text))
    undefined = bool((shown == UNDEFINED).to_numpy().any())
    return Footnoted(shown, [f"{UNDEFINED} {note}" if undefined else ""])


def paired_comparison(runs: pd.DataFrame, base: str, other: str, column: str = "model",
                      digits: int = 1) -> pd.DataFrame:
    """``other`` against ``base`` per M (e.g. bfloat16 against float32): each one's test
    accuracy (mean ± sd over its seeds, %), their difference paired by seed (points, mean ±
    sd) and the devices each ran on, one row per M where both have a seed in common.

    ``runs``: rows with m, seed, ``column`` (``base`` or ``other``), test_acc (0..1), device.
    """
    def spread(mean, sd, sign=""):
        return f"{mean:{sign}.{digits}f}" + ("" if pd.isna(sd) else f"{PM}{sd:.{digits}f}")

    rows = []
    for gain in paired_gains(runs, base=base, models=[other], column=column).itertuples():
        at_m = runs[runs["m"] == gain.m].groupby(column)
        acc = 100 * at_m["test_acc"].agg(["mean", "std"])
        devices = [", ".join(sorted(set(at_m.get_group(p)["device"]))) for p in (other, base)]
        rows.append({"M": gain.m, "seeds": gain.seeds,
                     **{f"{p} (%)": spread(acc.loc[p, "mean"], acc.loc[p, "std"])
                        for p in (other, base)},
                     f"{other} − {base}, paired (points)": spread(gain.gain, gain.sd, "+"),
                     f"devices, {other} / {base}": " / ".join(devices)})
    return pd.DataFrame(rows).set_index("M") if rows else pd.DataFrame()


def add_gap_closed(frame: pd.DataFrame, column: str = "recipe") -> pd.DataFrame:
    """gap_closed = (acc - acc_A) / (acc_ceiling - acc_A), per (M, seed); NaN where Model A or
    the ceiling is missing, or Model A already reaches the ceiling (no gap to close)."""
    frame = frame.copy()
    base = frame[frame[column] == "A"].set_index(["m", "seed"])["test_acc"]
    ceiling = frame[frame[column] == "ceiling"].groupby("seed")["test_acc"].first()

    def gap(row):
        k = (row["m"], row["seed"])
        if k not in base.index or row["seed"] not in ceiling.index:
            return float("nan")
        top = ceiling[row["seed"]]
        if top <= base[k]:
            return float("nan")
        return (row["test_acc"] - base[k]) / (top - base[k])

    frame["gap_closed"] = frame.apply(gap, axis=1) if len(frame) else []
    return frame


def best_per_m(frame: pd.DataFrame, exclude=("A", "ceiling"), column: str = "recipe"):
    """Per M, the recipe with the highest mean test accuracy (ties: the first listed)."""
    means = summary(frame[~frame[column].isin(exclude)], by=("m", column))
    return means.loc[means.groupby("m", sort=False)["mean"].idxmax()].reset_index(drop=True)


def ceiling_at_every_m(frame: pd.DataFrame, ms, column: str = "recipe") -> pd.DataFrame:
    """The ceiling is one run per seed (it knows every label, whatever M is): repeat its rows
    at every M of a comparison, so tables and gaps per M have it beside the others."""
    top = frame[frame[column] == "ceiling"]
    rest = frame[frame[column] != "ceiling"]
    if top.empty:
        return frame
    spread = pd.concat([top.assign(m=m) for m in ms], ignore_index=True)
    return pd.concat([rest, spread], ignore_index=True)


# ----------------------------------------------------------------------------- statements
def gains_table(gains: pd.DataFrame) -> pd.DataFrame:
    """:func:`paired_gains` as the conclusions show it: one row per M, per model the gain
    (mean ± sd, points), the seeds it wins, the report's gain ("–" where the report has no
    run at that M) and the verdict."""
    shown = gains.assign(
        **{"gain (points)": gains["gain"].map(signed)
           + gains["sd"].map(lambda v: "" if pd.isna(v) else f"{PM}{v:.1f}"),
           "report's gain": gains["report gain"].map(
               signed),
           "seeds better": gains["seeds better"].astype(str) + " of " + gains["seeds"].astype(str)})
    shown = shown.pivot(index="m", columns="model",
                        values=["gain (points)", "seeds better", "report's gain", "verdict"])
    shown.columns = [f"{model} − A: {what}" for what, model in shown.columns]
    shown.index.name = "M"
    return shown[sorted(shown.columns, key=lambda c: c[0])]


def _at(ms) -> str:
    return ", ".join(map(str, ms))


def verdict_lines(gains: pd.DataFrame) -> list[Markdown]:
    """One sentence per model (a Markdown list item): at which M the report's sign holds, is
    reversed, or is within seed noise, and its largest and smallest mean gain."""
    lines = []
    for model, part in gains.groupby("model"):
        by = {v: part[part["verdict"] == v]["m"].tolist()
              for v in ("holds", "reversed", "within seed noise")}
        other = part[part["verdict"].isin(["gain", "loss"])]
        clauses = [f"the report's sign holds at M = {_at(by['holds'])}" if by["holds"] else "",
                   f"reversed at M = {_at(by['reversed'])}" if by["reversed"] else "",
                   f"within seed noise at M = {_at(by['within seed noise'])}"
                   if by["within seed noise"] else "",
                   ", ".join(f"{signed(r.gain)} points at M = {r.m} "
                             "(no report figure)" for r in other.itertuples())]
        top, low = part.loc[part["gain"].idxmax()], part.loc[part["gain"].idxmin()]
        lines.append(md("- **{} against A** ({} seeds per M): {}. Largest mean gain {} "
                        "points (M = {}), smallest {} (M = {}).", model,
                        int(part["seeds"].max()), "; ".join(c for c in clauses if c),
                        signed(top["gain"]), int(top["m"]), signed(low["gain"]), int(low["m"])))
    return lines


def best_model_line(runs: pd.DataFrame, column: str = "recipe") -> Markdown:
    """Per M, the model with the highest mean test accuracy, with its sd over seeds (a
    Markdown list item)."""
    acc = runs.assign(test_acc=100 * runs["test_acc"])
    mean = acc.groupby(["m", column])["test_acc"].mean().unstack()
    sd = acc.groupby(["m", column])["test_acc"].std().unstack()
    best = mean.idxmax(axis=1)

    def spread(m):
        mu, sigma = mean.loc[m, best[m]], sd.loc[m, best[m]]
        return f"{mu:.1f}%, 1 seed" if pd.isna(sigma) else f"{mu:.1f} ± {sigma:.1f}%"

    return md("- **Best model per M**: {}.",
              join((md("M={}: {} ({})", m, best[m], spread(m)) for m in mean.index), ", "))


def against_a_lines(frame: pd.DataFrame, steps: int, targets: dict | None = None,
                    report: dict | None = None) -> list[Markdown]:
    """Per M, the best recipe other than A and the ceiling against Model A at the same steps:
    mean (sd, seeds), gain, the share of the gap to the ceiling closed where known, the
    report's best and the target where given, as Markdown list items (the recipe's name as
    code). ``frame``: rows with m, seed, recipe, test_acc (0..1) and, optionally, gap_closed."""
    targets, report = targets or {}, report or {}
    lines = []
    for m, part in frame.groupby("m"):
        means = (100 * part.groupby("recipe")["test_acc"].agg(["mean", "std", "count"])
                 .assign(count=lambda t: t["count"] / 100))
        others = means.drop(index=[r for r in ("A", "ceiling") if r in means.index])
        if others.empty or "A" not in means.index:
            continue
        best = others["mean"].idxmax()
        row, a = means.loc[best], means.loc["A", "mean"]
        spread = "" if pd.isna(row["std"]) else f"sd {row['std']:.1f}, "
        line = (f"{row['mean']:.1f}% ({spread}{int(row['count'])} "
                f"seed{'s' if row['count'] != 1 else ''}) against Model A's {a:.1f}% with the "
                f"same {steps:,} steps ({signed(row['mean'] - a)} points")
        if "gap_closed" in part and part[part["recipe"] == best]["gap_closed"].notna().any():
            closed = 100 * part[part["recipe"] == best]["gap_closed"].mean()
            line += f", {closed:.0f}% of the gap to the ceiling"
        line += ")"
        if m in report:
            line += f"; the report's best was {max(report[m].values())}%"
        if m in targets:
            target = targets[m]
            line += f"; target {target:.0f}% " + (
                "met" if row["mean"] >= target else f"missed by {target - row['mean']:.1f} points")
        lines.append(md("- **M={}**: {} {}.", m, code(best), line))
    return lines
