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
budget_epochs = None  # steps per model, counted in passes over the 50,000 images
beyond_size = None    # backbone input size of the embedding teachers
batch_size = None
backbone = None
device = None

# %%
import pandas as pd

from semisup_utils import notebook, plots, report
from semisup_utils.budget import Budget
from semisup_utils.executors import compare
from semisup_utils.recipes import at_input_size, get_recipe

P = notebook.parameters(globals())  # the profile's values, with the ones given above
notebook.setup(P["beyond_seeds"][0])
data = notebook.load_data(P)
TEST_ACCURACY = report.test_accuracy(data)  # the report's numbers: empty unless the data is CIFAR-10
print(notebook.data_note(data, P["profile"]))
budget = Budget.epochs_of(P["budget_epochs"], data.n_train, batch_size=P["batch_size"])
chosen = [at_input_size(get_recipe(name), P["beyond_size"]) for name in P["recipes"]]
print(f"budget: {budget.amount} steps of batch {budget.batch_size} per model "
      f"(= {P['budget_epochs']} epochs over {data.n_train} images); M in {P['beyond_M_list']}; "
      f"seeds {P['beyond_seeds']}; embedding teachers at {P['beyond_size']}x{P['beyond_size']}")

# %%
runs = compare(data, P["beyond_M_list"], P["beyond_seeds"], chosen, budget,
               notebook.context(P))
runs["test accuracy (%)"] = 100 * runs["test_acc"]

# %% tags=["nbval-tolerance-10"]
summary = (runs.groupby(["m", "recipe"])["test accuracy (%)"]
           .agg(mean="mean", std="std", n="count").reset_index())
order = [r.name for r in chosen]
table = summary.pivot(index="recipe", columns="m", values="mean").reindex(order).round(1)
table.columns = [f"M={c} test acc. (%)" for c in table.columns]
labels = (100 * runs.groupby(["recipe", "m"])["label_acc"].mean()).unstack().reindex(order)
for m in labels.columns:
    table[f"M={m} label acc. (%)"] = labels[m].round(1)
table

# %% [markdown]
# The share of the gap between Model A and the ceiling that each recipe closes (0% = no better
# than A, 100% = as good as knowing every label):

# %% tags=["nbval-ignore-output"]
gap = (100 * runs.groupby(["recipe", "m"])["gap_closed"].mean()).unstack().reindex(order).round(0)
gap.columns = [f"M={c} gap closed (%)" for c in gap.columns]
gap

# %%
plot_frame = summary.rename(columns={"recipe": "model"})
fig = plots.accuracy_vs_m(plot_frame[plot_frame["model"] != "ceiling"], None,
                          title=f"Test accuracy vs M at equal compute ({budget.amount} steps)")
ceiling = summary[summary["recipe"] == "ceiling"]["mean"].mean()
fig.axes[0].axhline(ceiling, color="black", ls="--", lw=1,
                    label=f"ceiling: all true labels ({ceiling:.1f}%)")
_ = fig.axes[0].legend(fontsize=8, ncol=2)

# %% [markdown]
# The training cost of each run (seconds, on the device named; self-training pays for every
# round):

# %% tags=["nbval-ignore-output"]
runs.pivot_table(index="recipe", columns="m", values="wall_s", aggfunc="mean").reindex(
    order).round(0)

# %% tags=["nbval-ignore-output"]
best = summary[~summary["recipe"].isin(["ceiling"])].loc[
    lambda f: f.groupby("m")["mean"].idxmax()]
for _, row in best.iterrows():
    a = summary[(summary["m"] == row["m"]) & (summary["recipe"] == "A")]["mean"]
    report = TEST_ACCURACY.get(row["m"])
    print(f"M={row['m']}: best {row['recipe']} {row['mean']:.1f}% vs Model A at the same "
          f"compute {a.iloc[0]:.1f}%" + (f"; the report's best: {max(report.values())}%"
                                           if report else ""))

# %%
print(f"Profile {P['profile']!r}: {budget.amount} steps per model. " + notebook.JPEG_NOTE)
