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
# (pca)=
# # Pixels as vectors: PCA
#
# The report's first way to infer labels works on raw pixels. Each 32x32x3 image is a vector
# of 3,072 numbers; principal component analysis (PCA) keeps the few directions that carry most
# of the variance, here 80% of it, and *whitens* them (scales every component to unit
# variance) so that K-means, in the next chapter, weighs them equally.

# %% tags=["parameters"]
profile = "default"
M = None
seed = None
n_train = None
n_test = None

# %% tags=["hide-input"]
import numpy as np
import pandas as pd

from semisup_utils import notebook, plots
from semisup_utils.data import split_known
from semisup_utils.features import fit_pca

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
print(notebook.data_note(data, P["profile"]))

# %% [markdown]
# ## Pixel normalisation
#
# Pixels are scaled from 0..255 to 0..1. PCA then subtracts the mean image, so no further
# centring is needed; the per-channel statistics show what it works with.

# %%
scaled = data.x_train.astype(np.float32) / 255
pixels = (0, 1, 2)  # every axis but the channel's
pd.DataFrame({"mean": scaled.mean(axis=pixels),
              "std": scaled.std(axis=pixels)},
             index=["red", "green", "blue"]).round(3)

# %% [markdown]
# ## How many components for 80% of the variance?
#
# One PCA with every component gives the whole explained-variance curve.

# %%
full_pca, _ = fit_pca(data.x_train, n_components=None, whiten=False,
                      seed=P["seed"])
ratios = full_pca.explained_variance_ratio_
needed = int(np.searchsorted(np.cumsum(ratios), 0.8) + 1)
fig = plots.explained_variance(
    ratios, 0.8,
    title="Explained variance of the CIFAR-10 training pixels")
print(f"{needed} of {len(ratios)} components keep 80% of the variance")

# %%
pca, features = fit_pca(data.x_train, n_components=0.8, whiten=True,
                        seed=P["seed"])
kept = pca.explained_variance_ratio_.sum()
print(f"PCA features: {features.shape[0]} images x {features.shape[1]} "
      f"components ({kept:.1%} of the variance), whitened: "
      f"per-component std {features.std(axis=0).mean():.2f}")

# %% [markdown]
# ## The known points on the first two components
#
# If pixels separated the classes, the colours below would form separate clouds. They do not:
# the first components mostly encode overall brightness and colour, which is shared across
# classes. This is why the PCA route gives poor labels (next chapter).

# %%
known, unknown = split_known(data.y_train, P["M"], P["seed"])
fig = plots.scatter_2d(
    features[known, :2], data.y_train[known], data.classes,
    title=f"Known images (M={P['M']}) on the first two whitened "
          "components",
    xlabel="component 1 (whitened)", ylabel="component 2 (whitened)")
