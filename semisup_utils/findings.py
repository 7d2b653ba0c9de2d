"""The study's answer, read from the results store: what the first page, the teachers chapter
and the conclusions state, computed one way.

Nothing here trains or fits: a run or teacher fit the store lacks is absent, and the page says
which chapter computes it. Accuracies are in percent; ``n`` is the number of seeds stored.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from . import notebook, report
from .executors import stored_rows
from .recipes import get_recipe
from .runs import plan

# the series of the headline figure, in the legend's order
REPORT_PROTOCOL = "report's protocol"  # suffix of A, B, C at the report's own protocol
MODEL_A = "Model A, same compute"
STUDENT = "best student (held-out teacher)"
TEACHER = "its teacher"
CEILING = "ceiling (all labels)"


def _reading(ctx):
    """The context, never training: the store is read as it is."""
    return replace(ctx, train_missing=False)


def _summary(rows: pd.DataFrame, series) -> pd.DataFrame:
    """mean, sd and n of test accuracy (%) per M, for one series (a name or a column)."""
    if rows.empty:
        return pd.DataFrame(columns=["series", "m", "mean", "sd", "n"])
    acc = rows.assign(test_acc=100 * rows["test_acc"].astype(float))
    keys = ["m"] if isinstance(series, str) else ["m", series[0]]
    out = acc.groupby(keys)["test_acc"].agg(mean="mean", sd="std", n="count").reset_index()
    if isinstance(series, str):
        return out.assign(series=series)
    return out.assign(series=out[series[0]].map(series[1])).drop(columns=series[0])


def report_protocol(data, params, ctx) -> pd.DataFrame:
    """Models A, B and C at the report's protocol over ``M_list`` (chapter m-sweep's runs)."""
    rows = stored_rows(data, notebook.report_runs(params, models=["A", "B", "C"]), ctx.store)
    names = {m: f"{m}, {REPORT_PROTOCOL}" for m in "ABC"}
    return _summary(rows, ("recipe", names))


def teacher_choice(data, params, ctx):
    """(candidates, the study of held-out fits, the choice per M) of the teachers chapter:
    the teacher picked on a held-out share of the known images, never on the test images."""
    from .teacher_eval import choose_teacher, teacher_study

    candidates = notebook.teacher_candidates(params)
    study = teacher_study(data, candidates, params["distill_M_list"], params["teacher_seeds"],
                          _reading(ctx), validation=params["teacher_validation"])
    return candidates, study, choose_teacher(study)


def fixed_teacher_recipe(params):
    """The teachers chapter's first teacher recipe, fixed before its runs."""
    return next((r for r in notebook.distill_recipes(params) if r.uses_embeddings), None)


def chosen_students(data, params, ctx, choice=None, candidates=None) -> pd.DataFrame:
    """Per M and seed, the test accuracy (0..1) of the student taught by the held-out choice,
    at the teachers chapter's budget and first augmentation, with its teacher's name and test
    accuracy (%, fitted without the held-out share). Stored runs only."""
    from .teacher_eval import chosen_recipes

    if choice is None:
        candidates, _, choice = teacher_choice(data, params, ctx)
    fixed = fixed_teacher_recipe(params)
    if fixed is None or choice.empty:
        return pd.DataFrame(columns=["m", "seed", "test_acc", "teacher", "teacher_test"])
    budget = next(iter(notebook.distill_budgets(params, data.n_train).values()))
    frames = []
    for m, recipe in chosen_recipes(choice, candidates, fixed).items():
        pick = choice[choice["chosen"] & (choice["M"] == m)].iloc[0]
        rows = stored_rows(data, plan([m], params["distill_seeds"], [recipe], budget),
                           ctx.store)
        if len(rows):
            frames.append(rows[["m", "seed", "test_acc"]].assign(
                teacher=pick["teacher"], teacher_test=100 * pick["test_acc"]))
    if not frames:
        return pd.DataFrame(columns=["m", "seed", "test_acc", "teacher", "teacher_test"])
    return pd.concat(frames, ignore_index=True)


def same_compute(data, params, ctx) -> pd.DataFrame:
    """Model A and the ceiling at the teachers chapter's budget and first augmentation."""
    budget = next(iter(notebook.distill_budgets(params, data.n_train).values()))
    grid = plan(params["distill_M_list"], params["distill_seeds"],
                [get_recipe("A"), get_recipe("ceiling")], budget)
    rows = stored_rows(data, grid, ctx.store)
    if rows.empty:
        return _summary(rows, MODEL_A)
    a = _summary(rows[rows["recipe"] == "A"], MODEL_A)
    ceiling = rows[rows["recipe"] == "ceiling"]
    # one ceiling per seed whatever M is: drawn at every M of the study
    flat = [ceiling.assign(m=m) for m in params["distill_M_list"]] if len(ceiling) else []
    return pd.concat([a, *(_summary(f, CEILING) for f in flat)], ignore_index=True)


def headline(data, params, ctx) -> pd.DataFrame:
    """Every series of the headline figure, long: series, m, mean, sd, n (%), plus the
    report's own runs (series "A/B/C, the report", n 1) where the data is CIFAR-10."""
    students = chosen_students(data, params, ctx)
    parts = [report_protocol(data, params, ctx), same_compute(data, params, ctx),
             _summary(students, STUDENT)]
    if len(students):
        teacher = (students.groupby("m")["teacher_test"].first().rename("mean")
                   .reset_index().assign(series=TEACHER, sd=float("nan"), n=1))
        parts.append(teacher)
    theirs = report.report_frame(data)
    if len(theirs):
        parts.append(theirs.rename(columns={"test_acc": "mean"}).assign(
            series=theirs["model"] + ", the report", sd=float("nan"), n=1).drop(
            columns="model"))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return frame[["series", "m", "mean", "sd", "n"]].astype({"m": int})


def at(frame: pd.DataFrame, series: str, m: int):
    """The row of ``series`` at ``m`` (a Series with mean, sd, n), or None."""
    hit = frame[(frame["series"] == series) & (frame["m"] == m)]
    return None if hit.empty else hit.iloc[0]


def answer(frame: pd.DataFrame, steps: int) -> dict[str, str]:
    """The abstract's computed phrases from :func:`headline`'s rows: ``students``, ``model_a``,
    ``report_best`` (lists over the teachers study's M), ``ceiling``, ``ms``, ``closest`` (the
    gap to the ceiling at the smallest M) and ``verdict`` (a whole sentence that holds whatever
    the runs give, including when the students are not stored)."""
    from . import prose

    students = frame[frame["series"] == STUDENT].sort_values("m")
    ms = [int(m) for m in students["m"]]
    if not ms:
        return {"ms": "", "students": "", "model_a": "", "report_best": "", "ceiling": "",
                "closest": "", "verdict": "No student of the teachers chapter is stored for "
                "this profile: run that chapter (10) first, then this page again."}

    def values(series):
        return [at(frame, series, m) for m in ms]

    def listed(rows):
        return prose.listing(prose.percent(r["mean"]) if r is not None else prose.UNDEFINED
                             for r in rows)

    report_best = []
    for m in ms:
        theirs = frame[frame["series"].str.endswith(", the report") & (frame["m"] == m)]
        report_best.append(None if theirs.empty else theirs["mean"].max())
    ceiling = at(frame, CEILING, ms[0])
    a_rows = values(MODEL_A)
    seeds = int(students["n"].max())
    phrases = {
        "ms": prose.listing(f"{m:,}" for m in ms),
        "students": listed(values(STUDENT)),
        "model_a": listed(a_rows),
        "report_best": prose.listing(prose.percent(v) if v is not None else prose.UNDEFINED
                                     for v in report_best),
        "ceiling": prose.percent(ceiling["mean"]) if ceiling is not None else prose.UNDEFINED,
        "seeds": f"{seeds} seed{'s' if seeds != 1 else ''}",
        "steps": f"{steps:,}",
    }
    first = at(frame, STUDENT, ms[0])
    phrases["closest"] = (prose.direction(first["mean"] - ceiling["mean"], "above", "below",
                                          "level with") + " the ceiling"
                          if ceiling is not None else "")
    a_first = a_rows[0]
    gain = (prose.points(first["mean"] - a_first["mean"]) + " over Model A"
            if a_first is not None else "")
    phrases["verdict"] = (
        f"With {ms[0]:,} labels, the student is {phrases['closest']} and "
        f"{gain or 'not compared with Model A (not stored)'}, at the same compute.")
    return phrases


# the teacher study's columns as the pages name them (accuracies and ECE in %)
CANDIDATE_COLUMNS = {"val_acc": "held out", "label_acc": "unknown images",
                     "test_acc": "test images", "ece": "ECE (unknown)",
                     "embed_s": "embedding (s)", "seconds": "fit (s)", "seeds": "seeds",
                     "chosen": "chosen"}


def candidates_table(choice: pd.DataFrame, chosen_only: bool = False) -> pd.DataFrame:
    """The teacher candidates per M (:func:`teacher_choice`'s choice) as a page shows them:
    accuracies and ECE in %, "✓" on the chosen one; ``chosen_only``: its row per M alone."""
    if chosen_only:
        choice = choice[choice["chosen"]]
    table = choice.assign(**{c: 100 * choice[c].astype(float) for c in
                             ("val_acc", "label_acc", "test_acc", "ece") if c in choice})
    table = table.assign(chosen=table["chosen"].map({True: "✓", False: ""}))
    table = table.rename(columns=CANDIDATE_COLUMNS).set_index(["M", "teacher"])
    return table[[c for c in CANDIDATE_COLUMNS.values() if c in table]]
