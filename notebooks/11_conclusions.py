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
# (conclusions)=
# # Conclusions
#
# **The question.** Taken together, what do the runs say: where do the report's findings
# hold, how much do better labels and a stronger teacher buy the same CNN at the same compute,
# and what stands between it and the targets?
#
# Every statement below is computed from the results store that the chapters filled, for
# this page's profile, so a rerun with other parameters rewrites it. Where a statement rests
# on a figure, the chapter that draws it is named.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 11`
profile = "default"
section = "report"
M = None
M_list = None
screening_M_list = None
seeds = None
n_train = None
n_test = None
epochs = None
batch_size = None
weight = None
method = None
backbone = None
input_size = None
arch = None
screening_recipes = None
screening_epochs = None
screening_precision = None
screening_seeds = None
screening_input_size = None
sweep_recipes = None
sweep_seeds = None
sweep_epochs = None
sweep_precision = None
sweep_schedule = None
distill_recipes = None
distill_input_size = None
distill_M_list = None
distill_seeds = None
distill_augments = None

# %% tags=["hide-input"]
from IPython.display import display

import pandas as pd

from semisup_utils.book import (findings, notebook,
                                original_report as report, tables)
from semisup_utils.study import analysis
from semisup_utils.study.executors import stored_rows
from semisup_utils.study.label_runs import label_run
from semisup_utils.study.recipes import at_input_size, get_recipe
from semisup_utils.study.runs import plan
from semisup_utils.text import prose
from semisup_utils.training.budget import Budget

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
print(notebook.data_note(data, P))
# the report's numbers and this project's targets: empty unless the
# data is CIFAR-10
TEST_ACCURACY = report.test_accuracy(data)
TARGETS = report.targets(data)
store = notebook.context(P).store  # what the chapters filled
budget = notebook.report_budget(P)
grid = notebook.report_runs(P, models=["A", "B", "C"])
runs = stored_rows(data, grid, store)
runs["model"] = runs["recipe"] if len(runs) else []
missing = len(grid) - len(runs)
print(f"profile {P['profile']!r}: {len(runs)} stored runs of the sweep "
      f"over M (06_m_sweep), {missing} missing")
if missing:
    print("run 06_m_sweep first: the statements below use only the "
          "stored runs")

# %% [markdown]
# ## 1. Pixels give poor labels; pretrained embeddings give better ones ({ref}`clustering` and {ref}`embeddings`)

# %% tags=["nbval-tolerance-2", "hide-input"]
ctx = notebook.context(P)


def kmeans_acc(views):
    """% of the unknown images K-means labels correctly: the label
    runs 04_embeddings stored (results/labels.jsonl)."""
    run = label_run(data, "kmeans", views, P["M"], P["seed"], ctx)
    return 100 * run["label_acc"]


def size_effect(acc):
    """How the backbone's input size moves K-means' label accuracy."""
    small, large = min(acc), max(acc)
    if small == large:
        return ""
    diff = acc[large] - acc[small]
    return prose.md("Fed {big}x{big} images instead of {small}x{small},"
                    " the backbone's K-means labels are {} (the bar "
                    "chart of 04_embeddings).", prose.direction(
                        diff, "better", "worse", "as good"),
                    big=large, small=small)


pca_acc = kmeans_acc([("pca", 32)])
all_sizes = sorted(set(P["input_sizes"]) | {P["input_size"]})
emb_acc = {size: kmeans_acc([(P["backbone"], size)])
           for size in all_sizes}
sizes = ", ".join(f"{acc:.1f}% at {size}x{size}"
                  for size, acc in emb_acc.items())
# the report's label accuracies (CIFAR-10 only): PCA, three backbones
reported = report.label_accuracy(data)
pca_report = ("" if "PCA" not in reported
              else f" (report: {prose.percent(reported['PCA'], 0)})")
three = "VGG16 / VGG19 / EfficientNetV2B2"
low, high = reported.get(three, (None, None))
emb_report = ("" if low is None else " (report, three backbones at "
              f"32x32: {low:.0f}-{prose.percent(high, 0)})")
# prose.md escapes every value it fills in: no string becomes markup
prose.show(prose.md(
    "At M={} (seed {}), K-means labels the unknown images {:.1f}% "
    "correctly from PCA vectors{} and {} from {} embeddings{}. Chance "
    "is {:.0f}%. {}", P["M"], P["seed"], pca_acc, pca_report, sizes,
    P["backbone"], emb_report, data.chance, size_effect(emb_acc)))

# %% [markdown]
# ## 2. Where the report's findings hold ({ref}`m-sweep`)
#
# The report's claims are differences: Model B (K-means labels added) against Model A (known
# labels only), and Model C (A's predictions added) against A. Below, each difference is taken
# seed by seed (the same known images and initialisation for both models), then averaged; a
# gain is called clear when a paired t-test over the seeds rejects zero at 5% (with three seeds
# the mean must exceed about four standard errors), and the report's finding *holds* when the gain is clear
# and has the report's sign. With two or three seeds only large, steady gains are clear.

# %% tags=["nbval-ignore-output"]
if len(runs):
    gains = analysis.paired_gains(runs, TEST_ACCURACY)
    table = analysis.gains_table(gains)
    display(analysis.undefined_as_dash(
        table, "the report has no run at this M."))
else:
    print("no runs of 06_m_sweep are stored for this profile yet: "
          "run it first")

# %% tags=["nbval-ignore-output", "hide-input"]
if len(runs):
    prose.show(tables.report_verdicts(
        gains, runs, budget, P["method"], P["backbone"],
        P["input_size"]))

# %% [markdown]
# ## 3. What the comparison does and does not show

# %% tags=["hide-input"]
smallest = min(P["M_list"])
prose.show(prose.md(
    "All three models were trained for the same {} epochs (profile "
    "{!r}; the report used 50). Model A's epochs pass over M images, "
    "B's and C's over all {:,} training images, so B and C took up to "
    "{:,.0f} times as many gradient steps as A (at M = {:,}): part of "
    "their advantage is compute, not labels. The chapters beyond the "
    "report's six compare methods at equal compute. {}", P["epochs"],
    P["profile"], data.n_train, data.n_train / smallest, smallest,
    notebook.jpeg_note(data)))

# %% [markdown]
# ## 4. Better labels, used better, at equal compute ({ref}`label-inference` and {ref}`better-training`)

# %% tags=["nbval-ignore-output", "hide-input"]
budget = notebook.screening_budget(P, data.n_train)
screened = [at_input_size(get_recipe(n), P["beyond_size"])
            for n in P["recipes"]]
found = stored_rows(
    data, plan(P["beyond_M_list"], P["beyond_seeds"], screened, budget),
    store)
if len(found):
    beyond = analysis.add_gap_closed(
        analysis.ceiling_at_every_m(found, P["beyond_M_list"]))
    lines = analysis.against_a_lines(beyond, budget.amount)
    prose.show(prose.join(lines) if lines
               else "No recipe runs are stored yet.")
else:
    print("no runs of 08_better_training are stored for this profile "
          "yet: run it first")

# %% [markdown]
# ## 5. The best methods over M and seeds, against the targets ({ref}`beyond-sweep`)

# %% tags=["nbval-ignore-output", "hide-input"]
sweep_budget = notebook.sweep_budget(P, data.n_train)
sweep = plan(P["M_list"], P["sweep_seeds"], notebook.sweep_recipes(P),
             sweep_budget)
swept = stored_rows(data, sweep, store)
if len(swept):
    lines = analysis.against_a_lines(
        analysis.ceiling_at_every_m(swept, P["M_list"]),
        sweep_budget.amount, TARGETS, TEST_ACCURACY)
    full = Budget.epochs_of(50, 50000).amount  # B and C in the report
    prose.show(prose.md(
        "{}\n\nThese models had {:,} steps each ({} passes over {:,} "
        "images), {:.0%} of the {:,} steps the report gave B and C (50 "
        "passes over 50,000 images); the targets allow that full "
        "compute. {}", prose.join(lines), sweep_budget.amount,
        P["sweep_epochs"], data.n_train, sweep_budget.amount / full,
        full, notebook.jpeg_note(data)))
else:
    print("no runs of 09_beyond_sweep are stored for this profile yet: "
          "run it first")

# %% [markdown]
# When the sweep above ran at less than the report's compute, the runs of the same comparison
# at full compute (the `paper` profile's budget) are listed here, where the store has them:

# %% tags=["hide-input"]
from semisup_utils.study.profiles import PROFILES

paper_epochs = PROFILES["paper"]["sweep_epochs"]
full_budget = notebook.sweep_budget({**P, "sweep_epochs": paper_epochs},
                                    data.n_train)
steps = f"{full_budget.amount:,} steps"
if full_budget == sweep_budget:
    print(f"The sweep above is at the report's full compute ({steps} "
          "per model); 09_beyond_sweep shows every run of it.")
else:
    full_sweep = plan(P["M_list"], P["sweep_seeds"],
                      notebook.sweep_recipes(P), full_budget)
    full = stored_rows(data, full_sweep, store)
    prose.show(tables.full_compute_lines(full, data.n_train, steps))

# %% [markdown]
# ## 6. A stronger teacher for the same CNN ({ref}`teachers`)
#
# {ref}`teachers` feeds the teacher's backbone larger images with flip averaging, chooses
# the teacher on held-out known images, and sets each student beside its teacher and the
# ceiling, at the same compute and augmentation as Model A:

# %% tags=["remove-cell", "nbval-ignore-output"]
recipes = notebook.distill_recipes(P)
fixed = next(r for r in recipes if r.uses_embeddings)
softer = next((r.name for r in recipes if r.uses_embeddings
               and r.temperature != fixed.temperature), None)
budgets = notebook.distill_budgets(P, data.n_train)
found = [stored_rows(data, plan(P["distill_M_list"], P["distill_seeds"],
                                recipes, b), store).assign(augment=a)
         for a, b in budgets.items()]
found = [f for f in found if len(f)]
teacher_runs = (pd.concat(found, ignore_index=True) if found else
                pd.DataFrame(columns=["recipe", "m", "seed", "test_acc",
                                      "augment"]))
candidates, study, choice = findings.teacher_choice(data, P, ctx)
fixed_name = next((name for name, method, views in candidates
                   if (views, method) == (fixed.views, fixed.teacher)),
                  None)
story = findings.teachers_story(
    teacher_runs, findings.teacher_scores(data, P, ctx),
    findings.chosen_students(data, P, ctx, choice, candidates),
    fixed.name, list(budgets), report.targets(data, study="teachers"),
    softer, choice=choice, fixed_name=fixed_name)
prose.glue_all({f"teachers_{k}": v for k, v in story.items()})

# %% [markdown]
# - **The teacher chosen on held-out known images**: {glue:text}`teachers_choice`
#   {glue:text}`teachers_choice_gain`
# - **The student and its teacher.** {glue:text}`teachers_below_teacher`
# - **Against the targets.** {glue:text}`teachers_targets` {glue:text}`teachers_ceiling`
#
# Where a teacher several points better moves its student by much less, and the students
# stop short of their teachers, the 32k-parameter student, more than its teacher, is what
# stands between these runs and the targets.
