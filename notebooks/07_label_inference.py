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
# (label-inference)=
# # Better inferred labels from the same embeddings
#
# The report's labels were poor (22-31% correct) because of two choices, not because the
# embeddings were poor: K-means ignores the known labels until after clustering, and the
# backbones saw 32x32 images. This chapter keeps EfficientNet-Lite0's embeddings and changes
# both: methods that learn from the known labels directly (a k-nearest-neighbour vote, logistic
# regression, label spreading over a neighbour graph of all images) and larger input sizes.

# %% tags=["parameters"]
profile = "default"
beyond_M_list = None  # values of M (a screening chapter)
seed = None
n_train = None
n_test = None
methods = None      # label-inference methods compared
label_sizes = None  # backbone input sizes compared
backbone = None

# %% tags=["hide-input"]
import pandas as pd

from semisup_utils import notebook, plots
from semisup_utils.label_runs import label_study

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
print(notebook.data_note(data, P["profile"]))
print(f"methods {P['methods']}, input sizes {P['label_sizes']}, "
      f"M in {P['beyond_M_list']}, seed {P['seed']}, "
      f"backbone {P['backbone']}")

# %% [markdown]
# The methods, each given the embeddings of all training images and the labels of the M known
# ones:
#
# - `kmeans`: the report's; 10 clusters fit on the known points, majority map;
# - `kmeans-all`: 100 clusters fit on all 50,000 points, each mapped by its known members;
# - `knn`: the 10 nearest known images by cosine distance vote, weighted by similarity;
# - `logreg`: multinomial logistic regression on standardised embeddings;
# - `spread`: label spreading (scikit-learn) over a 10-nearest-neighbour graph of all images.

# %% tags=["nbval-tolerance-2"]
# each (input size, M, method) is fitted once and stored in
# results/labels.jsonl; a re-execution reads it back
views = [[(P["backbone"], size)] for size in P["label_sizes"]]
study = label_study(data, P["methods"], views, P["beyond_M_list"],
                    P["seed"], notebook.context(P))
results = study.rename(columns={"input_size": "input size"})
results["label accuracy (%)"] = 100 * results["label_acc"]

# %%
table = results.pivot_table(index=["M", "method"], columns="input size",
                            values="label accuracy (%)").round(1)
table.columns = [f"{c}x{c} (%)" for c in table.columns]
table

# %%
best_size = max(P["label_sizes"])
for size in sorted({min(P["label_sizes"]), best_size}):
    part = results[results["input size"] == size].copy()
    part["M "] = part["M"].astype(str)
    fig = plots.bars(
        part, x="M ", y="label accuracy (%)", hue="method",
        title=f"Label accuracy on the unknown images, {P['backbone']} "
              f"at {size}x{size}",
        xlabel="M (known labels)", ylabel="label accuracy (%)",
        reference={"chance": data.chance})

# %% [markdown]
# The cost of each method (wall seconds to label every unknown image, measured when the labels
# were first computed, on this machine; the embeddings themselves are counted in {ref}`embeddings`):

# %% tags=["nbval-ignore-output"]
results.pivot_table(index=["M", "method"], columns="input size",
                    values="seconds").round(1)

# %% tags=["nbval-tolerance-2"]
ACC = "label accuracy (%)"
best = results.loc[results.groupby("M")[ACC].idxmax()]
small = min(P["label_sizes"])
reports_way = results[(results["method"] == "kmeans")
                      & (results["input size"] == small)]
report_best = dict(zip(reports_way["M"], reports_way[ACC]))
for _, row in best.iterrows():
    size = row["input size"]
    print(f"M={row['M']}: best {row['method']} at {size}x{size}, "
          f"{row[ACC]:.1f}% correct (the report's way, K-means at "
          f"{small}x{small}: {report_best[row['M']]:.1f}%)")
print(notebook.JPEG_NOTE)

# %% [markdown]
# Two things lift the labels: a method that uses the known labels when it draws its decision
# boundaries (logistic regression, neighbours, label spreading) instead of after clustering,
# and a larger input to the backbone. The next chapter trains the report's CNN on such labels.
