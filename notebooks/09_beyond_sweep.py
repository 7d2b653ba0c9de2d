# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# (beyond-sweep)=
# # The best methods across M and seeds, at equal compute
#
# **The question.** Trained at the same compute as Model A, does the best recipe of
# {ref}`better-training` beat Model A at every M, by how much, and does it reach the
# targets this project set itself?
#
# Every model of this chapter, the report's {term}`Models A, B and C <Model A, B and C>`
# included, gets {glue:text}`steps` optimizer steps ({term}`equal compute`):
# {glue:text}`vs_report`. The {term}`ceiling` (the same CNN and budget on all
# {glue:text}`n_train` true labels) is the upper reference. The {term}`targets <target>` are this project's first set, fixed before
# the sweep ran, for the best method at equal compute: {glue:text}`targets_set`.
# {ref}`teachers` sets a second, higher set for its stronger teachers; this page uses the
# first.
#
# Two things change from {ref}`better-training`, for every model alike:
#
# - **How the steps are spent.** The report trains with Adam at a constant rate of `1e-3`.
#   Here the rate follows a {term}`one-cycle` schedule (warm-up to four times that rate over
#   the first fifth of the steps, then annealing towards zero), in the numeric precision the
#   profile names ({term}`bf16` autocast or float32, printed below). The first table below
#   isolates the schedule's effect.
# - **The teachers.** `logreg-cal-soft`: its {term}`teacher` is logistic regression on
#   EfficientNet-Lite0 embeddings of the images upscaled to {glue:text}`size`, its
#   confidences corrected by temperature scaling ({term}`calibration`, fit on out-of-fold
#   predictions of the known images), its probabilities used as {term}`soft targets`. `multiscale+A-soft`: the same
#   teacher on two input sizes' embeddings concatenated, its probabilities averaged with
#   Model A's, as soft targets.
#
# B and C are the report's (K-means labels from 32x32 embeddings; Model A's predictions; both
# weighted 0.1), only trained with the same budget and schedule as everything else here.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 09`
profile = "default"
section = "sweep"
M_list = None
screening_M_list = None
screening_schedule_epochs = None
n_train = None
n_test = None
recipes = None
seeds = None
epochs = None
screening_input_size = None
batch_size = None
arch = None
precision = None
schedule = None
device = None

# %% tags=["hide-input"]
from dataclasses import replace

import pandas as pd
from IPython.display import display

from semisup_utils.book import (notebook, original_report as report,
                                plots, tables)
from semisup_utils.study import analysis
from semisup_utils.study.executors import compare
from semisup_utils.study.label_runs import label_run
from semisup_utils.study.recipes import at_input_size, get_recipe
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["sweep_seeds"][0])
data = notebook.load_data(P)
# the report's numbers and this project's first targets (the sweep's):
# empty unless the data is CIFAR-10
TARGETS = report.targets(data)
TEST_ACCURACY = report.test_accuracy(data)
print(notebook.data_note(data, P))
ctx = notebook.context(P)

# %%
budget = notebook.sweep_budget(P, data.n_train)
# the report's compute: `epochs` passes over every training image, what
# the report gave B and C
report_steps = notebook.report_budget(P).steps_for(data.n_train)
chosen = notebook.sweep_recipes(P)
order = [r.name for r in chosen]
print(f"{budget.describe()} (the report's compute on this data: "
      f"{report_steps:,}); M in {P['M_list']}; "
      f"seeds {P['sweep_seeds']}")

# %% tags=["remove-cell", "nbval-ignore-output"]
subset = P["n_train"] is not None
set_for = prose.listing(
    f"{prose.percent(t, 0)} at M = {prose.number(m, 0)}"
    for m, t in TARGETS.items())
prose.glue_all({
    "steps": prose.number(budget.amount, 0),
    "n_train": prose.number(data.n_train, 0),
    "size": f"{P['beyond_size']}x{P['beyond_size']}",
    "vs_report": tables.budget_relation(budget.amount, report_steps)
    + " steps the report gave B and C on this page's training images",
    "targets_set": (set_for + " (test accuracy, mean of the seeds), "
                    "for all of CIFAR-10 at the report's compute")
    if TARGETS
    else "none, since targets are set for CIFAR-10 only",
    "target_note": prose.choose(
        budget.amount == report_steps and not subset,
        "This page trains at that compute on all the training images, "
        "so the targets apply as set.",
        "This page's compute or data differ from that, so the targets "
        "are a reference here, not a test.") if TARGETS else ""})

# %% [markdown]
# ## The schedule alone
#
# Model A and the ceiling for the first seed, trained with the same steps and precision,
# once with the report's constant rate and once with the one-cycle schedule. A screening
# comparison: it runs at `screening_schedule_epochs` passes' worth of steps,
# {glue:text}`screen_steps` per model ({glue:text}`screen_share` of the sweep's), at M in
# `screening_M_list`. Test
# accuracy (%):

# %% tags=["nbval-tolerance-10"]
seed0 = P["sweep_seeds"][0]
screen = notebook.sweep_budget(
    {**P, "sweep_epochs": P["schedule_epochs"]}, data.n_train)
schedule_runs = pd.concat([
    compare(data, P["beyond_M_list"], [seed0], ["A", "ceiling"], b, ctx)
    .assign(schedule=b.schedule)
    for b in (replace(screen, schedule="constant"), screen)])
tables.schedule_table(schedule_runs, screen.schedule)

# %% tags=["remove-cell", "nbval-ignore-output"]
prose.glue_all({
    "screen_steps": prose.number(screen.amount, 0),
    "screen_share": tables.budget_relation(screen.amount,
                                           budget.amount),
    "schedule_effect": tables.schedule_phrase(schedule_runs,
                                              screen.schedule)})

# %% [markdown]
# At this budget, the one-cycle schedule {glue:text}`schedule_effect`. The sweep below uses
# the schedule the profile names for every model (printed above).
#
# ## The teachers: how right, and how honest about it
#
# {term}`Label accuracy <label accuracy>` on the unknown images and the {term}`ECE` (the
# average gap between a teacher's confidence and its accuracy, 0 is perfect) of each sweep
# recipe's teacher that learns from embeddings alone, with plain (uncalibrated) logistic
# regression for contrast, first seed, M in `screening_M_list`. Soft targets pass the
# confidences on to the CNN, so their calibration matters. Teachers that use Model A (C,
# multiscale+A-soft) need its trained weights, which the results store does not keep; their
# label accuracy at the sweep's budget is in the table after the sweep's.

# %% tags=["nbval-tolerance-8"]
teachers = [r for r in chosen
            if r.teacher not in ("none", "truth", "cnn")
            and not r.with_model_a]
plain = at_input_size(get_recipe("logreg-soft"), P["beyond_size"])
rows = []
for m in P["beyond_M_list"]:
    for recipe in [plain, *teachers]:
        # stored in the results store (computed when missing)
        run = label_run(data, recipe.teacher, recipe.views, m, seed0,
                        ctx)
        rows.append({"M": m, "teacher of": recipe.name,
                     "label_acc": run["label_acc"], "ece": run["ece"]})
rows = pd.DataFrame(rows)
tables.teacher_scores_table(
    rows, [plain.name, *[r.name for r in teachers]])

# %% tags=["remove-cell", "nbval-ignore-output"]
calibrated = next(
    (r.name for r in teachers if "-cal" in r.teacher), None)
prose.glue("calibration", tables.calibration_phrase(
    rows, plain.name, calibrated) if calibrated
    else "is not compared here")

# %% [markdown]
# Temperature scaling {glue:text}`calibration`.
#
# ## The sweep
#
# Every recipe at every M and seed (stored runs are read, missing ones trained; where each
# run was computed and at what cost: {ref}`provenance`). Mean and standard deviation over the
# seeds of the test accuracy (%), the targets beside them; the ceiling, one run per seed
# whatever M is, is printed under the table:

# %% tags=["nbval-tolerance-12"]
runs = compare(data, P["M_list"], P["sweep_seeds"], chosen, budget, ctx)
n_seeds = len(P["sweep_seeds"])
seeds = runs.groupby(["m", "recipe"])["seed"].nunique()
short = seeds[seeds < n_seeds]
if len(short):  # runs the store lacks (a profile that trains nothing)
    print("Fewer seeds than asked, runs not in the store: " + "; ".join(
        f"{r} at M={m} ({n} of {n_seeds})"
        for (m, r), n in short.items()))
display(tables.sweep_table(runs, order, TARGETS,
                           f"test acc. (%), {n_seeds} seeds"))
print(f"ceiling (all {data.n_train:,} true labels, the same budget, at "
      f"every M): {tables.ceiling_phrase(runs)}")

# %% [markdown]
# The report's single runs at the same M (50 epochs, constant rate, original CIFAR-10):

# %% tags=["hide-input"]
reported = pd.DataFrame(TEST_ACCURACY).T
reported = reported[reported.index.isin(P["M_list"])]
reported.index.name = "M"
reported.columns.name = "report's test acc. (%)"
if len(reported):
    display(reported)
else:
    print("no report figures for this data and these values of M")

# %% [markdown]
# The share of the gap from Model A to the ceiling that each recipe closes
# ({term}`gap closed`, mean ± sd over seeds, %), and how right each recipe's teacher
# labelled the unknown images (label accuracy, mean ± sd over seeds, %):

# %% tags=["nbval-ignore-output"]
teaching = [r for r in order if r not in ("A", "ceiling")]
display(tables.per_recipe(
    runs, "gap_closed", teaching, by="m", digits=0,
    name="gap closed (%)", note="no gap to close: Model A is at or "
    "above the ceiling at this M."))
tables.per_recipe(
    runs, "label_acc", teaching, by="m", name="label acc. (%)",
    note="no labels before training: the student labels the unknown "
    "images itself as it trains (FixMatch).")

# %% tags=["hide-input"]
summary = analysis.summary(runs).rename(columns={"recipe": "model"})
fig = plots.accuracy_vs_m(
    summary[summary["model"] != "ceiling"], None,
    title=f"Test accuracy vs M at equal compute "
          f"({budget.amount:,} steps, {budget.schedule})")
ax = fig.axes[0]
ceiling = summary[summary["model"] == "ceiling"]["mean"].mean()
ax.axhline(ceiling, color="black", ls="--", lw=1,
           label=f"ceiling: all true labels ({ceiling:.1f}%)")
targets = {m: t for m, t in TARGETS.items() if m in P["M_list"]}
if targets:
    ax.plot(list(targets), list(targets.values()), ls="none",
            marker="*", ms=11, color="gold", markeredgecolor="black",
            label="target (this project's first set)")
for model in ["A", "B", "C"]:
    pts = [(m, TEST_ACCURACY[m][model])
           for m in P["M_list"] if m in TEST_ACCURACY]
    if pts:
        ax.plot(*zip(*pts), ls="none", marker="x", ms=8, color="grey",
                label="report's A, B, C (50 epochs)" if model == "A"
                else None)
_ = ax.legend(fontsize=7, ncol=2)

# %% [markdown]
# Per M, the best recipe against Model A trained with the same steps: the gain is a
# {term}`paired difference` over the seeds (the same known images for both), and the target
# is met when the best recipe's mean reaches it:

# %% tags=["nbval-ignore-output"]
best = tables.best_against_a(runs, TARGETS)
tables.best_against_a_table(best)

# %% tags=["remove-cell", "nbval-ignore-output"]
story = tables.sweep_story(runs, best, budget.amount)
story.update(tables.teachers_and_students(runs, min(P["M_list"])))
story.update(tables.sweep_comparisons(runs, order))
story.pop("steps")  # glued above, from the same budget
prose.glue_all(story)
prose.glue("jpeg", notebook.jpeg_note(data))

# %% [markdown]
# ## What this chapter shows
#
# Every model here trains {glue:text}`steps` steps.
#
# - **The best recipe.** {glue:text}`best`.
# - **Its gain over Model A**, paired by seed: {glue:text}`gains`.
# - **The targets.** {glue:text}`targets`. {glue:text}`target_note`
# - **Teachers and students.** Where the known labels are fewest, the teachers label
#   {glue:text}`teacher_labels` of the unknown images right, and
#   {glue:text}`same_order`. The embedding teachers are linear classifiers on pretrained
#   embeddings of upscaled images; C's teacher is Model A, a CNN trained from scratch on the
#   few known images.
# - **Mixing in Model A.** {glue:text}`mix`.
# - **The report's B and C at equal compute.** {glue:text}`b_and_c`. Once Model A gets as
#   many steps as they do, and a schedule that uses them well, that is what their inferred
#   labels are worth.
# - **The ceiling.** {glue:text}`ceiling` over the seeds, the same at every M since it knows
#   every label; {glue:text}`bounds`. {glue:text}`near_ceiling`. Only a larger budget or
#   network could raise the ceiling itself.
#
# {glue:text}`jpeg`
