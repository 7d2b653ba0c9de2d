"""Comparisons of two models over seeds, paired by seed.

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
                 models=("B", "C")) -> pd.DataFrame:
    """Per M and model: the gain over ``base`` in points of test accuracy, paired by seed.

    ``runs``: rows with columns m, seed, model, test_acc (0..1). ``reference``: the report's
    accuracies (%) by M and model, for the report's gain and the verdict.
    """
    reference = reference or {}
    acc = 100 * runs.pivot_table(index=["m", "seed"], columns="model", values="test_acc")
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
