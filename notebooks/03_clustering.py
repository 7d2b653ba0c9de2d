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
# How many of the unknown images get the right label when K-means clusters their whitened PCA
# pixels, the report's first way to {term}`infer labels <inferred labels>`, and how does that
# compare with chance and with the report?
#
# K-means with ten clusters is fit on the PCA vectors of the {term}`known images`
# ({ref}`pca`), each cluster is given a label from the known points it holds, and every
# unknown image takes the label of its nearest cluster. Two ways to map clusters to labels:
#
# - **majority**: each cluster takes the most common known label inside it (two clusters may
#   take the same label, and some labels may go unused);
# - **greedy one-to-one**: repeatedly pair the cluster and label with the largest count, then
#   remove both, so every label is used exactly once.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 03`
profile = "default"
section = "report"
M = None
seed = None
n_train = None
n_test = None

# %% tags=["hide-input"]
from semisup_utils.book import (notebook, original_report as report,
                                plots, tables)
from semisup_utils.data.dataset import split_known
from semisup_utils.teachers.features import fit_pca
from semisup_utils.teachers.label_inference import (fit_method,
                                                    label_quality)
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
# the report's numbers: empty unless the data is CIFAR-10
LABEL_ACCURACY = report.label_accuracy(data)
print(notebook.data_note(data, P))
_, features = fit_pca(data.x_train, n_components=0.8, whiten=True,
                      seed=P["seed"])
known, unknown = split_known(data.y_train, P["M"], P["seed"])
print(f"M={P['M']}, seed {P['seed']}: {features.shape[1]} PCA "
      f"components, {len(unknown)} unknown images to label")

# %% [markdown]
# ## Label accuracy on the unknown images
#
# The {term}`label accuracy` is the share of the unknown images whose inferred label is right,
# measured with their true labels, which the method never sees. Chance is one over the number
# of classes. The confidence of a guess is the share of its cluster's known points that carry
# the mapped label (the cluster's purity).

# %% tags=["nbval-tolerance-2"]
results = {}
for method, name in [("kmeans", "majority"),
                     ("kmeans-greedy", "greedy one-to-one")]:
    guess = fit_method(method, features, known, data.y_train[known],
                       seed=P["seed"])
    results[name] = (guess, label_quality(guess, data.y_train))
print(f"Chance: {data.chance:.1f}% ({data.n_classes} classes).")
tables.label_quality_table(results, data.n_classes)

# %% tags=["remove-cell", "nbval-ignore-output"]
(_, major), (_, greedy) = results.values()
# differences of the rounded values, as the table shows them
acc = round(100 * major["accuracy"], 1)
greedy_acc = round(100 * greedy["accuracy"], 1)
reported = LABEL_ACCURACY.get("PCA")
prose.glue_all({
    "acc": prose.percent(acc), "chance": prose.percent(data.chance),
    "greedy_acc": prose.percent(greedy_acc),
    "used": prose.number(major["labels_used"], 0),
    "n_classes": prose.number(data.n_classes, 0),
    "n_unknown": prose.number(len(unknown), 0),
    "M": prose.number(P["M"], 0),
    "over_chance": prose.direction(acc - round(data.chance, 1)),
    "against_report": "" if reported is None else (
        f", {prose.direction(acc - reported)} the "
        f"report's {prose.percent(reported, 0)} on the original "
        "CIFAR-10"),
    "greedy_vs": prose.direction(greedy_acc - acc),
    "worst": tables.confusion_phrase(major["confusion"], data.classes),
})

# %% [markdown]
# With the majority map, K-means labels {glue:text}`acc` of the {glue:text}`n_unknown`
# unknown images right, {glue:text}`over_chance` chance
# ({glue:text}`chance`){glue:text}`against_report`.
# The majority map uses {glue:text}`used` of the {glue:text}`n_classes` labels; the greedy
# one-to-one map, which uses all of them, labels {glue:text}`greedy_acc` right,
# {glue:text}`greedy_vs` the majority map.
#
# ## Which classes get confused
#
# Rows are the true classes of the unknown images, columns the labels K-means gave them; each
# row sums to one. A good labelling would put its weight on the diagonal. With the majority
# map {glue:text}`worst`, its most frequent mistake.

# %%
for name, (_, quality) in results.items():
    fig = plots.confusion(
        quality["confusion"], data.classes,
        title=f"PCA + K-means labels, {name} map (M={P['M']})")

# %% [markdown]
# ## Real labels beside the cluster guesses
#
# A sample of unknown images with the label they really have and the label the majority map
# gave them. Clusters of pixels can only follow what pixels share, colour and layout (blue
# sky, green ground), so look for guesses that match an image's background rather than its
# object.

# %%
guess = results["majority"][0]
fig = plots.guesses_side_by_side(
    data.x_train[guess.indices], data.y_train[guess.indices],
    guess.labels, data.classes, n=18, seed=P["seed"],
    title="PCA + K-means (majority map)")

# %% [markdown]
# ## What this chapter shows
#
# - **Labels from pixel clusters:** K-means on whitened PCA pixels labels {glue:text}`acc` of
#   the unknown images right at M = {glue:text}`M` (majority map), {glue:text}`over_chance`
#   chance ({glue:text}`chance`){glue:text}`against_report`.
# - **The cluster map:** the greedy one-to-one map, forced to use every label, gets
#   {glue:text}`greedy_acc`, {glue:text}`greedy_vs` the majority map.
# - **The mistakes:** with the majority map {glue:text}`worst`, its most frequent mistake.
#   Clusters of pixels can only follow what pixels share, such as light and colour
#   ({ref}`pca`); {ref}`The next chapter <embeddings>` clusters vectors that encode objects
#   instead.
