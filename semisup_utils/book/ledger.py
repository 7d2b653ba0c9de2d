"""Every stored run behind the book, with where, when and by which code it ran: the
provenance appendix's tables, so that the chapters' stories carry no per-seed, cost, device or
code-revision tables."""
from __future__ import annotations

import pandas as pd

from ..text.prose import UNDEFINED
from ..training.budget import Budget

# the run fields a reader audits a result by, in the order shown
COLUMNS = {"recipe": "recipe", "m": "M", "seed": "seed", "test_acc": "test (%)",
           "device": "device", "wall_s": "min", "git_rev": "code",
           "finished": "finished"}


def budget_name(row: dict) -> str:
    """A run's budget in words ('19,550 steps of batch 128, onecycle rate, ...')."""
    fields = {k: v for k, v in row.items() if k in Budget.__dataclass_fields__
              and v is not None and v == v}  # a field the row lacks (NaN): the default
    if "amount" in fields:
        fields["amount"] = int(fields["amount"])
    try:
        text = Budget(**fields).describe()
    except (TypeError, ValueError):
        return UNDEFINED
    # shorter, so the appendix's tables fit the page's column
    return (text.replace(" optimizer steps per model", " steps")
            .replace(" over each model's own training set", " (own set)")
            .replace(", augmentation ", ", "))


def runs_of(data, store) -> pd.DataFrame:
    """Every row of the results store computed on ``data`` (its fingerprint), one per run,
    with its budget in words; training minutes and accuracy in the units shown."""
    rows = [r for r in store.frame().to_dict("records")] if store.rows() else []
    rows = [r for r in rows if r.get("data") == data.fingerprint]
    if not rows:
        return pd.DataFrame(columns=["budget", *COLUMNS.values()])
    frame = pd.DataFrame(rows)
    frame["budget"] = [budget_name(r) for r in rows]
    frame["test_acc"] = 100 * frame["test_acc"].astype(float)
    frame["wall_s"] = frame["wall_s"].astype(float) / 60
    frame["finished"] = frame["finished"].astype(str).str.slice(0, 10)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    shown = frame[["budget", *COLUMNS]].rename(columns=COLUMNS)
    return shown.sort_values(["budget", "recipe", "M", "seed"], kind="stable",
                             ignore_index=True)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per budget: how many runs, of which recipes, at which M and seeds, on which devices,
    how many hours of training and which code revisions."""
    if runs.empty:
        return pd.DataFrame(columns=["runs", "recipes", "M", "seeds", "devices",
                                     "train (h)", "code revisions"])

    def joined(values):
        return ", ".join(str(v) for v in sorted(set(values), key=str) if v == v)

    grouped = runs.groupby("budget", sort=False)
    return pd.DataFrame({
        "runs": grouped.size(),
        "recipes": grouped["recipe"].nunique(),
        "M": grouped["M"].agg(lambda m: ", ".join(f"{v:,}" if v else "all labels"
                                                  for v in sorted(set(m)))),
        "seeds": grouped["seed"].agg(joined),
        "devices": grouped["device"].agg(joined),
        "train (h)": (grouped["min"].sum() / 60).round(1),
        "code revisions": grouped["code"].nunique(),
    })
