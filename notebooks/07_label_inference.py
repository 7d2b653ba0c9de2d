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
# **The question.** The report's {term}`inferred labels` (K-means on embeddings) were
# mostly wrong. Does a method that learns from the {term}`known images` directly, fed
# images upscaled beyond 32x32, label the rest better, and by how much?
#
# {glue:text}`report_labels` Two of the report's choices may be to blame rather than the
# {term}`embeddings <embedding>` themselves: K-means ignores the known labels until after
# clustering, and the backbones saw 32x32 images, far below the 224x224 they were trained
# on. This chapter keeps EfficientNet-Lite0's embeddings and changes both: methods that learn
# from the known labels directly (a k-nearest-neighbour vote, logistic regression, label
# spreading over a neighbour graph of all images) and larger input sizes. Each is scored by
# its {term}`label accuracy`: the share of the unknown images it labels right.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 07`
profile = "default"
section = "labels"
screening_M_list = None
seed = None
n_train = None
n_test = None
methods = None
input_sizes = None
backbone = None

# %% tags=["hide-input"]
from semisup_utils.book import (notebook, original_report as report,
                                plots, tables)
from semisup_utils.study.label_runs import label_study
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
print(notebook.data_note(data, P))

# %% tags=["remove-cell", "nbval-ignore-output"]
said = tables.report_labels_phrase(report.label_accuracy(data))
prose.glue("report_labels",
           f"The report's labels were poor, {said}." if said
           else "The report measured its labels on CIFAR-10 only.")

# %% [markdown]
# The methods, each given the embeddings of all training images and the labels of the M known
# ones:
#
# - `kmeans`: the report's; 10 clusters fit on the known points, majority map;
# - `kmeans-all`: 100 clusters fit on every training image, each mapped by its known members;
# - `knn`: the 10 nearest known images by cosine distance vote, weighted by similarity;
# - `logreg`: multinomial logistic regression on standardised embeddings;
# - `spread`: label spreading (scikit-learn) over a 10-nearest-neighbour graph of all images.
#
# Each (input size, M, method) is fitted once and stored with the time it took; a
# re-execution reads it back. Label accuracy (%) on the unknown images:

# %% tags=["nbval-tolerance-2"]
views = [[(P["backbone"], size)] for size in P["label_sizes"]]
study = label_study(data, P["methods"], views, P["beyond_M_list"],
                    P["seed"], notebook.context(P))
tables.label_accuracy_table(study)

# %% tags=["hide-input"]
shown = study.assign(**{"label accuracy (%)": 100 * study["label_acc"],
                        "M ": study["M"].astype(str)})
for size in sorted({min(P["label_sizes"]), max(P["label_sizes"])}):
    fig = plots.bars(
        shown[shown["input_size"] == size], x="M ",
        y="label accuracy (%)", hue="method",
        title=f"Label accuracy on the unknown images, {P['backbone']} "
              f"at {size}x{size}",
        xlabel="M (known labels)", ylabel="label accuracy (%)",
        reference={"chance": data.chance})

# %% [markdown]
# Per M, the method and input size whose labels are most often right, against the report's
# way (K-means at the smallest input size compared):

# %% tags=["nbval-tolerance-2"]
best = tables.best_labels(study)
tables.best_labels_table(best)

# %% tags=["remove-cell", "nbval-ignore-output"]
prose.glue_all(tables.labels_story(study))
prose.glue("jpeg", notebook.jpeg_note(data))

# %% [markdown]
# ## What this chapter shows
#
# - **The best labels.** {glue:text}`best`, {glue:text}`over_base`.
# - **Learning from the known labels.** {glue:text}`method_effect`, from the same
#   embeddings: the difference is when the known labels enter, as the decision boundaries
#   are drawn rather than after clustering.
# - **Larger inputs.** {glue:text}`size_effect`. The backbone was trained on 224x224
#   images; fed small ones, it sees too little of each.
#
# The next chapter trains the report's CNN on such labels, each model with the same number
# of steps. How long each fit took is stored with it; the trained runs' devices, times and
# code revisions are listed in {ref}`provenance`. {glue:text}`jpeg`
