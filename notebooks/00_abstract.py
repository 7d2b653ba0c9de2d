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
# (abstract)=
# # Semi-supervised CIFAR-10: how far do inferred labels go?
#
# Only **M** of the 50,000 CIFAR-10 training images keep their labels. Can the other images
# still help a small CNN trained from scratch, if their labels are {term}`inferred <inferred
# labels>`? A student report asked this with a 32,122-parameter CNN and three models: **A**
# on the known labels alone, **B** adding labels from K-means clusters of pretrained
# {term}`embeddings <embedding>`, **C** adding Model A's own predictions. This book
# reproduces the report, checks its numbers over seeds, and then asks how far the same CNN,
# at the same compute, gets when a stronger {term}`teacher` infers the labels.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 00`
profile = "default"
section = "report"
n_train = None
n_test = None
M_list = None
seeds = None
distill_M_list = None
distill_seeds = None

# %% tags=["hide-input"]
from semisup_utils.book import findings, notebook, plots
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(0)
data = notebook.load_data(P)
print(notebook.data_note(data, P))

# %% tags=["remove-cell", "nbval-ignore-output"]
ctx = notebook.context(P)
results = findings.headline(data, P, ctx)
steps = next(iter(notebook.distill_budgets(P, data.n_train).values()))
prose.glue_all(findings.answer(results, steps.amount))
prose.glue_all({"n_train": f"{data.n_train:,}",
                "report_seeds": prose.number(len(P["seeds"]), 0),
                "jpeg": notebook.jpeg_note(data)})

# %% [markdown]
# ## The answer
#
# At {glue:text}`compute` ({glue:text}`steps` steps of batch 128 per model, mean of
# {glue:text}`seeds`), the report's CNN trained from scratch reaches
# **{glue:text}`students`** test accuracy at M = {glue:text}`ms` when it learns from the
# soft labels of a teacher (a logistic regression on ImageNet-pretrained embeddings)
# chosen on held-out known images. The same CNN on the known labels alone reaches
# {glue:text}`model_a`; on all {glue:text}`n_train` true labels, the {term}`ceiling`,
# {glue:text}`ceiling`. The report's best at those M was {glue:text}`report_best`.
# {glue:text}`verdict`
#
# The figure sets this beside the report's own protocol (every model the same number of
# epochs, constant learning rate), reproduced here over {glue:text}`report_seeds` seeds.
# {glue:text}`jpeg`

# %% tags=["figure-headline"]
fig = plots.headline(
    results,
    title=f"The report's CNN over M ({P['profile']} profile)")

# %% [markdown]
# What the figure shows, chapter by chapter:
#
# - **The report, reproduced** ({ref}`m-sweep`): Models A, B and C at the report's protocol,
#   seed by seed, and where its findings hold.
# - **Better labels, used better** ({ref}`label-inference`, {ref}`better-training`,
#   {ref}`beyond-sweep`): classifiers on embeddings of upscaled images, used as soft
#   targets, at {term}`equal compute`.
# - **A stronger teacher** ({ref}`teachers`): how the teacher is chosen without the test
#   set, and what a better teacher buys the student; {ref}`conclusions` sums up.
#
# ## How to read this book
#
# The chapters follow the data: {doc}`01_data` loads CIFAR-10 and draws the known/unknown
# split, {doc}`02_pca` and {doc}`03_clustering` infer labels from pixels,
# {doc}`04_embeddings` from pretrained networks, {doc}`05_models_abc` trains Models A, B
# and C at one M, and {doc}`06_m_sweep` sweeps M over three seeds. Beyond the report,
# {doc}`07_label_inference` infers better labels, {doc}`08_better_training` compares ways
# to use them at equal compute, {doc}`09_beyond_sweep` sets the best of them beside A, B
# and C over M, and {doc}`10_teachers` gives the same CNN stronger teachers. Every number in
# the prose is computed from the runs when a chapter executes. Terms are explained in the
# {ref}`glossary`; every run's seed, device, cost and code revision are in
# {ref}`provenance`.
#
# Every page names the {term}`profile` that produced it (the line under its first
# paragraph):
#
# - `published`: what this book shows, read from the results store that comes with it
#   (`results/runs.jsonl`, `results/labels.jsonl`), so rebuilding trains nothing: the
#   report's protocol and the studies beyond it at the report's compute, on all 60,000
#   images; the screening chapters at smaller budgets, as their first paragraphs say.
# - `laptop`, the default for reruns: the report's protocol on a class-stratified subset of
#   5,000 training images, so that a chapter reruns in minutes on a laptop's CPU.
# - `reduced`: all images at a fraction of the report's compute; `paper`: the full
#   compute, computed rather than read (meant for a GPU); `smoke`: tiny, for the tests.
#
# **Data.** Built offline, this book uses a {term}`JPEG copy` of CIFAR-10; with internet
# access and no `SEMISUP_DATA`, the original dataset is downloaded instead.
#
# ## Rerun it
#
# ```bash
# make book                          # every page, published profile
# .venv/bin/semisup run 05 -p M 1000  # one chapter, laptop profile
# ```
#
# `semisup run` converts a chapter's source (`notebooks/NN_*.py`) to a notebook and executes
# it with papermill; finished training runs are kept in the results store, so a chapter
# whose runs are stored re-executes in seconds.
