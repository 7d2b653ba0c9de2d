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
# (data)=
# # The data: CIFAR-10 and the known/unknown split
#
# What does the study learn from, and how much of it keeps its labels? This chapter loads the
# images, shows what they look like and draws the split into {term}`known images` and unknown
# ones that every later chapter starts from.
#
# CIFAR-10 holds 60,000 colour images of 32x32 pixels in ten classes: 50,000 for training and
# 10,000 for testing. The study pretends that only **M** of the {glue:text}`n_train` training
# images used here keep their labels (the *known* set); the labels of the other
# {glue:text}`n_unknown` (the *unknown* set) must be {term}`inferred <inferred labels>`.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 01`
profile = "default"
section = "report"
M = None
seed = None
n_train = None
n_test = None

# %% tags=["hide-input"]
from semisup_utils.book import notebook, plots, tables
from semisup_utils.data.dataset import split_known
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
print(f"profile {P['profile']!r}: M={P['M']}, seed={P['seed']}")

# %% [markdown]
# ## Loading
#
# `load_cifar10` takes the copy named by the `SEMISUP_DATA` environment variable (the original
# `cifar-10-python.tar.gz` or its folder, or an ImageFolder tree or tarball such as the
# {term}`JPEG copy` used offline), and otherwise downloads the original through torchvision.
# Decoded arrays are cached on disk, so later chapters load in about a second. The line below
# names the file, its fingerprint and the {term}`profile` the page was computed with.

# %%
data = notebook.load_data(P)
print(notebook.data_note(data, P))
print("train:", data.x_train.shape, data.x_train.dtype,
      "| test:", data.x_test.shape)
print("classes:", ", ".join(data.classes))

# %%
fig = plots.image_grid(
    data.x_train, data.y_train, data.classes, per_class=8,
    seed=P["seed"], title="Eight random training images of each class")

# %% [markdown]
# ## The known/unknown split
#
# The images of the JPEG copy come grouped by class, so "the first M images" would be a
# handful of classes: the split is a seeded random draw of M indices instead. Different seeds
# give different known sets, which is how the later chapters measure the spread of every
# result.

# %%
known, unknown = split_known(data.y_train, P["M"], P["seed"])
share = len(known) / data.n_train
print(f"known: {len(known)} images, unknown: {len(unknown)} images "
      f"({share:.1%} of the training set keeps its label)")

# %%
title = f"Class balance of the known set (M={P['M']}, seed {P['seed']})"
fig = plots.class_balance(data.y_train[known], data.classes,
                          title=title)

# %%
table = tables.class_split_table(data.y_train, known, unknown,
                                 data.classes)
table

# %% tags=["remove-cell", "nbval-ignore-output"]
prose.glue_all({
    "M": prose.number(P["M"], 0), "seed": str(P["seed"]),
    "n_train": prose.number(data.n_train, 0),
    "n_unknown": prose.number(len(unknown), 0),
    "n_test": prose.number(len(data.y_test), 0),
    "n_classes": prose.number(data.n_classes, 0),
    "share": prose.percent(100 * len(known) / data.n_train),
    **tables.class_balance_phrases(table)})

# %% [markdown]
# A random draw is not perfectly balanced: at M = {glue:text}`M` and seed {glue:text}`seed`
# the classes hold {glue:text}`known_range` of the known set, and the largest gap between a
# class's share of the known set and its share of the whole training set is
# {glue:text}`largest_gap`. The smaller M, the larger such gaps tend to be.
# `split_known(..., stratify=True)` gives exact class shares; the study keeps the report's
# plain random split.
#
# ## What this chapter shows
#
# - **The split:** M = {glue:text}`M` of the {glue:text}`n_train` training images
#   ({glue:text}`share`) keep their labels; the other {glue:text}`n_unknown` are the unknown
#   images, whose labels the next chapters infer from {ref}`pixel clusters <clustering>` and
#   {ref}`pretrained embeddings <embeddings>`. The {glue:text}`n_test` test images, in the
#   same {glue:text}`n_classes` classes, are set aside to measure the models.
# - **Class balance:** the draw at seed {glue:text}`seed` gives each class
#   {glue:text}`known_range` of the known images; the largest gap from a class's share of the
#   training set is {glue:text}`largest_gap`.
