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
# Same CNN, trained from scratch, but now every model of a comparison gets the **same number of
# optimizer steps**: Model A is no longer starved because its epochs are short. Between Model A
# (known labels only) and the **ceiling** (the same CNN and budget on all 50,000 true labels),
# each recipe is scored by the share of that gap it closes.
#
# This is a **screening** chapter: it picks which recipes are worth full compute, so it runs at
# a small budget (`budget_epochs` passes' worth of steps, printed below) and a few values of M
# (`beyond_M_list`). {ref}`beyond-sweep` takes the chosen recipes to the report's full compute.
#
# The recipes (`semisup_utils.recipes`):
#
# | recipe | labels of the unknown images | how they are used |
# | --- | --- | --- |
# | `A` | none | known labels only |
# | `B`, `C` | K-means on 32x32 embeddings; Model A's predictions | weight 0.1 (the report's B and C) |
# | `logreg` | logistic regression on embeddings | hard labels, weight 1 |
# | `logreg-soft` | the same | the teacher's probabilities as soft targets |
# | `logreg-top50` | the same | only the most confident half of each class |
# | `logreg-confweight` | the same | weight = the teacher's confidence |
# | `logreg+A-soft` | logistic regression averaged with Model A | soft targets |
# | `spread` | label spreading on embeddings | hard labels |
# | `self-train-2` | as `logreg+A-soft`, then the student relabels | two rounds (twice the compute) |
# | `fixmatch` | the student's own prediction on a weakly augmented view, where its confidence is at least 0.95 | learnt on a strongly augmented view (rotation, shift, colour, cutout), weight 1; every step also passes a weak and a strong view of a batch of unknown images, so a step costs more (see the cost table) |
# | `ceiling` | the true labels | the upper bound for this CNN and budget |

# %% tags=["parameters"]
profile = "default"
beyond_M_list = None  # values of M (a screening chapter)
beyond_seeds = None   # seeds of this chapter's comparison
n_train = None
n_test = None
recipes = None        # recipes compared
budget_epochs = None  # steps per model, in passes over 50,000 images
screening_precision = None  # auto, fp32, bf16 or fast
beyond_size = None    # backbone input size of the embedding teachers
batch_size = None
backbone = None
device = None

# %% tags=["hide-input"]
from semisup_utils import analysis, notebook, plots, report
from semisup_utils.executors import compare
from semisup_utils.recipes import at_input_size, get_recipe

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["beyond_seeds"][0])
data = notebook.load_data(P)
# the report's numbers: empty unless the data is CIFAR-10
TEST_ACCURACY = report.test_accuracy(data)
print(notebook.data_note(data, P["profile"]))

# %% [markdown]
# Every model gets the same budget: `budget_epochs` passes over the 50,000 images' worth of
# optimizer steps, whatever its own training set holds.

# %%
budget = notebook.screening_budget(P, data.n_train)
chosen = [at_input_size(get_recipe(name), P["beyond_size"])
          for name in P["recipes"]]
size = P["beyond_size"]
print(f"budget: {budget.amount} steps of batch {budget.batch_size} per "
      f"model (= {P['budget_epochs']} epochs over {data.n_train} "
      f"images); M in {P['beyond_M_list']}; seeds {P['beyond_seeds']}; "
      f"embedding teachers at {size}x{size}")
runs = compare(data, P["beyond_M_list"], P["beyond_seeds"], chosen,
               budget, notebook.context(P))
runs["test accuracy (%)"] = 100 * runs["test_acc"]

# %% [markdown]
# Test accuracy (%) of every recipe at every M:

# %% tags=["nbval-tolerance-10"]
summary = (runs.groupby(["m", "recipe"])["test accuracy (%)"]
           .agg(mean="mean", std="std", n="count").reset_index())
order = [r.name for r in chosen]
table = summary.pivot(index="recipe", columns="m", values="mean")
table = table.reindex(order).round(1)
table.columns = [f"M={m}" for m in table.columns]
table.columns.name = "test acc. (%)"
table

# %% [markdown]
# How right each recipe's labels of the unknown images were (label accuracy, %), where it
# infers them before training:

# %% tags=["nbval-tolerance-10"]
teaching = [r for r in order if r not in ("A", "ceiling")]
labels = 100 * runs.groupby(["recipe", "m"])["label_acc"].mean()
labels = labels.unstack().reindex(teaching)
labels.columns = [f"M={m}" for m in labels.columns]
labels.columns.name = "label acc. (%)"
analysis.undefined_as_dash(
    labels, "no labels before training: the student labels the unknown "
    "images itself as it trains (FixMatch).")

# %% [markdown]
# The share of the gap between Model A and the ceiling that each recipe closes (0% = no better
# than A, 100% = as good as knowing every label):

# %% tags=["nbval-ignore-output"]
gap = 100 * runs.groupby(["recipe", "m"])["gap_closed"].mean()
gap = gap.unstack().reindex(teaching)
gap.columns = [f"M={m}" for m in gap.columns]
gap.columns.name = "gap closed (%)"
analysis.undefined_as_dash(
    gap, "no gap to close: at this budget Model A is at or above the "
    "ceiling at this M.", digits=0)

# %%
plot_frame = summary.rename(columns={"recipe": "model"})
fig = plots.accuracy_vs_m(
    plot_frame[plot_frame["model"] != "ceiling"], None,
    title=f"Test accuracy vs M at equal compute "
          f"({budget.amount} steps)")
ceiling = summary[summary["recipe"] == "ceiling"]["mean"].mean()
fig.axes[0].axhline(ceiling, color="black", ls="--", lw=1,
                    label=f"ceiling: all true labels ({ceiling:.1f}%)")
_ = fig.axes[0].legend(fontsize=8, ncol=2)

# %% [markdown]
# The training cost of each run (seconds, on the device named; self-training pays for every
# round):

# %% tags=["nbval-ignore-output"]
runs.pivot_table(index="recipe", columns="m", values="wall_s",
                 aggfunc="mean").reindex(order).round(0)

# %% tags=["nbval-ignore-output"]
students = summary[summary["recipe"] != "ceiling"]
best = students.loc[students.groupby("m")["mean"].idxmax()]
a_mean = summary[summary["recipe"] == "A"].set_index("m")["mean"]
for _, row in best.iterrows():
    report = TEST_ACCURACY.get(row["m"])
    print(f"M={row['m']}: best {row['recipe']} {row['mean']:.1f}% vs "
          f"Model A at the same compute {a_mean[row['m']]:.1f}%"
          + (f"; the report's best: {max(report.values())}%"
             if report else ""))

# %%
print(f"Profile {P['profile']!r}: {budget.amount} steps per model. "
      + notebook.JPEG_NOTE)
