# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Conclusions
#
# Every statement on this page is computed from the results store and the caches that the
# chapters filled, for the same profile; the numbers below change when the chapters are rerun
# with other parameters. Where a statement rests on a figure, the chapter that draws it is named.

# %% tags=["parameters"]
profile = "default"
M = None
M_list = None
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

from semisup_utils import notebook, report
from semisup_utils.data import split_known
from semisup_utils.experiments import run_key, rows_frame
from semisup_utils.features import embed, fit_pca
from semisup_utils.labels import infer_labels, label_report
from semisup_utils.profiles import resolve
from semisup_utils.store import ResultsStore

P = resolve(profile, M=M, M_list=M_list, seeds=seeds, n_train=n_train, n_test=n_test,
            epochs=epochs, batch_size=batch_size, weight=weight, method=method,
            backbone=backbone, input_size=input_size, arch=arch, recipes=recipes,
            budget_epochs=budget_epochs, beyond_seeds=beyond_seeds, beyond_size=beyond_size,
            sweep_recipes=sweep_recipes, sweep_seeds=sweep_seeds, sweep_epochs=sweep_epochs,
            precision=precision, schedule=schedule)
notebook.setup(P["seed"])
data = notebook.load_data(P)
TEST_ACCURACY = report.test_accuracy(data)  # the report's numbers: empty unless the data is CIFAR-10
TARGETS = report.targets(data)
protocol = notebook.protocol(P)
store = ResultsStore()
stored = [store.find(run_key(data, m, s, model, protocol))
          for m in P["M_list"] for s in P["seeds"] for model in "ABC"]
missing = sum(row is None for row in stored)
runs = rows_frame([row for row in stored if row is not None])
print(f"profile {P['profile']!r}: {len(runs)} stored runs of the sweep, {missing} missing")
if missing:
    print("run chapter 06 first: the statements below use only the stored runs")

# %% [markdown]
# ## 1. Pixels give poor labels; pretrained embeddings give better ones (chapters 3 and 4)

# %% tags=["nbval-tolerance-2"]
known, _ = split_known(data.y_train, P["M"], P["seed"])


def kmeans_acc(features):
    guess = infer_labels("kmeans", features, known, data.y_train[known], seed=P["seed"])
    return 100 * label_report(guess, data.y_train)["accuracy"]


pca_acc = kmeans_acc(fit_pca(data.x_train, 0.8, seed=P["seed"])[1])
emb_acc = {size: kmeans_acc(embed(data.x_train, P["backbone"], size, device=P.get("device"),
                                  fingerprint=data.fingerprint, progress=False))
           for size in sorted(set(P["input_sizes"]) | {P["input_size"]})}
sizes = ", ".join(f"{acc:.1f}% at {size}x{size}" for size, acc in emb_acc.items())
cifar = data.is_cifar10  # the report's numbers apply
display(Markdown(
    f"At M={P['M']} (seed {P['seed']}), K-means labels the unknown images {pca_acc:.1f}% "
    f"correctly from PCA vectors{' (report: 22%)' if cifar else ''} and {sizes} from "
    f"{P['backbone']} embeddings"
    f"{' (report, three backbones at 32x32: 29-31%)' if cifar else ''}. Chance is "
    f"{data.chance:.0f}%. The input size given to the backbone matters: upscaled images give "
    "markedly better labels (chapter 4's bar chart)."))

# %% [markdown]
# ## 2. Models A, B and C across M (chapter 6)

# %% tags=["nbval-ignore-output"]
if len(runs):
    mean = (100 * runs.groupby(["m", "model"])["test_acc"].mean()).unstack()
    sd = (100 * runs.groupby(["m", "model"])["test_acc"].std()).unstack()
    lines = []
    for m in mean.index:
        best = mean.loc[m].idxmax()
        parts = ", ".join(f"{model} {mean.loc[m, model]:.1f}%" +
                          (f" (sd {sd.loc[m, model]:.1f})" if pd.notna(sd.loc[m, model]) else "")
                          for model in mean.columns)
        report = TEST_ACCURACY.get(m)
        ref = (" Report: " + ", ".join(f"{k} {v}%" for k, v in report.items()) + ".") \
            if report else ""
        gain_b = mean.loc[m, "B"] - mean.loc[m, "A"] if "B" in mean and "A" in mean else None
        gain_c = mean.loc[m, "C"] - mean.loc[m, "A"] if "C" in mean and "A" in mean else None
        lines.append(f"- **M={m}**: {parts}; best: Model {best}. B − A = {gain_b:+.1f} points, "
                     f"C − A = {gain_c:+.1f} points.{ref}")
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ## 3. The report's own protocol, where it was run
#
# Runs with the report's settings (50 epochs, Model B's K-means labels from 32x32 embeddings)
# are stored by `semisup abc --m 5000 --epochs 50 --input-size 32` (see the README); they are
# shown here when the store has them for this data.

# %%
from semisup_utils.experiments import Protocol

paper_protocol = Protocol(epochs=50, batch_size=128, weight=0.1, method="kmeans",
                          backbone="effnet-lite0", input_size=32)
paper_rows = [(m, s, model, store.find(run_key(data, m, s, model, paper_protocol)))
              for m in (500, 5000, 40000) for s in (0, 1, 2) for model in "ABC"]
paper_rows = [(m, s, model, row) for m, s, model, row in paper_rows if row is not None]
if paper_rows:
    lines = []
    for m in sorted({r[0] for r in paper_rows}):
        for s in sorted({r[1] for r in paper_rows if r[0] == m}):
            got = {model: row for mm, ss, model, row in paper_rows if mm == m and ss == s}
            parts = ", ".join(f"{model} {100 * got[model]['test_acc']:.1f}%" for model in sorted(got))
            report = TEST_ACCURACY.get(m, {})
            lines.append(f"- **M={m}, seed {s}**: {parts} (report: " +
                         ", ".join(f"{k} {v}%" for k, v in report.items()) + ")" +
                         (f"; Model B's K-means labels were {100 * got['B']['label_acc']:.1f}% "
                          "correct" if "B" in got else "") + ".")
    display(Markdown("\n".join(lines)))
else:
    print("no run with the report's protocol is stored for this data")

# %% [markdown]
# ## 4. What the comparison does and does not show

# %%
display(Markdown(
    f"All three models were trained for the same {P['epochs']} epochs (profile "
    f"{P['profile']!r}; the report used 50). Model A's epochs pass over M images, B's and C's "
    "over 50,000, so B and C took up to 50,000/M times as many gradient steps: part of their "
    "advantage is compute, not labels. The chapters beyond the report's six compare methods "
    "at equal compute. " + notebook.JPEG_NOTE))

# %% [markdown]
# ## 5. Better labels, used better, at equal compute (chapters 8 and 9)

# %% tags=["nbval-ignore-output"]
from semisup_utils.recipes import Budget, add_gap_closed, at_input_size, get_recipe
from semisup_utils.recipes import run_key as recipe_key

budget = Budget.epochs_of(P["budget_epochs"], data.n_train, batch_size=P["batch_size"])
found = []
for name in P["recipes"]:
    recipe = at_input_size(get_recipe(name), P["beyond_size"])
    for m in P["M_list"]:
        for s in P["beyond_seeds"]:
            row = store.find(recipe_key(data, m, s, recipe, budget))
            if row is not None:
                found.append({"m": m, "seed": s, "recipe": name, "test_acc": row["test_acc"]})
if found:
    beyond = add_gap_closed(pd.DataFrame(found))
    means = beyond.groupby(["m", "recipe"])[["test_acc", "gap_closed"]].mean().reset_index()
    lines = []
    for m, part in means.groupby("m"):
        part = part.set_index("recipe")
        contenders = part.drop(index=[r for r in ("A", "ceiling") if r in part.index])
        if contenders.empty or "A" not in part.index:
            continue
        best = contenders["test_acc"].idxmax()
        gain = 100 * (part.loc[best, "test_acc"] - part.loc["A", "test_acc"])
        closed = part.loc[best, "gap_closed"]
        lines.append(
            f"- **M={m}**: best recipe `{best}` {100 * part.loc[best, 'test_acc']:.1f}% against "
            f"Model A's {100 * part.loc['A', 'test_acc']:.1f}% at the same {budget.steps} steps "
            f"({gain:+.1f} points" + (f", {100 * closed:.0f}% of the gap to the ceiling" if
                                      pd.notna(closed) else "") + ").")
    display(Markdown("\n".join(lines) if lines else "No recipe runs are stored yet."))
else:
    print("no runs of chapter 9 are stored for this profile yet: run chapter 9 first")

# %% [markdown]
# ## 6. The best methods over M and seeds, against the targets (chapter 10)

# %% tags=["nbval-ignore-output"]

sweep_budget = notebook.sweep_budget(P, data.n_train)
swept = []
for recipe in notebook.sweep_recipes(P):
    for m in P["M_list"]:
        for s in P["sweep_seeds"]:
            row = store.find(recipe_key(data, m, s, recipe, sweep_budget))
            if row is not None:
                swept.append({"m": m, "seed": s, "recipe": recipe.name,
                              "test_acc": 100 * row["test_acc"]})
if swept:
    swept = pd.DataFrame(swept)
    lines = []
    for m, part in swept.groupby("m"):
        means = part.groupby("recipe")["test_acc"].agg(["mean", "std", "count"])
        others = means.drop(index=[r for r in ("A", "ceiling") if r in means.index])
        if others.empty or "A" not in means.index:
            continue
        best = others["mean"].idxmax()
        target = TARGETS.get(m)
        lines.append(
            f"- **M={m}**: `{best}` {means.loc[best, 'mean']:.1f}% (sd "
            f"{means.loc[best, 'std']:.1f}, {int(means.loc[best, 'count'])} seeds) against "
            f"Model A's {means.loc['A', 'mean']:.1f}% with the same {sweep_budget.steps} steps"
            + (f"; the report's best was {max(TEST_ACCURACY[m].values())}%"
               if m in TEST_ACCURACY else "")
            + ("" if target is None else
               f"; target {target:.0f}% " + ("met" if means.loc[best, "mean"] >= target else
                                             f"missed by {target - means.loc[best, 'mean']:.1f} "
                                             "points")) + ".")
    display(Markdown(
        "\n".join(lines) + f"\n\nThese models had {sweep_budget.steps} steps each "
        f"({P['sweep_epochs']} passes over {data.n_train:,} images), {P['sweep_epochs'] / 50:.0%} of the "
        "report's compute for B and C; the targets allow the report's full compute. "
        + notebook.JPEG_NOTE))
else:
    print("no runs of chapter 10 are stored for this profile yet: run chapter 10 first")

# %% [markdown]
# Runs of the same comparison at the report's full compute (the `paper` profile's budget), where
# the store has them:

# %%
from semisup_utils.profiles import PROFILES

full_params = {**P, "sweep_epochs": PROFILES["paper"]["sweep_epochs"]}
full_budget = notebook.sweep_budget(full_params, data.n_train)
full = [(recipe.name, m, s, store.find(recipe_key(data, m, s, recipe, full_budget)))
        for recipe in notebook.sweep_recipes(P) for m in P["M_list"] for s in P["sweep_seeds"]]
full = [(name, m, s, row) for name, m, s, row in full if row is not None]
seen_ceiling = set()
lines = []
for name, m, s, row in full:
    if name == "ceiling":  # one run whatever M is
        if s in seen_ceiling:
            continue
        seen_ceiling.add(s)
        where = "all 50,000 true labels"
    else:
        where = f"M={m}"
    lines.append(f"- `{name}`, {where}, seed {s}: {100 * row['test_acc']:.1f}% after "
                 f"{full_budget.steps} steps ({row['wall_s'] / 60:.0f} min on {row['device']})")
display(Markdown("\n".join(lines) if lines else
                 f"None stored yet ({full_budget.steps} steps per model)."))
