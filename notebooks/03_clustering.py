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
# (clustering)=
# # Labels from clusters: K-means on PCA vectors
#
# The report infers labels by clustering: K-means with ten clusters is fit on the **known**
# points' PCA vectors, each cluster is given a label from the known points it holds, and every
# unknown image takes the label of its nearest cluster. Two ways to map clusters to labels:
#
# - **majority**: each cluster takes the most common known label inside it (two clusters may
#   take the same label, and some labels may go unused);
# - **greedy one-to-one**: repeatedly pair the cluster and label with the largest count, then
#   remove both, so every label is used exactly once.

# %% tags=["parameters"]
profile = "default"
M = None
seed = None
n_train = None
n_test = None

# %% tags=["hide-input"]
import pandas as pd

from semisup_utils import notebook, plots, report
from semisup_utils.data import split_known
from semisup_utils.features import fit_pca
from semisup_utils.labels import infer_labels, label_report

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
# the report's numbers: empty unless the data is CIFAR-10
LABEL_ACCURACY = report.label_accuracy(data)
print(notebook.data_note(data, P["profile"]))
_, features = fit_pca(data.x_train, n_components=0.8, whiten=True,
                      seed=P["seed"])
known, unknown = split_known(data.y_train, P["M"], P["seed"])
print(f"M={P['M']}, seed {P['seed']}: {features.shape[1]} PCA "
      f"components, {len(unknown)} unknown images to label")

# %% [markdown]
# ## Label accuracy on the unknown images
#
# Chance is one over the number of classes (10% for CIFAR-10). The confidence of a guess is
# the share of its cluster's known points that carry the mapped label (the cluster's purity).

# %% tags=["nbval-tolerance-2"]
results = {}
for method in ["kmeans", "kmeans-greedy"]:
    guess = infer_labels(method, features, known, data.y_train[known],
                         seed=P["seed"])
    results[method] = (guess, label_report(guess, data.y_train))

guesses, reports = zip(*results.values())
table = pd.DataFrame({
    "cluster map": ["majority", "greedy one-to-one"],
    "label accuracy (%)": [100 * r["accuracy"] for r in reports],
    "labels used (of 10)": [r["labels_used"] for r in reports],
    "mean confidence (%)": [100 * g.confidence.mean() for g in guesses],
}).round(1)
table

# %%
if LABEL_ACCURACY:
    print(f"The report measured {LABEL_ACCURACY['PCA']:.0f}% with "
          "PCA + K-means on the original CIFAR-10.")
print(f"Chance: {data.chance:.1f}% ({data.n_classes} classes).")

# %% [markdown]
# ## Which classes get confused
#
# Rows are the true classes of the unknown images, columns the labels K-means gave them; each
# row sums to one. A good labelling would put its weight on the diagonal.

# %%
for method, title in [("kmeans", "majority map"),
                      ("kmeans-greedy", "greedy one-to-one map")]:
    fig = plots.confusion(
        results[method][1]["confusion"], data.classes,
        title=f"PCA + K-means labels, {title} (M={P['M']})")

# %% [markdown]
# ## Real labels beside the cluster guesses
#
# A sample of unknown images with the label they really have and the label the majority map
# gave them. The clusters follow colour and layout (blue sky, green ground) more than objects.

# %%
guess = results["kmeans"][0]
fig = plots.guesses_side_by_side(
    data.x_train[guess.indices], data.y_train[guess.indices],
    guess.labels, data.classes, n=18, seed=P["seed"],
    title="PCA + K-means (majority map)")
