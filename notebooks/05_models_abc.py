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
# Three CNNs, trained from scratch with the same network and the same number of epochs:
#
# - **Model A** learns from the M known labels only;
# - **Model B** adds every unknown image with the label K-means gave it on pretrained
#   embeddings ({ref}`embeddings`);
# - **Model C** adds every unknown image with the label Model A predicts for it.
#
# Inferred labels are noisy, so their samples weigh 0.1 in the loss against 1.0 for the known
# ones. Runs are read from the results store when they were computed before; otherwise they are
# trained here and stored.

# %% tags=["parameters"]
profile = "default"
M = None
seed = None
n_train = None
n_test = None
epochs = None      # passes over each model's training set (report: 50)
batch_size = None
weight = None      # loss weight of samples with inferred labels
method = None      # how Model B's labels are inferred (report: kmeans)
backbone = None    # whose embeddings Model B's labels come from
input_size = None  # backbone input size
arch = None        # the CNN (report: the report's 32k-parameter one)
device = None      # None: CUDA when present, else the CPU

# %% tags=["hide-input"]
import pandas as pd

from semisup_utils import analysis, notebook, plots, report
from semisup_utils.cnn import build_cnn, summary
from semisup_utils.executors import run_grid

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seed"])
data = notebook.load_data(P)
# the report's numbers: empty unless the data is CIFAR-10
TEST_ACCURACY = report.test_accuracy(data)
print(notebook.data_note(data, P["profile"]))

# %% [markdown]
# ## The network
#
# The report's CNN, layer for layer: two 3x3 convolutions (16 and 32 channels), max-pooling,
# two more (32 and 16), max-pooling, dropout 0.5 and two dense layers (400 → 32 → 10). It has
# 32,122 parameters, small enough to train on a CPU.

# %%
print(summary(build_cnn(P["arch"], data.n_classes)))

# %% [markdown]
# Training uses Adam (learning rate 10⁻³) and a cross-entropy weighted per sample, averaged
# over the batch as Keras does. Each batch is augmented on the device as a whole: random
# horizontal flips, rotations up to 2°, brightness and contrast jitter of ±0.1 (the report's
# translation of 1% is under half a pixel and is left out).
#
# ## Training (or reading the stored runs)

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
# Model A sees only M images per epoch, B and C see all 50,000; "the same number of epochs"
# therefore gives B and C many more gradient steps than A. The report compared the models this
# way; the chapters after the report's six compare them at equal compute too.
#
# ## Results

# %% tags=["nbval-tolerance-8"]
models = frame["recipe"]
table = pd.DataFrame({
    "model": models,
    "trained on": [report.MODELS[m] for m in models],
    "inferred labels": frame["n_inferred"],
    "label accuracy (%)": 100 * frame["label_acc"].astype(float),
    "test accuracy (%)": 100 * frame["test_acc"],
}).set_index("model")
if P["M"] in TEST_ACCURACY:
    table["report test accuracy (%)"] = [TEST_ACCURACY[P["M"]][m]
                                         for m in models]
note = "no inferred labels: Model A learns from the known labels only."
analysis.undefined_as_dash(table, note)

# %% [markdown]
# The training loss of each model's last epoch (cross-entropy on the augmented batches, each
# sample weighted: known labels 1, inferred labels the weight above). B's and C's losses are
# mostly the down-weighted inferred samples, so they sit below A's:

# %% tags=["nbval-tolerance-0.1"]
losses = [h[-1]["loss"] for h in frame["history"]]
pd.DataFrame({"model": frame["recipe"],
              "last epoch's training loss": losses}).round(3)

# %% [markdown]
# What the training cost (wall seconds, measured when each run was trained, on the device named):

# %% tags=["nbval-ignore-output"]
frame[["recipe", "wall_s", "device", "git_rev", "finished"]].rename(
    columns={"recipe": "model", "wall_s": "seconds",
             "git_rev": "code revision"}).round(1)

# %%
print(f"Profile {P['profile']!r}, M={P['M']}, seed {P['seed']}, "
      f"{P['epochs']} epochs, batch {P['batch_size']}, weight "
      f"{P['weight']}, Model B labels: {P['method']} on "
      f"{P['backbone']}@{P['input_size']}. " + notebook.JPEG_NOTE)
