"""What the chapters compute from stored runs: summaries over seeds, differences to Model A
paired by seed, the share of the gap to the all-labels ceiling closed, verdicts.

Runs with the same seed share the known set and the initialisation, so the difference of two
models is taken seed by seed; a two-sided paired t-test at 5% decides whether a gain is more
than seed noise (with three seeds the mean must exceed 4.3 standard errors).
"""
from __future__ import annotations

import math

import pandas as pd
from scipy import stats as scipy_stats


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
            return "–"
        if row["n"] < 2 or pd.isna(row["std"]):
            return f"{row['mean']:.{digits}f}"
        return f"{row['mean']:.{digits}f} ± {row['std']:.{digits}f}"

    text = table.assign(text=table.apply(cell, axis=1))
    wide = text.pivot(index=index, columns=columns, values="text")
    wide = wide.reindex(columns=list(dict.fromkeys(table[columns])))
    return wide.fillna("–")


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
