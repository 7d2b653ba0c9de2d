"""The study's answer, read from the results store: what the first page, the teachers chapter
and the conclusions state, computed one way.

Nothing here trains or fits: a run or teacher fit the store lacks is absent, and the page says
which chapter computes it. Accuracies are in percent; ``n`` is the number of seeds stored.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from . import notebook, original_report as report
from ..study.executors import stored_rows
from ..study.recipes import get_recipe
from ..study.runs import plan

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


def teacher_choice(data, params, ctx, read_only: bool = True):
    """(candidates, the study of held-out fits, the choice per M) of the teachers chapter:
    the teacher picked on a held-out share of the known images, never on the test images.
    ``read_only``: fits the store lacks are left out (the summary pages); the teachers
    chapter passes False and computes them where its context trains."""
    from ..study.teacher_eval import choose_teacher, teacher_study

    candidates = notebook.teacher_candidates(params)
    study = teacher_study(data, candidates, params["distill_M_list"], params["teacher_seeds"],
                          _reading(ctx) if read_only else ctx,
                          validation=params["teacher_validation"])
    return candidates, study, choose_teacher(study)


def fixed_teacher_recipe(params):
    """The teachers chapter's first teacher recipe, fixed before its runs."""
    return next((r for r in notebook.distill_recipes(params) if r.uses_embeddings), None)


def chosen_students(data, params, ctx, choice=None, candidates=None) -> pd.DataFrame:
    """Per M and seed, the test accuracy (0..1) of the student taught by the held-out choice,
    at the teachers chapter's budget and first augmentation, with its teacher's name and test
    accuracy (%, fitted without the held-out share). Stored runs only."""
    if choice is None:
        candidates, _, choice = teacher_choice(data, params, ctx)
    frames = []
    for m, runs in chosen_student_runs(params, data.n_train, choice, candidates).items():
        pick = choice[choice["chosen"] & (choice["M"] == m)].iloc[0]
        rows = stored_rows(data, runs, ctx.store)
        if len(rows):
            frames.append(rows[["m", "seed", "test_acc"]].assign(
                teacher=pick["teacher"], teacher_test=100 * pick["test_acc"]))
    if not frames:
        return pd.DataFrame(columns=["m", "seed", "test_acc", "teacher", "teacher_test"])
    return pd.concat(frames, ignore_index=True)


def chosen_student_runs(params, n_train: int, choice, candidates) -> dict:
    """{M: the runs of the student taught by the teacher ``choice`` picked at M}: the
    teachers chapter's first teacher recipe with the chosen fit and views, at its first
    augmentation's budget, over ``distill_seeds`` (what :func:`chosen_students` reads and
    ``semisup distill`` trains)."""
    from ..study.teacher_eval import chosen_recipes

    fixed = fixed_teacher_recipe(params)
    if fixed is None or choice.empty:
        return {}
    budget = next(iter(notebook.distill_budgets(params, n_train).values()))
    return {m: plan([m], params["distill_seeds"], [recipe], budget)
            for m, recipe in chosen_recipes(choice, candidates, fixed).items()}


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
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["series", "m", "mean", "sd", "n"])
    frame = pd.concat(parts, ignore_index=True)
    return frame[["series", "m", "mean", "sd", "n"]].astype({"m": int})


def at(frame: pd.DataFrame, series: str, m: int):
    """The row of ``series`` at ``m`` (a Series with mean, sd, n), or None."""
    hit = frame[(frame["series"] == series) & (frame["m"] == m)]
    return None if hit.empty else hit.iloc[0]


# the report's compute for B and C: 50 passes over CIFAR-10's 50,000 training images
REPORT_STEPS = 19_550


def compute_phrase(steps: int) -> str:
    """'the report's compute' or 'a fifth of ...' style: the share of the report's steps."""
    if steps == REPORT_STEPS:
        return "the report's compute"
    return f"{steps / REPORT_STEPS:.0%} of the report's compute"


def answer(frame: pd.DataFrame, steps: int) -> dict[str, str]:
    """The abstract's computed phrases from :func:`headline`'s rows: ``students``, ``model_a``,
    ``report_best`` (lists over the teachers study's M), ``ceiling``, ``ms``, ``closest`` (the
    gap to the ceiling at the smallest M) and ``verdict`` (a whole sentence that holds whatever
    the runs give, including when the students are not stored)."""
    from ..text import prose

    students = frame[frame["series"] == STUDENT].sort_values("m")
    ms = [int(m) for m in students["m"]]
    if not ms:
        return {"ms": "", "students": "", "model_a": "", "report_best": "", "ceiling": "",
                "closest": "", "seeds": "", "steps": f"{steps:,}",
                "compute": compute_phrase(steps), "verdict": "No student of the teachers chapter is stored for "
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
        "compute": compute_phrase(steps),
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
# (short headers: the table fits the page's column)
CANDIDATE_COLUMNS = {"val_acc": "held out", "label_acc": "unknown",
                     "test_acc": "test", "ece": "ECE", "embed_s": "embed (s)",
                     "seconds": "fit (s)", "seeds": "seeds", "chosen": "chosen"}


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


# ----------------------------------------------------------------------------- teachers chapter
def teacher_scores(data, params, ctx) -> pd.DataFrame:
    """The fixed teachers' accuracy on the unknown and on the test images and their ECE (%),
    per teacher, M and seed, beside the beyond-sweep chapter's teacher (its first seed, stored
    with its label accuracy only). Read from the label store."""
    from ..study.label_runs import label_run
    from ..study.recipes import at_input_size
    from ..teachers.teachers import view_name

    recipes = {r.views: r for r in notebook.distill_recipes(params) if r.uses_embeddings}
    earlier = at_input_size(get_recipe("logreg-cal-soft"), params["beyond_size"])
    rows = []
    for views, recipe in [*recipes.items(), (earlier.views, earlier)]:
        seeds = params["distill_seeds"][:1] if recipe is earlier else params["distill_seeds"]
        for m in params["distill_M_list"]:
            for seed in seeds:
                run = label_run(data, recipe.teacher, views, m, seed, ctx,
                                test=recipe is not earlier)
                rows.append({"teacher": f"{view_name(views)} {recipe.teacher}", "M": m,
                             "seed": seed, "unknown images": 100 * run["label_acc"],
                             "test images": 100 * run.get("test_acc", float("nan")),
                             "ECE (unknown)": 100 * run["ece"]})
    return pd.DataFrame(rows)


def teacher_table(scores: pd.DataFrame) -> pd.DataFrame:
    """:func:`teacher_scores` averaged over seeds, per teacher and M."""
    columns = ["unknown images", "test images", "ECE (unknown)"]
    table = scores.groupby(["teacher", "M"], sort=False).agg(
        **{c: (c, "mean") for c in columns}, seeds=("seed", "count"))
    table.columns.name = "accuracy (%), mean over seeds"
    return table


def students_table(summary: pd.DataFrame, targets: dict) -> pd.DataFrame:
    """Every student and Model A (not the ceiling), "mean ± sd" per augmentation and recipe
    down, M across, the targets in the last row."""
    from ..study.analysis import mean_sd

    students = summary[summary["recipe"] != "ceiling"]
    table = mean_sd(students.assign(column=students["augment"] + ": " + students["recipe"]),
                    index="m", columns="column")
    if targets:
        table["target"] = [targets.get(m) for m in table.index]
    table.index.name = "M"
    return table.T.rename_axis("augmentation: recipe")


def seed_acc(rows: pd.DataFrame) -> pd.Series:
    """Test accuracy (%) by seed."""
    if rows is None or not len(rows):
        return pd.Series(dtype=float)
    return 100 * rows.set_index("seed")["test_acc"].astype(float)


def paired(own: pd.Series, other: pd.Series) -> tuple[float, float, int]:
    """Mean and sd of own − other (points) over the seeds both have, and how many."""
    both = own.index.intersection(other.index)
    if not len(both):
        return float("nan"), float("nan"), 0
    diff = own[both] - other[both]
    return float(diff.mean()), float(diff.std()) if len(both) > 1 else float("nan"), len(both)


def runs_of_recipe(runs: pd.DataFrame, recipe: str, m: int, augment: str) -> pd.Series:
    """Test accuracy (%) by seed of one recipe at one M and augmentation (compare's rows)."""
    part = runs[(runs["recipe"] == recipe) & (runs["m"] == m) & (runs["augment"] == augment)]
    return seed_acc(part)


def chosen_table(chosen: pd.DataFrame, runs: pd.DataFrame, fixed: str, augment: str,
                 targets: dict) -> pd.DataFrame:
    """Per M: the held-out choice, its student (mean ± sd), the fixed teacher's student and
    Model A on the same budget and augmentation, the target, and the paired difference to
    the fixed teacher's student."""
    from ..text import prose

    rows = []
    for m, part in chosen.groupby("m"):
        own = seed_acc(part)
        diff, _, n = paired(own, runs_of_recipe(runs, fixed, m, augment))
        rows.append({
            "M": int(m), "chosen teacher": part["teacher"].iloc[0],
            "its student": prose.mean_sd(own),
            "fixed teacher's student": prose.mean_sd(runs_of_recipe(runs, fixed, m, augment)),
            "Model A": prose.mean_sd(runs_of_recipe(runs, "A", m, augment)),
            "target": targets.get(int(m)),
            "− fixed, same seeds (points)": f"{prose.signed(diff)} ({n} seeds)" if n
            else prose.UNDEFINED})
    return pd.DataFrame(rows).set_index("M") if rows else pd.DataFrame()


def c_twin_students(data, params, ctx, candidates, fixed, budget) -> pd.DataFrame:
    """For every views fitted both at C=1 (calibrated) and at a cross-validated C whose
    students the store holds for both: the teachers' label accuracy on the unknown images
    and the students' accuracy (%), and the paired difference. Nothing is trained."""
    from ..study.teacher_eval import c_twins
    from ..teachers.teachers import view_name
    from ..text import prose

    rows = []
    for m in params["distill_M_list"]:
        for views, _, _ in c_twins(candidates):
            found = [stored_rows(data, plan([m], params["distill_seeds"], [replace(
                fixed, name=f"{method} student", teacher=method, views=views)], budget),
                ctx.store) for method in ("logreg-cal", "logreg-cv")]
            if not all(len(f) for f in found):
                continue
            (cal, cv), (cal_acc, cv_acc) = found, [seed_acc(f) for f in found]
            diff, _, n = paired(cv_acc, cal_acc)
            rows.append({"M": m, "teacher": view_name(views),
                         "labels right, C=1": 100 * cal["kept_label_acc"].mean(),
                         "labels right, CV": 100 * cv["kept_label_acc"].mean(),
                         "student, C=1": prose.mean_sd(cal_acc),
                         "student, CV": prose.mean_sd(cv_acc),
                         "CV − C=1, same seeds (points)": f"{prose.signed(diff)} ({n} seeds)"})
    return pd.DataFrame(rows).set_index(["M", "teacher"]) if rows else pd.DataFrame()


def teacher_costs(choice: pd.DataFrame, candidates) -> pd.DataFrame:
    """:func:`teacher_choice`'s choice with ``gmacs``: billions of multiply-adds to embed one
    image for each candidate (:func:`teacher_eval.view_macs`), the cost the chapter plots."""
    from ..study.teacher_eval import view_macs

    gmacs = {name: view_macs(views) / 1e9 for name, _, views in candidates}
    return choice.assign(gmacs=choice["teacher"].map(gmacs))


def cost_story(costs: pd.DataFrame) -> str:
    """Per M, what the chosen teacher costs against the cheapest candidate and what that
    buys on the held-out images: a sentence that holds whatever the study chose (one clause
    for every M where the choice and its cost are the same at each)."""
    from ..text import prose

    picks = {}
    for m, part in costs.groupby("M", sort=True):
        chosen = part[part["chosen"]]
        if chosen.empty or part["gmacs"].isna().all():
            continue
        pick, cheap = chosen.iloc[0], part.loc[part["gmacs"].idxmin()]
        picks[int(m)] = (pick["gmacs"], pick["gmacs"] / cheap["gmacs"],
                         100 * (pick["val_acc"] - cheap["val_acc"]))
    if not picks:
        return "no teacher was chosen"

    def cost(gmacs, ratio):
        return (f"embeds an image with {prose.number(gmacs, 2)} billion multiply-adds, "
                + (f"{prose.number(ratio, 1 if ratio < 10 else 0)} times the cheapest "
                   "candidate's" if ratio > 1.005 else "as few as any candidate"))

    costs_at = {(round(g, 4), round(r, 2)) for g, r, _ in picks.values()}
    if len(picks) > 1 and len(costs_at) == 1:
        gmacs, ratio, _ = next(iter(picks.values()))
        text = f"At every M the chosen teacher {cost(gmacs, ratio)}"
        if ratio > 1.005:
            text += (", and scores " + _per_m({m: gain for m, (_, _, gain) in picks.items()},
                                              lambda v: f"{prose.direction(v)} it")
                     + " on the held-out images")
        return text
    clauses = [f"at M = {m:,} the chosen teacher {cost(g, r)}"
               + (f", and scores {prose.direction(gain)} it on the held-out images"
                  if r > 1.005 else "")
               for m, (g, r, gain) in picks.items()]
    text = "; ".join(clauses)
    return text[:1].upper() + text[1:]


def _per_m(values: dict, fmt) -> str:
    """"+1.9 at M = 500, +1.0 at 5,000 and −0.3 at 40,000" from {M: value}."""
    from ..text import prose

    items = [(m, v) for m, v in values.items() if v == v]
    return prose.listing(f"{fmt(v)} at {'M = ' if i == 0 else ''}{m:,}"
                         for i, (m, v) in enumerate(items))


def _ms(ms) -> str:
    from ..text import prose

    return prose.at_ms(ms)


def teachers_story(runs: pd.DataFrame, scores: pd.DataFrame, chosen: pd.DataFrame,
                   fixed: str, augments: list, targets: dict, softer: str | None = None,
                   choice: pd.DataFrame | None = None, fixed_name: str | None = None
                   ) -> dict[str, str]:
    """The teachers chapter's conclusions as sentences that hold whatever the runs give:
    ``below_teacher``, ``softer``, ``augmentation``, ``choice``, ``choice_gain``, ``targets``.
    ``runs``: compare's rows with ``augment``; ``scores``: :func:`teacher_scores`;
    ``chosen``: :func:`chosen_students`; ``fixed``: the fixed teacher's student recipe;
    ``choice``/``fixed_name``: the held-out study's choice and the fixed teacher's candidate
    name in it (both teachers then compared fitted on the same images)."""
    from ..study.analysis import is_clear
    from ..text import prose

    first = augments[0]
    ms = sorted(int(m) for m in runs["m"].unique() if m) if len(runs) else []
    fixed_test = (scores[scores["teacher"] == scores["teacher"].iloc[0]]
                  .groupby("M")["test images"].mean() if len(scores) else pd.Series())
    story = {}

    student = {m: runs_of_recipe(runs, fixed, m, first).mean() for m in ms}
    below = [m for m in ms if student[m] == student[m] and m in fixed_test
             and student[m] < fixed_test[m]]
    above = [m for m in ms if student[m] == student[m] and m in fixed_test
             and student[m] >= fixed_test[m]]
    story["below_teacher"] = (
        "At every M the student ends below its teacher's own test accuracy, by "
        + _per_m({m: fixed_test[m] - student[m] for m in below},
                 lambda v: f"{prose.number(v)} points") + "."
        if below and not above else
        f"The student ends below its teacher at {_ms(below)} and at or above it at "
        f"{_ms(above)}." if below else
        "The student ends at or above its teacher at every M stored." if above else
        "No student of the fixed teacher is stored for this profile.")

    if softer is not None and softer in set(runs["recipe"]):
        diffs = {m: paired(runs_of_recipe(runs, softer, m, first),
                           runs_of_recipe(runs, fixed, m, first)) for m in ms}
        clear = [m for m, (d, sd, n) in diffs.items() if is_clear(d, sd, n)]
        helps = [m for m in clear if diffs[m][0] > 0]
        verdict = ("a clear gain at " + _ms(helps) if helps else
                   "no clear gain at any M" + (" (a clear loss at " + _ms(clear) + ")"
                                               if clear else ", within seed noise"))
        if max((n for _, _, n in diffs.values()), default=0) < 2:
            verdict = "one seed, too few to tell a gain from seed noise"
        story["softer"] = (
            f"Softer targets (temperature 2) change the student by "
            + _per_m({m: d for m, (d, _, n) in diffs.items() if n}, prose.points)
            + f" against temperature 1 on the same seeds: {verdict}.")
    else:
        story["softer"] = "This profile trains no student on softened targets."

    if len(augments) > 1:
        other = augments[1]
        parts = []
        for recipe, name in (("A", "Model A"), (fixed, "the student")):
            diffs = {m: paired(runs_of_recipe(runs, recipe, m, other),
                               runs_of_recipe(runs, recipe, m, first))[0] for m in ms}
            parts.append(f"{name} by {_per_m(diffs, prose.points)}")
        story["augmentation"] = (f"Against the {first} augmentation, {other} changes "
                                 + prose.listing(parts) + " (paired by seed).")
    else:
        story["augmentation"] = "This profile trains under one augmentation only."

    if len(chosen):
        names = chosen.groupby("m")["teacher"].first()
        teacher_test = chosen.groupby("m")["teacher_test"].first()
        same = [m for m in names.index if names[m] == fixed_name]
        story["choice"] = "; ".join(
            f"at M = {m:,}: {names[m]}" + (" (the teacher fixed in advance)"
                                           if m in same else "") for m in names.index) + "."
        held_out = (choice[choice["teacher"] == fixed_name].set_index("M")["test_acc"] * 100
                    if choice is not None and fixed_name is not None else pd.Series())
        gains = {m: teacher_test[m] - held_out.get(m, float("nan")) for m in names.index}
        students = {m: paired(seed_acc(chosen[chosen["m"] == m]),
                              runs_of_recipe(runs, fixed, m, first))[0] for m in names.index}
        story["choice_gain"] = (
            "At every M it is the teacher fixed in advance, so its students are the fixed "
            "teacher's." if len(same) == len(names) else
            "On the test images, both fitted without the held-out share, the chosen teacher "
            "is " + _per_m(gains, prose.points) + " against the fixed one; its students "
            "move by "
            + _per_m(students, prose.points) + " against the fixed teacher's, on the same "
            "seeds.")
        best = {int(m): seed_acc(part).mean() for m, part in chosen.groupby("m")}
    else:
        story["choice"] = "No held-out choice is stored for this profile."
        story["choice_gain"] = ""
        best = student
    ceiling = runs[(runs["recipe"] == "ceiling") & (runs["augment"] == first)]
    ceiling_acc = 100 * ceiling["test_acc"].astype(float).mean() if len(ceiling) else None
    verdicts = []
    for m, acc in best.items():
        if m in targets and acc == acc:
            verdicts.append(f"{prose.percent(acc)} at M = {m:,} against a target of "
                            f"{prose.percent(targets[m], 0)} ("
                            + ("met" if acc >= targets[m] else
                               f"missed by {prose.number(targets[m] - acc)} points") + ")")
    story["targets"] = ("The best students reach " + prose.listing(verdicts) + "."
                        if verdicts else "This data has no targets.")
    story["ceiling"] = ("" if ceiling_acc is None else
                        "Against the same CNN trained on every true label ("
                        + prose.percent(ceiling_acc) + "), they are "
                        + _per_m({m: a - ceiling_acc for m, a in best.items()},
                                 lambda d: prose.direction(d)) + ".")
    return story


README_MARKERS = ("<!-- findings:start -->", "<!-- findings:end -->")


def readme_block(frame: pd.DataFrame, steps: int, profile: str) -> str:
    """The README's findings, written from :func:`headline`'s rows (never typed): per M of the
    teachers study, the report's best, Model A and the best student at the same compute, the
    student's teacher and the ceiling, in %; Markdown whose every value is escaped."""
    from ..text import prose

    said = answer(frame, steps)
    ms = sorted(int(m) for m in frame[frame["series"] == STUDENT]["m"])
    lines = [prose.md("Test accuracy (%), the report's CNN from scratch, mean of {} (profile "
                      "{}, the JPEG copy of CIFAR-10; computed by `semisup findings --readme "
                      "README.md` from the results store):", said.get("seeds"),
                      prose.code(profile)), "",
             prose.md("| M | report's best | Model A | best student | its teacher | ceiling |"),
             prose.md("| ---: | ---: | ---: | ---: | ---: | ---: |")]
    for m in ms:
        theirs = frame[frame["series"].str.endswith(", the report") & (frame["m"] == m)]
        cells = [prose.number(theirs["mean"].max()) if len(theirs) else prose.UNDEFINED]
        for series in (MODEL_A, STUDENT, TEACHER, CEILING):
            row = at(frame, series, m)
            cells.append(prose.UNDEFINED if row is None else
                         prose.mean_sd([row["mean"]]) if row["n"] == 1 or row["sd"] != row["sd"]
                         else f"{prose.number(row['mean'])} ± {prose.number(row['sd'])}")
        lines.append(prose.md("| {:,} | {} |", m, prose.join(cells, " | ")))
    lines += ["", prose.md("Model A, the student and the ceiling had {} steps of batch 128 "
                           "each; the report's runs were single runs on the original CIFAR-10. "
                           "{}", said.get("steps"), said["verdict"])]
    return prose.join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the README's markers replaced by ``block``."""
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} markers: add both lines where the findings go")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}\n{end}{tail}"
