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
# (better-training)=
# # Better use of inferred labels, at equal compute
#
# **The question.** When every model gets the same number of optimizer steps
# ({term}`equal compute`), which way of using the inferred labels lifts the report's CNN most
# above {term}`Model A <Model A, B and C>`, and how much of the gap to the {term}`ceiling`
# does it close?
#
# The CNN is the report's, trained from scratch, but Model A is no longer starved because its
# epochs are short: it takes as many steps as every other model. The ceiling is the same CNN
# and budget on all {glue:text}`n_train` true labels; each recipe is placed between Model A
# and the ceiling by the share of that gap it closes ({term}`gap closed`: no better than A at
# one end, as good as knowing every label at the other).
#
# This is a **screening** chapter: it picks which recipes are worth more compute, so it runs
# at a small budget, {glue:text}`budget` optimizer steps per model ({glue:text}`share` that
# {ref}`beyond-sweep` gives each model), at a few values of M, with {glue:text}`seeds`.
#
# Every recipe but A and the ceiling labels the unknown images with a {term}`teacher`, or
# lets the student label them itself (`semisup_utils.study.recipes`):
#
# | recipe | labels of the unknown images | how they are used |
# | --- | --- | --- |
# | `A` | none | known labels only |
# | `B`, `C` | K-means on 32x32 embeddings; Model A's predictions | weight 0.1 (the report's B and C) |
# | `logreg` | logistic regression on embeddings | hard labels, weight 1 |
# | `logreg-soft` | the same | the teacher's probabilities as {term}`soft targets` |
# | `logreg-top50` | the same | only the most confident half of each class |
# | `logreg-confweight` | the same | weight = the teacher's confidence |
# | `logreg+A-soft` | logistic regression averaged with Model A | soft targets |
# | `spread` | label spreading on embeddings | hard labels |
# | `self-train-2` | as `logreg+A-soft`, then the student relabels | two rounds (twice the compute) |
# | `fixmatch` | the student's own prediction on a weakly augmented view, where its confidence reaches FixMatch's threshold (`0.95`) | learnt on a strongly augmented view (rotation, shift, colour, cutout), weight 1; every step also passes a weak and a strong view of a batch of unknown images, so a step costs more |
# | `ceiling` | the true labels | the upper bound for this CNN and budget |
#
# The profile picks which of these run (the parameters line below names them).

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 08`
profile = "default"
section = "screening"
M_list = None
seeds = None
n_train = None
n_test = None
recipes = None
epochs = None
precision = None
input_size = None
batch_size = None
backbone = None
device = None

# %% tags=["hide-input"]
from semisup_utils.book import notebook, plots, tables
from semisup_utils.study import analysis
from semisup_utils.study.executors import compare
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["beyond_seeds"][0])
data = notebook.load_data(P)
print(notebook.data_note(data, P))

# %% [markdown]
# Every model gets the same budget, `epochs` passes over the training images' worth
# of optimizer steps, whatever its own training set holds:

# %%
budget = notebook.screening_budget(P, data.n_train)
chosen = notebook.screening_recipes(P)
print(f"{budget.describe()}; M in {P['beyond_M_list']}; seeds "
      f"{P['beyond_seeds']}; embedding teachers at "
      f"{P['beyond_size']}x{P['beyond_size']}")
runs = compare(data, P["beyond_M_list"], P["beyond_seeds"], chosen,
               budget, notebook.context(P))

# %% tags=["remove-cell", "nbval-ignore-output"]
sweep = notebook.sweep_budget(P, data.n_train)
prose.glue_all({
    "n_train": prose.number(data.n_train, 0),
    "budget": prose.number(budget.amount, 0),
    "share": tables.budget_relation(budget.amount, sweep.amount),
    "seeds": prose.choose(len(P["beyond_seeds"]) == 1, "one seed",
                          f"{len(P['beyond_seeds'])} seeds")})

# %% [markdown]
# Test accuracy (%) of every recipe at every M (stored runs are read, missing ones
# trained; where each run was computed and at what cost: {ref}`provenance`):

# %% tags=["nbval-tolerance-10"]
order = [r.name for r in chosen]
tables.per_recipe(runs, "test_acc", order, name="test acc. (%)")

# %% [markdown]
# How right each recipe's labels of the unknown images were ({term}`label accuracy`, %),
# where it infers them before training:

# %% tags=["nbval-tolerance-10"]
teaching = [r for r in order if r not in ("A", "ceiling")]
tables.per_recipe(
    runs, "label_acc", teaching, name="label acc. (%)",
    note="no labels before training: the student labels the unknown "
    "images itself as it trains (FixMatch).")

# %% [markdown]
# The share of the gap between Model A and the ceiling that each recipe closes (%): 0 is no
# better than A, a hundred is as good as knowing every label, and more than a hundred beats
# the ceiling itself at this budget:

# %% tags=["nbval-ignore-output"]
tables.per_recipe(
    runs, "gap_closed", teaching, digits=0, name="gap closed (%)",
    note="no gap to close: at this budget Model A is at or above the "
    "ceiling at this M.")

# %% tags=["hide-input"]
summary = analysis.summary(runs)
ceiling = summary[summary["recipe"] == "ceiling"]["mean"].mean()
fig = plots.accuracy_vs_m(
    summary[summary["recipe"] != "ceiling"]
    .rename(columns={"recipe": "model"}), None,
    title=f"Test accuracy vs M at equal compute "
          f"({budget.amount:,} steps)")
fig.axes[0].axhline(ceiling, color="black", ls="--", lw=1,
                    label=f"ceiling: all true labels ({ceiling:.1f}%)")
_ = fig.axes[0].legend(fontsize=8, ncol=2)

# %% tags=["remove-cell", "nbval-ignore-output"]
prose.glue_all(tables.screening_story(runs, budget.amount))
forward = [r for r in P["sweep_recipes"]
           if r not in ("A", "B", "C", "ceiling")]
prose.glue_all({
    "forward": prose.listing(forward),
    "sweep_ms": "M = " + prose.listing(
        prose.number(m, 0) for m in P["M_list"]),
    "sweep_seeds": prose.number(len(P["sweep_seeds"]), 0)})
prose.glue("jpeg", notebook.jpeg_note(data))

# %% [markdown]
# ## What this chapter shows
#
# - **The winner.** {glue:text}`winner`.
# - **Against Model A, at the same {glue:text}`steps` steps.** {glue:text}`against_a`
# - **The ceiling at this budget.** {glue:text}`ceiling`. A screening this short can tell
#   recipes apart where Model A is far from the ceiling; elsewhere it tells little.
#
# {ref}`beyond-sweep` takes {glue:text}`forward` (soft targets from an embedding teacher,
# its confidences calibrated) beside the report's A, B and C, at {glue:text}`sweep_ms`, with
# {glue:text}`sweep_seeds` seeds each, at its own budget. {glue:text}`jpeg`
