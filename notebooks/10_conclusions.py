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

# %%
import pandas as pd
from IPython.display import Markdown, display

from semisup_utils import notebook
from semisup_utils.data import split_known
from semisup_utils.experiments import run_key, rows_frame
from semisup_utils.features import embed, fit_pca
from semisup_utils.labels import infer_labels, label_report
from semisup_utils.profiles import resolve
from semisup_utils.report import TEST_ACCURACY
from semisup_utils.store import ResultsStore

P = resolve(profile, M=M, M_list=M_list, seeds=seeds, n_train=n_train, n_test=n_test,
            epochs=epochs, batch_size=batch_size, weight=weight, method=method,
            backbone=backbone, input_size=input_size, arch=arch)
notebook.setup(P["seed"])
data = notebook.load_data(P)
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

# %%
known, _ = split_known(data.y_train, P["M"], P["seed"])


def kmeans_acc(features):
    guess = infer_labels("kmeans", features, known, data.y_train[known], seed=P["seed"])
    return 100 * label_report(guess, data.y_train)["accuracy"]


pca_acc = kmeans_acc(fit_pca(data.x_train, 0.8, seed=P["seed"])[1])
emb_acc = {size: kmeans_acc(embed(data.x_train, P["backbone"], size, device=P.get("device"),
                                  fingerprint=data.fingerprint, progress=False))
           for size in sorted(set(P["input_sizes"]) | {P["input_size"]})}
sizes = ", ".join(f"{acc:.1f}% at {size}x{size}" for size, acc in emb_acc.items())
display(Markdown(
    f"At M={P['M']} (seed {P['seed']}), K-means labels the unknown images {pca_acc:.1f}% "
    f"correctly from PCA vectors (report: 22%) and {sizes} from {P['backbone']} embeddings "
    f"(report, three backbones at 32x32: 29-31%). Chance is 10%. The input size given to "
    "the backbone matters: upscaled images give markedly better labels (chapter 4's bar "
    "chart)."))

# %% [markdown]
# ## 2. Models A, B and C across M (chapter 6)

# %%
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
# ## 3. What the comparison does and does not show

# %%
display(Markdown(
    f"All three models were trained for the same {P['epochs']} epochs (profile "
    f"{P['profile']!r}; the report used 50). Model A's epochs pass over M images, B's and C's "
    "over 50,000, so B and C took up to 50,000/M times as many gradient steps: part of their "
    "advantage is compute, not labels. The chapters beyond the report's six compare methods "
    "at equal compute. " + notebook.JPEG_NOTE))
