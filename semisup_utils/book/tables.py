"""Tables the chapters show: one call each, built from stored runs.

The chapters' visible code teaches the method; pivoting, renaming and formatting a table for
the page happens here, tested, with the glyphs of :mod:`semisup_utils.study.analysis`.
"""
from __future__ import annotations

import pandas as pd

from ..study.analysis import undefined_as_dash
from ..text.prose import PM, UNDEFINED  # noqa: F401  (the glyphs' one home)


# ----------------------------------------------------------------- the report's models (05, 06)
def _percent(values) -> pd.Series:
    """Accuracies in 0..1 as percentages; None (Model A's label accuracy) stays undefined."""
    return 100 * pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")


def _signed_sd(mean, sd) -> str:
    """A paired difference as "+1.4 ± 0.3" (the mean alone for one seed), sign "−"."""
    from ..text.prose import signed

    return signed(mean) + ("" if pd.isna(sd) else f"{PM}{sd:.1f}")


def report_models_table(frame: pd.DataFrame, reported: dict | None = None,
                        weight: float | None = None, column: str = "recipe"):
    """Chapter 5's table, one row per model of ``frame`` (runs with ``column``, n_inferred,
    label_acc and test_acc in 0..1, history): what it trains on, how many inferred labels it
    adds and the share of them that is right, its test accuracy, the report's at the same M
    (``reported``: {model: %}, left out when empty) and its last epoch's training loss.
    ``weight``: the inferred labels' loss weight, written into what B and C train on."""
    from .original_report import MODELS

    models = list(frame[column])
    table = pd.DataFrame({
        "trained on": [MODELS.get(m, m).replace(
            "(weight w)", "(weight w)" if weight is None else f"(weight {weight:g})")
            for m in models],
        "inferred labels": [f"{int(n):,}" for n in frame["n_inferred"]],
        "label accuracy (%)": _percent(frame["label_acc"]).to_numpy(),
        "test accuracy (%)": _percent(frame["test_acc"]).to_numpy(),
    }, index=pd.Index(models, name="model"))
    if reported:
        table["report's test accuracy (%)"] = [reported.get(m) for m in models]
    table["last epoch's training loss"] = [
        f"{h[-1]['loss']:.3f}" if len(h) and "loss" in h[-1] else None
        for h in frame["history"]]
    return undefined_as_dash(table, "no inferred labels: Model A learns from the known "
                             "labels only.")


def report_sweep_table(runs: pd.DataFrame, reported: dict | None = None,
                       column: str = "recipe"):
    """Chapter 6's summary, one row per M and, per model, its test accuracy (mean ± sd over
    the seeds, %), its mean label accuracy where it infers labels, and the report's single
    run (``reported``: {M: {model: %}}) where the report has one at that M."""
    from ..study.analysis import mean_sd, summary

    reported = reported or {}
    tests = mean_sd(summary(runs, by=("m", column)), index="m", columns=column)
    inferred = runs[runs["label_acc"].notna()]
    labels = (summary(inferred, by=("m", column), value="label_acc")
              .pivot(index="m", columns=column, values="mean")
              if len(inferred) else pd.DataFrame(index=tests.index))
    parts = {}
    for model in tests.columns:
        part = pd.DataFrame({"test acc. (%)": tests[model]}, index=tests.index)
        if model in labels:
            part["label acc. (%)"] = labels[model].reindex(tests.index)
        if any(model in reported.get(m, {}) for m in tests.index):
            part["report (%)"] = [reported.get(m, {}).get(model) for m in tests.index]
        parts[f"Model {model}"] = part
    table = pd.concat(parts, axis=1)
    table.index.name = "M"
    return undefined_as_dash(table, "the report has no run at this M.")


def paired_gains_table(gains: pd.DataFrame, base: str = "A"):
    """:func:`analysis.paired_gains` as chapter 6 shows it: one row per M and, per model,
    its gain over ``base`` paired by seed (points, mean ± sd), the seeds where it is ahead,
    the report's gain and the verdict."""
    from ..text.prose import signed

    parts = {}
    for model, part in gains.groupby("model", sort=False):
        part = part.set_index("m")
        parts[f"Model {model} against {base}"] = pd.DataFrame({
            "gain (points)": [_signed_sd(g, s) for g, s in zip(part["gain"], part["sd"])],
            "seeds ahead": [f"{b} of {n}" for b, n in
                            zip(part["seeds better"], part["seeds"])],
            "report's gain": [signed(g) if pd.notna(g) else None
                              for g in part["report gain"]],
            "verdict": list(part["verdict"]),
        }, index=part.index)
    table = pd.concat(parts, axis=1).sort_index() if parts else pd.DataFrame()
    table.index.name = "M"
    return undefined_as_dash(table, "the report has no run at this M.")


def precision_table(runs: pd.DataFrame, base: str = "fp32", other: str = "bf16",
                    column: str = "model"):
    """One model trained at two precisions with the same seeds (``runs``: m, seed,
    ``column`` naming ``base`` or ``other``, test_acc in 0..1): per M where both have seeds in
    common, each one's test accuracy (mean ± sd, %), their difference paired by seed
    (points) and its verdict (:func:`analysis.paired_gains`); None when no M has both."""
    from ..study.analysis import paired_gains
    from ..text.prose import mean_sd

    gains = paired_gains(runs, base=base, models=[other], column=column)
    if gains.empty:
        return None
    rows = []
    for gain in gains.itertuples():
        at_m = runs[runs["m"] == gain.m]
        acc = {p: mean_sd(100 * at_m[at_m[column] == p]["test_acc"]) for p in (other, base)}
        rows.append({"M": gain.m, "seeds": gain.seeds, f"{other} (%)": acc[other],
                     f"{base} (%)": acc[base],
                     f"{other} − {base}, paired (points)": _signed_sd(gain.gain, gain.sd),
                     "verdict": gain.verdict})
    return undefined_as_dash(pd.DataFrame(rows).set_index("M"), "no runs.")


def verdict_sentences(gains: pd.DataFrame) -> dict:
    """{model: sentence}: :func:`analysis.verdict_lines` as plain text to glue into prose,
    without the list marker, the bold name and the count of seeds, M with thousands commas
    (the signs are prose's: :func:`prose.signed`)."""
    import re

    from ..study.analysis import verdict_lines

    sentences = {}
    for model, line in zip(sorted(gains["model"].unique()), verdict_lines(gains)):
        text = re.sub(r"^- \*\*.*?\*\* \(\d+ seeds per M\): ", "", line)
        text = re.sub(r"(?<![\d.,])\d{4,}(?!\.?\d)", lambda m: f"{int(m.group(0)):,}", text)
        sentences[model] = text[:1].upper() + text[1:]
    return sentences


def report_verdicts(gains: pd.DataFrame, runs: pd.DataFrame, budget, method: str,
                    backbone: str, input_size: int):
    """Chapter 11's verdicts on the report's claims (:func:`analysis.verdict_lines`), the best
    model per M and the protocol with the devices the runs ran on, as one Markdown fragment
    (every name from the store or the parameters escaped)."""
    from ..study.analysis import best_model_line, verdict_lines
    from ..teachers.teachers import view_name
    from ..text.markup import join, md

    devices = ", ".join(sorted(str(d) for d in runs["device"].unique()))
    return md("{}\n\nProtocol: {}, Model B's labels {} on {}; devices: {}.",
              join([*verdict_lines(gains), best_model_line(runs)]), budget.describe(),
              method, view_name([(backbone, input_size)]), devices)


def full_compute_lines(runs: pd.DataFrame, n_train: int, steps: str):
    """Chapter 11's list of the stored runs at the report's full compute (``steps``, e.g.
    "19,550 steps"): recipe, M, seed, test accuracy, minutes and device, one Markdown list
    item each (names escaped); "None stored yet" without any."""
    from ..text.markup import join, md

    if not len(runs):
        return md("None stored yet ({} per model).", steps)
    return join(md("- {}, {}, seed {}: {:.1f}% after {} ({:.0f} min on {})", r.recipe,
                   f"all {n_train:,} true labels" if r.m == 0 else f"M={r.m}", r.seed,
                   100 * r.test_acc, steps, r.wall_s / 60, r.device)
                for r in runs.itertuples())


# ------------------------------------------------- beyond the report (07, 08, 09): labels, recipes
def _size(pixels) -> str:
    return f"{int(pixels)}x{int(pixels)}"


def _ms(ms) -> str:
    """"M = 500, 5,000 and 40,000" (prose.at_ms)."""
    from ..text.prose import at_ms

    return at_ms(ms)


def _span(values, unit: str = " points") -> str:
    """The values' range as signed points: "+1.9 points", or "between −0.3 and +1.9 points"."""
    from ..text.prose import signed

    values = sorted(float(v) for v in values if pd.notna(v))
    if not values:
        return UNDEFINED
    low, high = signed(values[0]), signed(values[-1])
    return f"{low}{unit}" if low == high else f"between {low} and {high}{unit}"


def _moves(values, what: str, up: str = "lifts", down: str = "lowers",
           mixed: str = "changes") -> str:
    """"lifts A by between 0.8 and 5.6 points", "lowers A by 1.0 points" (the size, the verb
    giving the sign), or "changes A by between −1.0 and +2.0 points" where the signs differ."""
    verb = _verb(values, up, down, mixed)
    if verb == mixed:
        return f"{verb} {what} by {_span(values)}"
    sizes = [abs(float(v)) for v in values if pd.notna(v)]
    return f"{verb} {what} by {_span(sizes).replace('+', '')}"


def _verb(values, up: str = "lifts", down: str = "lowers", mixed: str = "changes") -> str:
    """The verb the signs of ``values`` call for: ``up`` if all are positive, ``down`` if all
    are negative, else ``mixed``."""
    values = [float(v) for v in values if pd.notna(v)]
    if values and all(v > 0 for v in values):
        return up
    if values and all(v < 0 for v in values):
        return down
    return mixed


def _minus(text: str) -> str:
    """A number's hyphen-minus as the minus sign "−" (the en dash "–" stays: undefined)."""
    import re

    from ..text.prose import MINUS

    return re.sub(r"(?<![\w.])-(?=\d)", MINUS, text)


def budget_relation(steps: int, other: int) -> str:
    """How ``steps`` compares with ``other`` steps, in words: "6.0% of the 19,550", "1.5 times
    the 400", "the same as the 19,550"."""
    from ..text.prose import number

    if steps == other:
        return f"the same as the {number(other, 0)}"
    ratio = steps / other
    if ratio < 1:
        share = number(100 * ratio, 0 if ratio >= 0.1 else 1)
        return f"{share}% of the {number(other, 0)}"
    return f"{number(ratio, 1)} times the {number(other, 0)}"


def report_labels_phrase(label_accuracy: dict) -> str:
    """The report's K-means label accuracies (``report.label_accuracy(data)``) as a clause,
    "22% to 31% of them right"; "" where the report has none (data other than CIFAR-10)."""
    from ..text.prose import number

    values = []
    for value in label_accuracy.values():
        values.extend(value if isinstance(value, (tuple, list)) else [value])
    if not values:
        return ""
    low, high = min(values), max(values)
    if low == high:
        return f"{number(low, 0)}% of them right"
    return f"{number(low, 0)}% to {number(high, 0)}% of them right"


def label_accuracy_table(study: pd.DataFrame):
    """Chapter 7's table: :func:`label_runs.label_study` rows (M, method, input_size,
    label_acc in 0..1) as label accuracy (%), M and method down (in the order studied), one
    column per input size."""
    table = 100 * study.pivot_table(index=["M", "method"], columns="input_size",
                                    values="label_acc", sort=False)
    table = table.reindex(columns=sorted(table.columns))
    table.columns = [f"{_size(c)} (%)" for c in table.columns]
    table.columns.name = "label accuracy"
    return undefined_as_dash(table, "not computed.")


def best_labels(study: pd.DataFrame, base: str = "kmeans") -> pd.DataFrame:
    """Per M (index): the method and input size whose labels are most often right
    (``method``, ``size``, ``acc`` in %) and the report's way, ``base`` at the smallest input
    size studied (``base size``, ``base acc``, ``gain`` in points; NaN where ``base`` was not
    studied)."""
    acc = study.assign(acc=100 * study["label_acc"].astype(float))
    smallest = int(acc["input_size"].min())
    rows = []
    for m, part in acc.groupby("M", sort=True):
        top = part.loc[part["acc"].idxmax()]
        ref = part[(part["method"] == base) & (part["input_size"] == smallest)]["acc"]
        base_acc = float(ref.iloc[0]) if len(ref) else float("nan")
        rows.append({"M": int(m), "method": top["method"], "size": int(top["input_size"]),
                     "acc": float(top["acc"]), "base size": smallest, "base acc": base_acc,
                     "gain": float(top["acc"]) - base_acc})
    return pd.DataFrame(rows).set_index("M")


def best_labels_table(best: pd.DataFrame, base: str = "kmeans"):
    """:func:`best_labels` as the page shows it: per M the best method and input size, its
    label accuracy, the report's way's and the gain (signed points)."""
    from ..text.prose import signed

    size = _size(best["base size"].iloc[0]) if len(best) else ""
    table = pd.DataFrame({
        "best method": best["method"],
        "input size": best["size"].map(_size),
        "label acc. (%)": best["acc"],
        f"{base} at {size} (%)": best["base acc"],
        "gain (points)": [signed(g) if pd.notna(g) else None for g in best["gain"]],
    }, index=best.index)
    return undefined_as_dash(table, f"{base} is not among the methods compared.")


def labels_story(study: pd.DataFrame, base: str = "kmeans") -> dict:
    """Chapter 7's computed phrases: ``best`` (which method and input size labels best, how
    often right), ``over_base`` (against ``base`` at the smallest size, the report's way),
    ``method_effect`` (at the smallest size, learning from the known labels against
    ``base``) and ``size_effect`` (the best method fed the largest size against the
    smallest)."""
    from ..text.prose import listing, number, percent

    best = best_labels(study, base)
    acc = study.assign(acc=100 * study["label_acc"].astype(float))
    sizes = sorted(int(s) for s in acc["input_size"].unique())
    small, large = sizes[0], sizes[-1]
    winners = list(dict.fromkeys(zip(best["method"], best["size"])))
    at = listing(f"{percent(r.acc)}" + (" of the unknown images" if i == 0 else "")
                 + f" at M = {number(m, 0)}" for i, (m, r) in enumerate(best.iterrows()))
    if len(winners) == 1:
        method, size = winners[0]
        phrases = {"best": f"{method} at {_size(size)} gives the best labels at every M "
                           f"compared, right for {at}"}
    else:
        phrases = {"best": "The best labels come from " + listing(
            f"{r['method']} at {_size(r['size'])} at M = {number(m, 0)} ({percent(r['acc'])})"
            for m, r in best.iterrows())}
    if best["base acc"].notna().any():
        way = " (the report's way)" if small == 32 else ", the smallest size compared"
        phrases["over_base"] = (
            f"against {listing(percent(v) for v in best['base acc'])} for {base} at "
            f"{_size(small)}{way}, a gain of {_span(best['gain'])}")
    else:
        phrases["over_base"] = f"({base}, the report's way, is not among the methods compared)"
    at_small = acc[acc["input_size"] == small]
    learners = at_small[at_small["method"] != base]
    if len(learners) and best["base acc"].notna().any():
        top = learners.loc[learners.groupby("M")["acc"].idxmax()].set_index("M")
        names = listing(dict.fromkeys(top["method"]))
        diff = top["acc"] - best["base acc"].reindex(top.index)
        phrases["method_effect"] = (
            f"At {_size(small)}, the best method that learns from the known labels ({names}) "
            + _moves(diff, base, "beats", "trails", "differs from"))
    else:
        phrases["method_effect"] = ""
    method = winners[0][0]
    mine = acc[acc["method"] == method].set_index(["M", "input_size"])["acc"]
    if large > small:
        lift = [mine[(m, large)] - mine[(m, small)] for m in best.index
                if (m, large) in mine.index and (m, small) in mine.index]
        phrases["size_effect"] = (f"Feeding {method} {_size(large)} images instead of "
                                  f"{_size(small)} "
                                  + _moves(lift, "its label accuracy"))
    else:
        phrases["size_effect"] = "Only one input size is compared here"
    return phrases


def per_recipe(runs: pd.DataFrame, value: str = "test_acc", recipes=None, by: str = "recipe",
               digits: int = 1, name: str | None = None, note: str = "no run stored."):
    """``value`` (0..1, shown in %) per recipe and M, mean ± sd over the seeds (the mean alone
    for one seed): ``by="recipe"``: recipes down (in the order of ``recipes``), M across;
    ``by="m"``: M down, recipes across. "–" where a recipe has no value, with ``note``."""
    return undefined_as_dash(_per_recipe(runs, value, recipes, by, digits, name), note)


def _per_recipe(runs, value, recipes, by, digits, name) -> pd.DataFrame:
    from ..study.analysis import mean_sd, summary

    recipes = list(recipes) if recipes is not None else list(dict.fromkeys(runs["recipe"]))
    part = runs[runs["recipe"].isin(recipes)]
    means = summary(part, by=("m", "recipe"), value=value)
    ms = sorted(means["m"].unique())
    if by == "recipe":
        wide = mean_sd(means, index="recipe", columns="m", digits=digits)
        wide = wide.reindex(index=recipes, columns=ms)
        wide.columns = [f"M={m}" for m in wide.columns]
    else:
        wide = mean_sd(means, index="m", columns="recipe", digits=digits)
        wide = wide.reindex(index=ms, columns=recipes)
        wide.index.name = "M"
    wide = wide.fillna(UNDEFINED).map(_minus)
    wide.columns.name = name
    return wide


def sweep_table(runs: pd.DataFrame, recipes, targets: dict | None = None, name: str = ""):
    """Chapter 9's table: per M (down) every recipe's test accuracy (mean ± sd over the
    seeds, %) but the ceiling's, and the target where ``targets`` sets one."""
    students = [r for r in recipes if r != "ceiling"]
    wide = _per_recipe(runs, "test_acc", students, "m", 1, name)
    note = "no run stored."
    if targets:
        wide["target"] = [targets.get(m) for m in wide.index]
        note = f"no target at this M: targets are set at {_ms(targets)}."
    return undefined_as_dash(wide, note)


def ceiling_phrase(runs: pd.DataFrame) -> str:
    """The ceiling's test accuracy over its seeds, "72.2 ± 0.6%" ("–" when not run); it is one
    run per seed whatever M is (repeated per M by ``analysis.ceiling_at_every_m``)."""
    from ..text.prose import mean_sd

    top = runs[runs["recipe"] == "ceiling"].drop_duplicates("seed")
    text = mean_sd(100 * top["test_acc"])
    return text if text == UNDEFINED else text + "%"


def against_a_sentences(runs: pd.DataFrame, steps: int, targets: dict | None = None,
                        report: dict | None = None) -> dict:
    """{M: sentence}: :func:`analysis.against_a_lines` as plain text to glue (no list marker,
    bold or code marks; M with thousands commas; the minus sign), saying so where the best
    recipe's gap to the ceiling is undefined because Model A is at or above the ceiling."""
    import re

    from ..study.analysis import against_a_lines
    from ..text.prose import number

    sentences = {}
    lines = against_a_lines(runs, steps, targets, report)
    ms = [m for m, part in runs.groupby("m")
          if "A" in set(part["recipe"]) and set(part["recipe"]) - {"A", "ceiling"}]
    for m, line in zip(ms, lines):
        text = re.sub(r"^- \*\*M=(\d+)\*\*: `([^`]*)`",
                      lambda g: f"At M = {number(int(g.group(1)), 0)}, {g.group(2)} reaches",
                      line)
        if "of the gap" not in text and "gap_closed" in runs:
            text = text.rstrip(".") + ("; no gap to close: Model A is at or above the "
                                       "ceiling at this M.")
        text = text.replace(" points, ", " points, closing ")
        sentences[int(m)] = _minus(text)
    return sentences


def _winners(recipe_of_m: pd.Series, every: str) -> str:
    """Which recipe is best where (``recipe_of_m``: the best recipe, indexed by M): "x is the
    best recipe at every M", or "x is the best recipe at M = 500 and 5,000, y at M = 40,000"
    (the recipe that wins most often first)."""
    by_recipe = {}
    for m, recipe in recipe_of_m.sort_index().items():
        by_recipe.setdefault(recipe, []).append(m)
    ranked = sorted(by_recipe.items(), key=lambda kv: -len(kv[1]))
    if len(ranked) == 1:
        return f"{ranked[0][0]} is the best recipe {every}"
    first, *rest = ranked
    return (f"{first[0]} is the best recipe at {_ms(first[1])}, "
            + ", ".join(f"{r} at {_ms(ms)}" for r, ms in rest))


def screening_story(runs: pd.DataFrame, steps: int) -> dict:
    """Chapter 8's computed phrases: ``winner`` (the best recipe per M, Model A and the ceiling
    aside), ``against_a`` (each against Model A at the same steps, with the share of the gap
    closed: :func:`against_a_sentences`), ``ceiling`` (where the ceiling is at or below Model
    A at this budget)."""
    from ..study.analysis import best_per_m
    from ..text.prose import number, percent

    best = best_per_m(runs).sort_values("m")
    winner = _winners(best.set_index("m")["recipe"], "at every M screened")
    acc = 100 * runs.groupby(["m", "recipe"])["test_acc"].mean()
    behind = [row.m for row in best.itertuples()
              if "A" in acc[row.m] and row.mean <= acc[row.m]["A"]]
    if behind:
        winner += f"; but no recipe beats Model A at {_ms(behind)}"
    below = [m for m in sorted(runs["m"].unique())
             if ("A" in acc[m] and "ceiling" in acc[m]) and acc[m]["ceiling"] <= acc[m]["A"]]
    top = acc.xs("ceiling", level="recipe").mean() if "ceiling" in set(runs["recipe"]) \
        else float("nan")
    if below:
        ceiling = (f"At this budget the ceiling ({percent(top)}) is at or below Model A at "
                   f"{_ms(below)}: with so few steps even every true label does not lift the "
                   "CNN above Model A there, so a recipe's lead at those M says little")
    else:
        ceiling = (f"At this budget the ceiling ({percent(top)}) is above Model A at every M "
                   "screened")
    return {"winner": winner, "ceiling": ceiling,
            "against_a": " ".join(against_a_sentences(runs, steps).values()).replace(
                f" with the same {steps:,} steps", ""),
            "steps": number(steps, 0)}


def schedule_table(runs: pd.DataFrame, schedule: str):
    """Chapter 9's schedule comparison (``runs``: m, recipe A or ceiling, schedule, test_acc):
    per row (Model A at each M, the ceiling once) the test accuracy under the report's
    constant rate and under ``schedule``, and the gain (points)."""
    from ..text.prose import signed

    table = _schedule_frame(runs, schedule)
    shown = table.assign(**{"gain (points)": table["gain"].map(signed)}).drop(columns="gain")
    return undefined_as_dash(shown, "not run.")


def _schedule_frame(runs, schedule) -> pd.DataFrame:
    acc = 100 * runs.pivot_table(index=["recipe", "m"], columns="schedule", values="test_acc")
    rows = []
    for (recipe, m), row in acc.iterrows():
        label = "ceiling (every M)" if recipe == "ceiling" else f"{recipe}, M={m}"
        if label in [r["run"] for r in rows]:
            continue
        rows.append({"run": label, "constant (%)": row.get("constant"),
                     f"{schedule} (%)": row.get(schedule),
                     "gain": row.get(schedule) - row.get("constant")})
    return pd.DataFrame(rows).set_index("run")


def schedule_phrase(runs: pd.DataFrame, schedule: str) -> str:
    """What the schedule alone does: "lifts Model A by between +0.8 and +5.7 points over M and
    the ceiling by +7.6 points" (verb from the signs)."""
    table = _schedule_frame(runs, schedule)
    a = table[table.index.str.startswith("A,")]["gain"]
    top = table[table.index.str.startswith("ceiling")]["gain"]

    parts = [_moves(a, "Model A") + " over M"] if len(a) else []
    if len(top):
        parts.append(_moves(top, "the ceiling"))
    return " and ".join(parts) if parts else UNDEFINED


def teacher_scores_table(rows: pd.DataFrame, teachers):
    """Chapter 9's teachers (``rows``: M, teacher of, label_acc, ece in 0..1): label accuracy
    and ECE (%) per M, one row per teacher in the order of ``teachers``."""
    frame = rows.assign(**{"label acc. (%)": 100 * rows["label_acc"],
                           "ECE (%)": 100 * rows["ece"]})
    table = frame.pivot(index="teacher of", columns="M",
                        values=["label acc. (%)", "ECE (%)"])
    return undefined_as_dash(table.reindex(list(teachers)), "not computed.")


def calibration_phrase(rows: pd.DataFrame, plain: str, calibrated: str) -> str:
    """Temperature scaling, ``calibrated`` against ``plain`` (rows as for
    :func:`teacher_scores_table`): what it does to the label accuracy and to the ECE."""
    from ..text.prose import choose, percent

    mine = rows.set_index(["teacher of", "M"])
    if plain not in mine.index.get_level_values(0) or \
            calibrated not in mine.index.get_level_values(0):
        return UNDEFINED
    p, c = mine.loc[plain], mine.loc[calibrated]
    same = bool(((100 * (p["label_acc"] - c["label_acc"])).abs() < 0.05).all())
    lo_p, hi_p = 100 * p["ece"].min(), 100 * p["ece"].max()
    lo_c, hi_c = 100 * c["ece"].min(), 100 * c["ece"].max()
    span_p = percent(lo_p) if percent(lo_p) == percent(hi_p) \
        else f"{percent(lo_p)}–{percent(hi_p)}"
    span_c = percent(lo_c) if percent(lo_c) == percent(hi_c) \
        else f"{percent(lo_c)}–{percent(hi_c)}"
    labels = choose(same, "leaves every label as it was (the same label accuracy)",
                    "changes the label accuracy a little")
    verb = choose(c["ece"].mean() < p["ece"].mean(), "cuts", "raises")
    return f"{labels} and {verb} the ECE from {span_p} to {span_c} over M"


def best_against_a(runs: pd.DataFrame, targets: dict | None = None) -> pd.DataFrame:
    """Per M (index): the recipe with the best mean test accuracy (A and the ceiling aside,
    :func:`analysis.best_per_m`), its mean and sd (%), Model A's mean, the gain over A paired
    by seed (mean, sd, seeds ahead of A, seeds, whether a paired t-test calls it clear), the
    mean share of the gap to the ceiling closed (%), and the target with the distance to it
    (points, positive: met)."""
    from ..study.analysis import best_per_m, is_clear, paired_gains

    targets = targets or {}
    rows = []
    for best in best_per_m(runs).sort_values("m").itertuples():
        at_m = runs[runs["m"] == best.m]
        gain = paired_gains(at_m, base="A", models=[best.recipe])
        if gain.empty:
            continue
        gain = gain.iloc[0]
        mine = at_m[at_m["recipe"] == best.recipe]
        closed = 100 * mine["gap_closed"].mean() if "gap_closed" in mine else float("nan")
        target = targets.get(best.m, float("nan"))
        rows.append({"M": int(best.m), "recipe": best.recipe, "mean": best.mean,
                     "sd": best.std, "A": 100 * at_m[at_m["recipe"] == "A"]["test_acc"].mean(),
                     "gain": gain["gain"], "gain sd": gain["sd"],
                     "ahead": int(gain["seeds better"]), "seeds": int(gain["seeds"]),
                     "clear": is_clear(gain["gain"], gain["sd"], int(gain["seeds"])),
                     "gap closed": closed, "target": target, "to target": best.mean - target})
    return pd.DataFrame(rows).set_index("M") if rows else pd.DataFrame()


def best_against_a_table(best: pd.DataFrame):
    """:func:`best_against_a` as the page shows it."""
    from ..text.prose import number, signed

    def spread(mean, sd, sign=False):
        text = signed(mean) if sign else number(mean)
        return text + ("" if pd.isna(sd) else f"{PM}{number(sd)}")

    def verdict(row):
        if pd.isna(row["target"]):
            return None
        if row["to target"] >= 0:
            return "met"
        return f"short by {number(-row['to target'])}"

    table = pd.DataFrame({
        "best recipe": best["recipe"],
        "test (%)": [spread(m, s) for m, s in zip(best["mean"], best["sd"])],
        "Model A (%)": best["A"],
        "− A, paired (points)": [spread(g, s, True)
                                         for g, s in zip(best["gain"], best["gain sd"])],
        "gap closed": [None if pd.isna(g) else _minus(f"{g:.0f}%")
                           for g in best["gap closed"]],
        "target (%)": best["target"],
        "target met?": [verdict(r) for _, r in best.iterrows()],
    }, index=best.index)
    return undefined_as_dash(table, "no target at this M, or no gap to close (Model A at or "
                                    "above the ceiling).")


def gains_phrase(gains: pd.DataFrame, model: str, base: str = "A") -> str:
    """``model`` against ``base`` paired by seed (rows of :func:`analysis.paired_gains`
    without a reference: verdicts gain, loss or within seed noise), by M: "a clear loss at
    M = 500 and 1,000 (between −15.9 and −11.2 points); within seed noise at M = 40,000"."""
    part = gains[gains["model"] == model].sort_values("m")
    if part.empty:
        return UNDEFINED
    clauses = []
    for verdict, words in (("gain", "a clear gain"), ("loss", "a clear loss"),
                           ("within seed noise", "within seed noise")):
        rows = part[part["verdict"] == verdict]
        if len(rows):
            clauses.append(f"{words} at {_ms(rows['m'])} ({_span(rows['gain'])})")
    return f"{model} against {base}: " + "; ".join(clauses)


def sweep_story(runs: pd.DataFrame, best: pd.DataFrame, steps: int) -> dict:
    """Chapter 9's computed phrases from its runs and :func:`best_against_a`: ``best``
    (which recipe wins where), ``gains`` (its paired gain over Model A per M and where it is
    clear), ``targets`` (met, or missed by how much), ``ceiling``, ``near_ceiling`` (Model A's
    and the best recipe's distance to the ceiling at the largest M), ``bounds`` (which models,
    if any, reach above the ceiling)."""
    from ..text.prose import listing, number, percent, signed

    phrases = {"steps": number(steps, 0), "ceiling": ceiling_phrase(runs)}
    if best.empty:
        return {**phrases, "best": UNDEFINED, "gains": UNDEFINED, "targets": "",
                "near_ceiling": UNDEFINED, "bounds": UNDEFINED}
    phrases["best"] = _winners(best["recipe"], "at every M")
    gains = listing(f"{signed(r['gain'])}" + (" points" if i == 0 else "")
                    + f" at M = {number(m, 0)}" for i, (m, r) in enumerate(best.iterrows()))
    clear = [m for m, r in best.iterrows() if r["clear"]]
    noise = [m for m, r in best.iterrows() if not r["clear"]]
    verdict = []
    if clear:
        verdict.append(f"clear (a paired t-test at the 5% level) at {_ms(clear)}")
    if noise:
        verdict.append(f"within seed noise at {_ms(noise)}")
    phrases["gains"] = f"{gains}; the gain is " + ", and ".join(verdict)
    aimed = best[best["target"].notna()]
    if aimed.empty:
        phrases["targets"] = "No target is set for this data or these values of M"
    else:
        met = aimed[aimed["to target"] >= 0]
        missed = aimed[aimed["to target"] < 0]
        clauses = []
        if len(met):
            clauses.append("met at " + listing(
                f"M = {number(m, 0)} ({percent(r['mean'])} for a target of "
                f"{percent(r['target'], 0)})" for m, r in met.iterrows()))
        if len(missed):
            clauses.append("missed at " + listing(
                f"M = {number(m, 0)} by {number(-r['to target'])} points "
                f"({percent(r['mean'])} for {percent(r['target'], 0)})"
                for m, r in missed.iterrows()))
        phrases["targets"] = "The targets are " + "; ".join(clauses)
    top = runs[runs["recipe"] == "ceiling"].drop_duplicates("seed")["test_acc"].mean() * 100
    last = best.index.max()
    row = best.loc[last]
    phrases["near_ceiling"] = (
        f"At M = {number(last, 0)}, the largest here, Model A is {_gap(top - row['A'])} the "
        f"ceiling and the best recipe {_gap(top - row['mean'])} it")
    means = 100 * runs[runs["recipe"] != "ceiling"].groupby(["m", "recipe"])["test_acc"].mean()
    above = means[means > top]
    phrases["bounds"] = ("no model's mean reaches above it at any M" if above.empty else
                         listing(f"{r} at M = {number(m, 0)}" for (m, r) in above.index)
                         + (" reaches" if len(above) == 1 else " reach") + " above it")
    return phrases


def _gap(diff) -> str:
    from ..text.prose import direction

    return direction(-diff, up="above", down="below", same="level with")


# ------------------------------------------ the data and the report's label inference (01-04)
def class_split_table(labels, known, unknown, classes):
    """Chapter 1's table: per class, its images in the known and the unknown set, its share
    of the known set and its share of the whole training set (%, rounded to 0.1)."""
    import numpy as np

    labels, n = np.asarray(labels), len(classes)
    known_n = np.bincount(labels[np.asarray(known, dtype=int)], minlength=n)
    unknown_n = np.bincount(labels[np.asarray(unknown, dtype=int)], minlength=n)
    whole = known_n + unknown_n
    table = pd.DataFrame({
        "known": known_n, "unknown": unknown_n,
        "known share (%)": 100 * known_n / max(known_n.sum(), 1),
        "training share (%)": 100 * whole / max(whole.sum(), 1),
    }, index=pd.Index([str(c) for c in classes], name="class"))
    return table.round(1)


def class_balance_phrases(table: pd.DataFrame) -> dict:
    """What :func:`class_split_table` shows, as glued phrases (read from its rounded shares,
    so the words match the table): ``known_range`` ("from 9.3% (deer) to 10.8% (dog)") and
    ``largest_gap`` (the class whose known share is farthest from its training share)."""
    from ..text.prose import number, percent

    known, whole = table["known share (%)"], table["training share (%)"]
    low, high = known.idxmin(), known.idxmax()
    gap = (known - whole).round(1)
    worst = gap.abs().idxmax()
    if abs(gap[worst]) < 0.05:
        largest = "under 0.1 points for every class"
    else:
        largest = (f"{number(abs(gap[worst]))} points ({worst}: {percent(known[worst])} of "
                   f"the known images, {percent(whole[worst])} of the training set)")
    return {"known_range": f"from {percent(known[low])} ({low}) to "
                           f"{percent(known[high])} ({high})",
            "largest_gap": largest}


def between_class_share(features, labels) -> float:
    """The share (0..1) of the points' spread (total squared distance to their mean) that the
    class means account for: 1 when every class is one point, 0 when all means coincide."""
    import numpy as np

    x, y = np.asarray(features, dtype=np.float64), np.asarray(labels)
    centre = x.mean(axis=0)
    total = float(((x - centre) ** 2).sum())
    between = sum(float((y == c).sum() * ((x[y == c].mean(axis=0) - centre) ** 2).sum())
                  for c in np.unique(y))
    return between / total if total > 0 else float("nan")


def label_quality_table(results: dict, n_classes: int, name: str = "cluster map"):
    """Chapter 3's table, one row per way of labelling (``results``: {name: (InferredLabels,
    labels.label_quality)}): label accuracy on the unknown images, labels used and the
    guesses' mean confidence (%), rounded."""
    rows = {label: {"label accuracy (%)": 100 * report["accuracy"],
                    f"labels used (of {n_classes})": report["labels_used"],
                    "mean confidence (%)": 100 * float(guess.confidence.mean())}
            for label, (guess, report) in results.items()}
    table = pd.DataFrame.from_dict(rows, orient="index").round(1)
    table.index.name = name
    return table


def confusion_phrase(confusion, classes) -> str:
    """The most frequent mistake of a labelling (``confusion``: rows true, columns inferred):
    "it labels 31.2% of the ship images airplane"."""
    import numpy as np

    from ..text.prose import percent

    counts = np.asarray(confusion, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    np.fill_diagonal(share, 0)
    if share.max() <= 0:
        return "it labels every image right"
    true, label = np.unravel_index(int(share.argmax()), share.shape)
    return (f"it labels {percent(100 * share[true, label])} of the {classes[true]} images "
            f"{classes[label]}")


def range_text(low: float, high: float) -> str:
    """A range of percentages, "29–31%" ("22%" when both ends round alike)."""
    from ..text.prose import number

    return (f"{number(low, 0)}%" if number(low, 0) == number(high, 0)
            else f"{number(low, 0)}–{number(high, 0)}%")


def report_embedding_range(label_accuracy: dict):
    """The report's K-means label accuracy on pretrained embeddings as (low, high) in %, from
    ``report.label_accuracy(data)``; None where it has none (data other than CIFAR-10)."""
    for value in label_accuracy.values():
        if isinstance(value, (tuple, list)):
            return float(min(value)), float(max(value))
    return None


def against_range(value: float, low: float, high: float, digits: int = 1) -> str:
    """"above", "below" or "within" the range [low, high], ``value`` read as the page rounds
    it (31.04 is "within" 29-31)."""
    value = round(float(value), digits)
    return "above" if value > high else "below" if value < low else "within"


def unavailable_sentence(missing: dict) -> str:
    """One sentence naming the backbones that could not be loaded (``missing``: {name:
    features.BackboneUnavailableError}) and why, without the raw error text; the backbones
    whose weights failed to download are named together."""
    from ..text.prose import listing

    if not missing:
        return "Every backbone compared could be loaded."
    offline = [n for n, e in missing.items() if isinstance(e.__cause__, OSError)]
    parts = []
    if offline:
        whose = "its" if len(offline) == 1 else "their"
        plural = "s" if len(offline) > 1 else ""
        parts.append(f"The backbone{plural} {listing(offline)} could not be loaded offline: "
                     f"{whose} ImageNet weights download on first use, and the machine that "
                     "computed this page had no internet connection")
    for name, error in missing.items():
        if name in offline:
            continue
        text = str(error)
        if error.__cause__ is not None:
            text = text.replace(f" ({error.__cause__})", "")
        parts.append(f"{name} could not be loaded ({text.split(';')[0].rstrip('.')})")
    if not offline:
        parts[0] = "The backbone " + parts[0]
    return "; ".join(parts) + "."


def embeddings_story(table: pd.DataFrame, value: str, pixels: str, backbone: str,
                     report_range=None) -> dict:
    """Chapter 4's computed phrases from its results (``table``: one row per features tried,
    columns ``features``, ``input size`` and ``value``, label accuracy in %; ``pixels`` names
    the PCA row): ``best`` ("effnet-lite0 at 64x64"), ``best_name``, ``best_acc``,
    ``pixels_acc``, ``over_pixels`` ("13.0 points above"), ``against_report`` ("above the
    report's 29–31%", "" without ``report_range``) and ``size_effect`` ("feeding
    effnet-lite0 64x64 images instead of 32x32 raises its label accuracy from 24.4% to
    35.0%": ``backbone``'s smallest input size against its largest)."""
    from ..text.prose import direction, percent

    rows = table.drop_duplicates(["features", "input size"])
    pca = float(rows[rows["features"] == pixels][value].iloc[0])
    nets = rows[rows["features"] != pixels]
    top = nets.loc[nets[value].idxmax()] if len(nets) else rows.loc[rows[value].idxmax()]
    best = float(top[value])
    phrases = {"best": f"{top['features']} at {_size(top['input size'])}",
               "best_name": str(top["features"]),
               "best_acc": percent(best), "pixels_acc": percent(pca),
               "over_pixels": direction(round(best, 1) - round(pca, 1))}
    phrases["against_report"] = (
        f"{against_range(best, *report_range)} the report's {range_text(*report_range)}"
        if report_range else "")
    mine = nets[nets["features"] == backbone].sort_values("input size")
    if len(mine) > 1:
        first, last = mine.iloc[0], mine.iloc[-1]
        change = round(float(last[value]), 1) - round(float(first[value]), 1)
        fed = (f"feeding {backbone} {_size(last['input size'])} images instead of "
               f"{_size(first['input size'])}")
        if change == 0:
            phrases["size_effect"] = (f"{fed} leaves its label accuracy at "
                                      f"{percent(first[value])}")
        else:
            verb = "raises" if change > 0 else "lowers"
            phrases["size_effect"] = (f"{fed} {verb} its label accuracy from "
                                      f"{percent(first[value])} to {percent(last[value])}")
    else:
        phrases["size_effect"] = f"only one input size of {backbone} is compared here"
    return phrases


def teachers_and_students(runs: pd.DataFrame, m: int) -> dict:
    """At ``m``: ``teacher_labels``, each teaching recipe's label accuracy ("66.0% (x), 37.6%
    (C)", best first), and ``same_order``, whether the students' mean test accuracies rank
    the recipes as their teachers' label accuracies do."""
    from ..text.prose import choose, listing, percent

    at_m = runs[(runs["m"] == m) & runs["label_acc"].notna()]
    if at_m.empty:
        return {"teacher_labels": UNDEFINED, "same_order": UNDEFINED}
    means = at_m.groupby("recipe")[["label_acc", "test_acc"]].mean()
    by_teacher = list(means.sort_values("label_acc", ascending=False).index)
    by_student = list(means.sort_values("test_acc", ascending=False).index)
    return {"teacher_labels": listing(f"{percent(100 * means.loc[r, 'label_acc'])} ({r})"
                                      for r in by_teacher),
            "same_order": choose(by_teacher == by_student,
                                 "their students rank in the same order",
                                 "their students rank in another order ("
                                 + ", ".join(by_student) + ", best first)")}


def sweep_comparisons(runs: pd.DataFrame, recipes, mix: str = "multiscale+A-soft",
                      alone: str = "logreg-cal-soft") -> dict:
    """Chapter 9's two side comparisons, paired by seed (:func:`gains_phrase`): ``b_and_c``,
    the report's B and C against Model A; ``mix``, the teacher averaged with Model A against
    the embedding teacher alone, with how right Model A's own labels (C's) are at the
    smallest and largest M. A sentence saying so where a recipe is not on the page."""
    from ..study.analysis import paired_gains
    from ..text.prose import number, percent

    recipes = list(recipes)
    report = [r for r in ("B", "C") if r in recipes]
    gains = paired_gains(runs, models=report) if report and "A" in recipes else None
    phrases = {"b_and_c": "; ".join(gains_phrase(gains, model) for model in report)
               if gains is not None and len(gains) else
               "B and C are not among this page's recipes"}
    if not {mix, alone} <= set(recipes):
        phrases["mix"] = f"{mix} is not among this page's recipes"
        return phrases
    text = gains_phrase(paired_gains(runs, base=alone, models=[mix]), mix, alone)
    labels = 100 * runs[runs["recipe"] == "C"].groupby("m")["label_acc"].mean().dropna()
    if len(labels):
        ends = labels.iloc[[0, -1]] if len(labels) > 1 else labels
        text += (". Model A's own labels, those C learns from, are right for "
                 + " to ".join(f"{percent(v)} at M = {number(m, 0)}" for m, v in ends.items())
                 + " of the unknown images: where they are poorer than the embedding "
                 "teacher's, averaging them in can only dilute it")
    phrases["mix"] = text
    return phrases
