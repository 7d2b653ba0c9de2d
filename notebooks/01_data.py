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
# CIFAR-10 holds 60,000 colour images of 32x32 pixels in ten classes: 50,000 for training and
# 10,000 for testing. The study pretends that only **M** of the 50,000 training images keep
# their labels (the *known* set); the labels of the other 50,000 − M (the *unknown* set) must be
# inferred. This chapter loads the images, shows what they look like and draws the split.

# %% tags=["parameters"]
# every None below takes the profile's value
profile = "default"  # smoke, default, paper or published
M = None        # number of known labels
seed = None     # seed of the known/unknown split
n_train = None  # training images used (None: all 50,000)
n_test = None   # test images used (None: all 10,000)

# %% tags=["hide-input"]
import numpy as np
import pandas as pd

from semisup_utils import notebook, plots
from semisup_utils.data import split_known

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
print(f"profile {P['profile']!r}: M={P['M']}, seed={P['seed']}")

# %% [markdown]
# ## Loading
#
# `load_cifar10` takes the copy named by the `SEMISUP_DATA` environment variable (the original
# `cifar-10-python.tar.gz` or its folder, or an ImageFolder tree or tarball such as the JPEG copy
# used offline), and otherwise downloads the original through torchvision. Decoded arrays are
# cached on disk, so later chapters load in about a second.

# %%
data = notebook.load_data(P)
print(notebook.data_note(data, P["profile"]))
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
n = data.n_classes
counts = pd.DataFrame({
    "known": np.bincount(data.y_train[known], minlength=n),
    "unknown": np.bincount(data.y_train[unknown], minlength=n),
}, index=list(data.classes))
share = 100 * counts["known"] / counts["known"].sum()
counts["known share (%)"] = share.round(1)
counts

# %% [markdown]
# A random draw is not perfectly balanced: with small M some classes are a few points above or
# below the 10% they hold in the full set. `split_known(..., stratify=True)` gives exact class
# shares; the study keeps the report's plain random split.
