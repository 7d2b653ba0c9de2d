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
# Every statement on this page is computed from the results store and the caches that the
# chapters filled, for the same profile; the numbers below change when the chapters are rerun
# with other parameters. Where a statement rests on a figure, the chapter that draws it is named.

# %% tags=["parameters"]
profile = "default"
M = None
M_list = None
beyond_M_list = None
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
recipes = None
budget_epochs = None
beyond_seeds = None
beyond_size = None
sweep_recipes = None
sweep_seeds = None
sweep_epochs = None
precision = None
schedule = None

# %%
import pandas as pd
from IPython.display import Markdown, display

from semisup_utils import analysis, notebook, report
from semisup_utils.analysis import paired_gains
from semisup_utils.budget import Budget
from semisup_utils.recipes import at_input_size, get_recipe
from semisup_utils.executors import stored_rows
from semisup_utils.label_runs import label_run
from semisup_utils.runs import plan
from semisup_utils.store import ResultsStore

P = notebook.parameters(globals())  # the profile's values, with the ones given above
notebook.setup(P["seed"])
data = notebook.load_data(P)
print(notebook.data_note(data, P["profile"]))
TEST_ACCURACY = report.test_accuracy(data)  # the report's numbers: empty unless the data is CIFAR-10
TARGETS = report.targets(data)
store = ResultsStore()
budget = notebook.report_budget(P)
runs = stored_rows(data, notebook.report_runs(P, models=["A", "B", "C"]), store)
runs["model"] = runs["recipe"] if len(runs) else []
missing = 3 * len(P["M_list"]) * len(P["seeds"]) - len(runs)
print(f"profile {P['profile']!r}: {len(runs)} stored runs of the sweep over M (06_m_sweep), {missing} missing")
if missing:
    print("run 06_m_sweep first: the statements below use only the stored runs")

# %% [markdown]
# ## 1. Pixels give poor labels; pretrained embeddings give better ones ({ref}`clustering` and {ref}`embeddings`)

# %% tags=["nbval-tolerance-2"]
ctx = notebook.context(P)


def kmeans_acc(views):
    """% of the unknown images K-means labels correctly: the label runs 04_embeddings stored."""
    return 100 * label_run(data, "kmeans", views, P["M"], P["seed"], ctx)["label_acc"]


pca_acc = kmeans_acc([("pca", 32)])
emb_acc = {size: kmeans_acc([(P["backbone"], size)])
           for size in sorted(set(P["input_sizes"]) | {P["input_size"]})}
sizes = ", ".join(f"{acc:.1f}% at {size}x{size}" for size, acc in emb_acc.items())
cifar = data.is_cifar10  # the report's numbers apply
display(Markdown(
    f"At M={P['M']} (seed {P['seed']}), K-means labels the unknown images {pca_acc:.1f}% "
    f"correctly from PCA vectors{' (report: 22%)' if cifar else ''} and {sizes} from "
    f"{P['backbone']} embeddings"
    f"{' (report, three backbones at 32x32: 29-31%)' if cifar else ''}. Chance is "
    f"{data.chance:.0f}%. The input size given to the backbone matters: upscaled images give "
    "markedly better labels (the bar chart of 04_embeddings)."))

# %% [markdown]
# ## 2. Where the report's findings hold ({ref}`m-sweep`)
#
# The report's claims are differences: Model B (K-means labels added) against Model A (known
# labels only), and Model C (A's predictions added) against A. Below, each difference is taken
# seed by seed (the same known images and initialisation for both models), then averaged; a
# gain is called clear when a paired t-test over the seeds rejects zero at 5% (with three seeds:
# a mean beyond 4.3 standard errors), and the report's finding *holds* when the gain is clear
# and has the report's sign. With two or three seeds only large, steady gains are clear.

# %% tags=["nbval-ignore-output"]
gains = paired_gains(runs, TEST_ACCURACY) if len(runs) else pd.DataFrame()
if len(gains):
    display(analysis.gains_table(gains))
    display(Markdown("\n".join([*analysis.verdict_lines(gains), analysis.best_model_line(runs)])
                     + f"\n\nProtocol: {budget.describe()}, Model B's labels {P['method']} on "
                     f"{P['backbone']}@{P['input_size']}; devices: "
                     f"{', '.join(sorted(runs['device'].unique()))}."))
else:
    print("no runs of 06_m_sweep are stored for this profile yet: run it first")

# %% [markdown]
# ## 3. What the comparison does and does not show

# %%
display(Markdown(
    f"All three models were trained for the same {P['epochs']} epochs (profile "
    f"{P['profile']!r}; the report used 50). Model A's epochs pass over M images, B's and C's "
    "over 50,000, so B and C took up to 50,000/M times as many gradient steps: part of their "
    "advantage is compute, not labels. The chapters beyond the report's six compare methods "
    "at equal compute. " + notebook.JPEG_NOTE))

# %% [markdown]
# ## 4. Better labels, used better, at equal compute ({ref}`label-inference` and {ref}`better-training`)

# %% tags=["nbval-ignore-output"]
budget = Budget.epochs_of(P["budget_epochs"], data.n_train, batch_size=P["batch_size"])
screened = [at_input_size(get_recipe(n), P["beyond_size"]) for n in P["recipes"]]
found = stored_rows(data, plan(P["beyond_M_list"], P["beyond_seeds"], screened, budget), store)
if len(found):
    beyond = analysis.add_gap_closed(analysis.ceiling_at_every_m(found, P["beyond_M_list"]))
    lines = analysis.against_a_lines(beyond, budget.amount)
    display(Markdown("\n".join(lines) if lines else "No recipe runs are stored yet."))
else:
    print("no runs of 08_better_training are stored for this profile yet: run it first")

# %% [markdown]
# ## 5. The best methods over M and seeds, against the targets ({ref}`beyond-sweep`)

# %% tags=["nbval-ignore-output"]

sweep_budget = notebook.sweep_budget(P, data.n_train)
swept = stored_rows(data, plan(P["M_list"], P["sweep_seeds"], notebook.sweep_recipes(P),
                               sweep_budget), store)
if len(swept):
    lines = analysis.against_a_lines(analysis.ceiling_at_every_m(swept, P["M_list"]),
                                     sweep_budget.amount, TARGETS, TEST_ACCURACY)
    display(Markdown(
        "\n".join(lines) + f"\n\nThese models had {sweep_budget.amount:,} steps each "
        f"({P['sweep_epochs']} passes over {data.n_train:,} images), "
        f"{P['sweep_epochs'] / 50:.0%} of the report's compute for B and C; the targets allow "
        "the report's full compute. " + notebook.JPEG_NOTE))
else:
    print("no runs of 09_beyond_sweep are stored for this profile yet: run it first")

# %% [markdown]
# When the sweep above ran at less than the report's compute, the runs of the same comparison
# at full compute (the `paper` profile's budget) are listed here, where the store has them:

# %%
from semisup_utils.profiles import PROFILES

full_budget = notebook.sweep_budget({**P, "sweep_epochs": PROFILES["paper"]["sweep_epochs"]},
                                    data.n_train)
if full_budget == sweep_budget:
    print(f"The sweep above is at the report's full compute ({full_budget.amount:,} steps per "
          "model); 09_beyond_sweep shows every run of it.")
else:
    full = stored_rows(data, plan(P["M_list"], P["sweep_seeds"], notebook.sweep_recipes(P),
                                  full_budget), store)
    lines = [f"- `{r.recipe}`, {f'all {data.n_train:,} true labels' if r.m == 0 else f'M={r.m}'}"
             f", seed {r.seed}: {100 * r.test_acc:.1f}% after {full_budget.amount:,} steps "
             f"({r.wall_s / 60:.0f} min on {r.device})" for r in full.itertuples()]
    display(Markdown("\n".join(lines) if lines else
                     f"None stored yet ({full_budget.amount:,} steps per model)."))
