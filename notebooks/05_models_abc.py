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
# (models-abc)=
# # Models A, B and C
#
# At one value of M, does the report's small CNN learn more when the unknown images join its
# training set with inferred labels than from the M known labels alone? This chapter trains the
# report's three models once each, at M = {glue:text}`M`, and compares them with each other
# and with the report.
#
# {term}`Model A, B and C` are the same CNN, trained from scratch for the same number of
# epochs:
#
# - **Model A** learns from the M {term}`known images` only;
# - **Model B** adds every unknown image with an {term}`inferred label <inferred labels>`:
#   {glue:text}`b_labels` ({ref}`embeddings`);
# - **Model C** adds every unknown image with the label Model A predicts for it.
#
# Inferred labels are noisy, so their samples weigh {glue:text}`weight_intro` in the loss,
# against 1 for the known ones. Runs are read from the results store when they were computed
# before; otherwise they are trained here and stored.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 05`
profile = "default"
section = "report"
M = None
seed = None
n_train = None
n_test = None
epochs = None
batch_size = None
weight = None
method = None
backbone = None
input_size = None
arch = None
device = None

# %% tags=["hide-input"]
from semisup_utils.book import (notebook, original_report as report,
                                plots, tables)
from semisup_utils.study.executors import run_grid
from semisup_utils.text import prose
from semisup_utils.training.cnn import (build_cnn, count_parameters,
                                        summary)

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
# the report's numbers: empty unless the data is CIFAR-10
TEST_ACCURACY = report.test_accuracy(data)
print(notebook.data_note(data, P))

# %% [markdown]
# ## The network
#
# The report's CNN, layer for layer: two 3x3 convolutions (16 and 32 channels), max-pooling,
# two more (32 and 16), max-pooling, dropout 0.5 and two dense layers (400 → 32 → one output
# per class). With the data's {glue:text}`n_classes` classes it has {glue:text}`n_params`
# parameters, small enough to train on a CPU.

# %%
print(summary(build_cnn(P["arch"], data.n_classes)))

# %% [markdown]
# Training uses Adam (learning rate 10⁻³) and a cross-entropy weighted per sample, averaged
# over the batch as Keras does. Each batch is augmented on the device as a whole: random
# horizontal flips, rotations up to 2°, brightness and contrast jitter of ±0.1 (the report's
# translation of 1% is under half a pixel and is left out). The arithmetic is the profile's
# precision, here {glue:text}`precision` (see {term}`bf16` and {term}`precision fast`).
#
# ## Training (or reading the stored runs)
#
# One run per model, all three with the same seed: the same known images, the same first
# weights.

# %%
runs = notebook.report_runs(P, ms=[P["M"]], seeds=[P["seed"]],
                            models=["A", "B", "C"])
print(runs[0].budget.describe())
frame = run_grid(data, runs, notebook.context(P))

# %%
fig = plots.training_curves(
    dict(zip(frame["recipe"], frame["history"])),
    title=f"Test accuracy per epoch (M={P['M']}, seed {P['seed']}, "
          f"{P['epochs']} epochs)")

# %% [markdown]
# Model A sees only the M known images per epoch; B and C see all {glue:text}`n_train`
# training images of the data. "The same number of epochs" therefore gives B and C many more
# gradient steps than A: {glue:text}`steps_bc` each against A's {glue:text}`steps_a`. The
# report compared the models this way; from {ref}`better-training` on, the book compares them
# at {term}`equal compute` too.
#
# ## Results
#
# Each model's test accuracy, beside the report's where the report trained at this M, and, for
# B and C, the {term}`label accuracy`: the share of their inferred labels that is right.

# %% tags=["nbval-tolerance-8"]
tables.report_models_table(frame, TEST_ACCURACY.get(P["M"]),
                           weight=P["weight"])

# %% [markdown]
# The last column is the training loss of each model's last epoch (cross-entropy on the
# augmented batches, known labels weighing 1, inferred labels {glue:text}`weight`). It does not
# rank the models: B's and C's losses are mostly the down-weighted inferred samples, and here
# they {glue:text}`loss_relation` A's.
#
# When, on which device and at which code revision each run was trained is listed, with every
# stored run, in {ref}`provenance`.

# %% tags=["remove-cell", "nbval-ignore-output"]
# differences of the rounded values, as the table shows them
# (31.55 shows as 31.6, which reads 3.6 below 35.2, not 3.65)
acc = {m: round(a, 1)
       for m, a in zip(frame["recipe"], 100 * frame["test_acc"])}
budget = runs[0].budget
steps = {"A": budget.steps_for(P["M"]),
         "B": budget.steps_for(data.n_train)}
label_acc = dict(zip(frame["recipe"],
                     100 * frame["label_acc"].astype(float)))
pct = prose.percent
top = [m for m in acc if pct(acc[m]) == pct(max(acc.values()))]
than_a = {m: prose.direction(acc[m] - acc["A"]) + " it" for m in acc}
best_line = (f"Model {top[0]}" if len(top) == 1 else
             f"shared by Models {prose.listing(top)}") + \
    f", at {pct(max(acc.values()))} test accuracy. Against Model A's " \
    f"{pct(acc['A'])}, Model B is {than_a['B']} and Model C " \
    f"{than_a['C']}."
n_right = {m: round(n * a) for m, n, a in zip(
    frame["recipe"], frame["n_inferred"], frame["label_acc"]) if n}
known = TEST_ACCURACY.get(P["M"], {})
if known:
    report_line = "; ".join(
        f"Model {m} {pct(acc[m])} against the report's {pct(known[m])}"
        f" ({prose.direction(acc[m] - known[m])})"
        for m in acc if m in known) + "."
    if notebook.is_jpeg_copy(data):
        report_line += (" The report trained on the original images, "
                        "this page on the JPEG copy.")
elif TEST_ACCURACY:
    ms = prose.listing(prose.number(m, 0) for m in TEST_ACCURACY)
    report_line = (f"The report has no run at M = {P['M']:,} (it "
                   f"trained at M = {ms}), so there is no figure of "
                   "its to compare with.")
else:
    report_line = ("The data is not CIFAR-10, so the report's figures "
                   "do not apply.")
def times(x):
    return prose.number(x, 0 if float(x).is_integer() else 1)


losses = {m: h[-1]["loss"] for m, h in zip(frame["recipe"],
                                           frame["history"])}
method = {"kmeans": "K-means"}.get(P["method"], P["method"])
prose.glue_all({
    "M": prose.number(P["M"], 0),
    "n_train": prose.number(data.n_train, 0),
    "n_classes": str(data.n_classes),
    "n_params": prose.number(count_parameters(
        build_cnn(P["arch"], data.n_classes)), 0),
    "weight": f"{P['weight']:g}",
    "weight_intro": f"{P['weight']:g}" + prose.choose(
        P["weight"] == 0.1, ", as in the report",
        " (the report's weight is 0.1)"),
    "precision": {
        "bf16": "bf16 autocast",
        "fast": "bf16 autocast where the processor computes bf16 "
                "natively, float32 elsewhere",
        "fp32": "float32",
        "auto": "float32 on the CPU, bf16 autocast on a GPU",
    }[P["report_precision"]],
    "b_labels": f"the label {method} clusters give it on "
                f"{P['backbone']} embeddings of {P['input_size']}x"
                f"{P['input_size']} images",
    "steps_a": prose.number(steps["A"], 0),
    "steps_bc": prose.number(steps["B"], 0),
    "loss_relation": prose.choose(
        all(losses[m] < losses["A"] for m in ("B", "C")),
        "sit below", "do not all sit below"),
    "best_line": best_line,
    "report_line": report_line,
    "labels_line": (
        f"Of the {prose.number(frame['n_inferred'].max(), 0)} unknown "
        f"images, {method} labelled {prose.number(n_right['B'], 0)} "
        f"right for Model B "
        f"({prose.percent(label_acc['B'])}); "
        f"Model A's predictions labelled "
        f"{prose.number(n_right['C'], 0)} right for Model C "
        f"({prose.percent(label_acc['C'])})."),
    "caveat_line": (
        f"B and C took {prose.number(steps['B'], 0)} optimizer steps "
        f"each, A {prose.number(steps['A'], 0)}: "
        f"{times(steps['B'] / steps['A'])} times as many (n_train / M "
        f"= {data.n_train:,} / {P['M']:,} = "
        f"{times(data.n_train / P['M'])}, up to the rounding of each "
        "epoch to whole batches)."),
})

# %% [markdown]
# ## What this chapter shows
#
# - **The best model at M = {glue:text}`M`** is {glue:text}`best_line`
# - **Against the report:** {glue:text}`report_line`
# - **The inferred labels:** {glue:text}`labels_line`
# - **The caveat:** {glue:text}`caveat_line` Part of any gain of B or C over A may be this
#   extra training rather than the inferred labels. These are single runs of one seed;
#   {ref}`m-sweep` repeats them over seeds and values of M and says which differences exceed
#   the spread across seeds, and {ref}`better-training` gives every model the same steps
#   ({term}`equal compute`).
