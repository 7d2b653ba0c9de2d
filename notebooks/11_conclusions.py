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

from semisup_utils import notebook, report
from semisup_utils.data import split_known
from semisup_utils.experiments import stored_runs
from semisup_utils.features import embed, fit_pca
from semisup_utils.labels import infer_labels, label_report
from semisup_utils.profiles import resolve
from semisup_utils.stats import paired_gains
from semisup_utils.store import ResultsStore

P = resolve(profile, M=M, M_list=M_list, beyond_M_list=beyond_M_list, seeds=seeds, n_train=n_train, n_test=n_test,
            epochs=epochs, batch_size=batch_size, weight=weight, method=method,
            backbone=backbone, input_size=input_size, arch=arch, recipes=recipes,
            budget_epochs=budget_epochs, beyond_seeds=beyond_seeds, beyond_size=beyond_size,
            sweep_recipes=sweep_recipes, sweep_seeds=sweep_seeds, sweep_epochs=sweep_epochs,
            precision=precision, schedule=schedule)
notebook.setup(P["seed"])
data = notebook.load_data(P)
print(notebook.data_note(data, P["profile"]))
TEST_ACCURACY = report.test_accuracy(data)  # the report's numbers: empty unless the data is CIFAR-10
TARGETS = report.targets(data)
protocol = notebook.protocol(P)
store = ResultsStore()
runs = stored_runs(data, P["M_list"], P["seeds"], ["A", "B", "C"], protocol,
                   store)
missing = 3 * len(P["M_list"]) * len(P["seeds"]) - len(runs)
print(f"profile {P['profile']!r}: {len(runs)} stored runs of chapter 6's sweep, {missing} missing")
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
# ## 2. Where the report's findings hold (chapter 6)
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
    mean = (100 * runs.groupby(["m", "model"])["test_acc"].mean()).unstack()
    sd = (100 * runs.groupby(["m", "model"])["test_acc"].std()).unstack()
    shown = gains.assign(
        **{"gain (points)": gains["gain"].map("{:+.1f}".format)
           + gains["sd"].map(lambda v: "" if pd.isna(v) else f" ± {v:.1f}"),
           "report's gain": gains["report gain"].map(lambda v: "" if pd.isna(v) else f"{v:+.1f}"),
           "seeds better": gains["seeds better"].astype(str) + " of " + gains["seeds"].astype(str)})
    shown = shown.pivot(index="m", columns="model",
                        values=["gain (points)", "seeds better", "report's gain", "verdict"])
    shown.columns = [f"{model} − A: {what}" for what, model in shown.columns]
    shown.index.name = "M"
    display(shown[sorted(shown.columns, key=lambda c: c[0])])
    lines = []
    for model, part in gains.groupby("model"):
        held = part[part["verdict"] == "holds"]["m"].tolist()
        reversed_ = part[part["verdict"] == "reversed"]["m"].tolist()
        noise = part[part["verdict"] == "within seed noise"]["m"].tolist()
        other = part[part["verdict"].isin(["gain", "loss"])]
        lines.append(
            f"- **{model} against A** ({int(part['seeds'].max())} seeds per M): "
            + "; ".join(x for x in [
                f"the report's sign holds at M = {', '.join(map(str, held))}" if held else "",
                f"reversed at M = {', '.join(map(str, reversed_))}" if reversed_ else "",
                f"within seed noise at M = {', '.join(map(str, noise))}" if noise else "",
                ", ".join(f"{'+' if r.gain > 0 else '−'}{abs(r.gain):.1f} points at M = {r.m} "
                          "(no report figure)" for r in other.itertuples())] if x)
            + f". Largest mean gain {part['gain'].max():+.1f} points (M = "
            f"{int(part.loc[part['gain'].idxmax(), 'm'])}), smallest {part['gain'].min():+.1f} "
            f"(M = {int(part.loc[part['gain'].idxmin(), 'm'])}).")
    best = mean.idxmax(axis=1)
    lines.append("- **Best model per M**: " + ", ".join(
        f"M={m}: {best[m]} ({mean.loc[m, best[m]]:.1f} ± {sd.loc[m, best[m]]:.1f}%)"
        for m in mean.index) + ".")
    display(Markdown("\n".join(lines) + f"\n\nProtocol: {P['epochs']} epochs, batch "
                     f"{P['batch_size']}, constant learning rate {protocol.lr}, precision "
                     f"{protocol.precision}, Model B's labels {protocol.method} on "
                     f"{protocol.backbone}@{protocol.input_size}; devices: "
                     f"{', '.join(sorted(runs['device'].unique()))}."))
else:
    print("no runs of chapter 6 are stored for this profile yet: run chapter 6 first")

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
# ## 4. Better labels, used better, at equal compute (chapters 8 and 9)

# %% tags=["nbval-ignore-output"]
from semisup_utils.recipes import Budget, add_gap_closed, at_input_size, get_recipe
from semisup_utils.recipes import run_key as recipe_key

budget = Budget.epochs_of(P["budget_epochs"], data.n_train, batch_size=P["batch_size"])
found = []
for name in P["recipes"]:
    recipe = at_input_size(get_recipe(name), P["beyond_size"])
    for m in P["beyond_M_list"]:
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
# ## 5. The best methods over M and seeds, against the targets (chapter 10)

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
# When the sweep above ran at less than the report's compute, the runs of the same comparison
# at full compute (the `paper` profile's budget) are listed here, where the store has them:

# %%
from semisup_utils.profiles import PROFILES

full_params = {**P, "sweep_epochs": PROFILES["paper"]["sweep_epochs"]}
full_budget = notebook.sweep_budget(full_params, data.n_train)
if full_budget.steps == sweep_budget.steps:
    full = []
    print(f"The sweep above is at the report's full compute ({full_budget.steps} steps per "
          "model); chapter 10 shows every run of it.")
else:
    full = [(recipe.name, m, s, store.find(recipe_key(data, m, s, recipe, full_budget)))
            for recipe in notebook.sweep_recipes(P) for m in P["M_list"]
            for s in P["sweep_seeds"]]
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
if full_budget.steps != sweep_budget.steps:
    display(Markdown("\n".join(lines) if lines else
                     f"None stored yet ({full_budget.steps} steps per model)."))
