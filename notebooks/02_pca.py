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
# How many directions of pixel space carry most of what varies between the images, and do
# those directions tell the classes apart? The answer decides how much the report's first way
# to {term}`infer labels <inferred labels>`, K-means on pixels, can hope for.
#
# Each 32x32x3 image is a vector of 3,072 numbers; principal component analysis (PCA) keeps
# the few directions that carry most of the variance, here 80% of it, and *whitens* them
# (scales every component to unit variance) so that K-means, in the next chapter, weighs them
# equally.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 02`
profile = "default"
section = "report"
M = None
seed = None
n_train = None
n_test = None

# %% tags=["hide-input"]
import numpy as np
import pandas as pd

from semisup_utils.book import notebook, plots, tables
from semisup_utils.data.dataset import split_known
from semisup_utils.teachers.features import fit_pca
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
print(notebook.data_note(data, P))

# %% [markdown]
# ## Pixel normalisation
#
# Pixels are scaled from 0..255 to 0..1. PCA then subtracts the mean image, so no further
# centring is needed; the per-channel statistics show what it works with.

# %%
scaled = data.x_train.astype(np.float32) / 255
pixels = (0, 1, 2)  # every axis but the channel's
# summed in float64: float32 sums of 51 million values lose digits
pd.DataFrame({"mean": scaled.mean(axis=pixels, dtype=np.float64),
              "std": scaled.std(axis=pixels, dtype=np.float64)},
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
# Each of the {term}`known images` is drawn in the colour of its class. If pixels separated
# the classes, the colours would form separate clouds.

# %%
known, unknown = split_known(data.y_train, P["M"], P["seed"])
fig = plots.scatter_2d(
    features[known, :2], data.y_train[known], data.classes,
    title=f"Known images (M={P['M']}) on the first two whitened "
          "components",
    xlabel="component 1 (whitened)", ylabel="component 2 (whitened)")

# %% [markdown]
# Two numbers say what the figure shows. The share of the known points' spread on these two
# components that the class means account for (1 if every class were a single point, 0 if
# all classes had the same mean), and how closely the first component follows an image's
# overall brightness, its mean pixel value.

# %%
between = tables.between_class_share(features[known, :2],
                                     data.y_train[known])
brightness = scaled.mean(axis=(1, 2, 3))
r = np.corrcoef(features[:, 0], brightness)[0, 1]
print(f"class means: {between:.1%} of the spread on components 1-2; "
      f"component 1 vs brightness: r = {r:+.2f}")

# %% tags=["remove-cell", "nbval-ignore-output"]
within = prose.percent(100 * (1 - between))
prose.glue_all({
    "needed": prose.number(features.shape[1], 0),
    "dims": prose.number(full_pca.n_features_in_, 0),
    "kept": prose.percent(100 * kept),
    "M": prose.number(P["M"], 0),
    "between": prose.percent(100 * between),
    "spread": prose.choose(
        between < 0.5,
        f"the other {within} lies within the classes, which is why "
        "the colours overlap",
        f"the classes lie apart, only {within} of it within them"),
    "r": prose.number(abs(r), 2),
    "bright": prose.choose(
        abs(r) >= 0.7, "follows an image's brightness closely",
        "follows an image's brightness only loosely"),
    "bright_why": prose.choose(
        abs(r) >= 0.7,
        "the direction along which the images vary most is light, "
        "which every class has, not an object",
        "brightness is not what the images vary most in"),
})

# %% [markdown]
# Along the first two components the class means account for {glue:text}`between` of the
# known points' spread: {glue:text}`spread`. The first component {glue:text}`bright` (a
# correlation of {glue:text}`r` in absolute value; a component's sign is arbitrary):
# {glue:text}`bright_why`.
#
# ## What this chapter shows
#
# - **Few directions:** {glue:text}`needed` of the {glue:text}`dims` pixel dimensions keep
#   {glue:text}`kept` of the variance; after whitening each has unit variance, so K-means
#   weighs them equally.
# - **The classes:** on the first two components the class means account for
#   {glue:text}`between` of the spread of the M = {glue:text}`M` known images, and the first
#   component {glue:text}`bright`. {ref}`The next chapter <clustering>` measures
#   what K-means makes of these vectors.
