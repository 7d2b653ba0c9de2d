# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. How many labels? The sweep over M
#
# Models A, B and C for several values of M and several seeds. Each (M, seed, model) is one run
# of the results store: the sweep trains only the runs that are missing, so it resumes after an
# interruption and re-executes in seconds once complete.

# %% tags=["parameters"]
profile = "default"
M_list = None      # values of M
seeds = None       # seeds (each a different known set and initialisation)
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
executor = None    # local (one run after another) or ray (a Ray cluster: $RAY_ADDRESS)

# %%
import pandas as pd

from semisup_utils import notebook, plots
from semisup_utils.experiments import sweep
from semisup_utils.profiles import resolve
from semisup_utils.report import report_frame

P = resolve(profile, M_list=M_list, seeds=seeds, n_train=n_train, n_test=n_test, epochs=epochs,
            batch_size=batch_size, weight=weight, method=method, backbone=backbone,
            input_size=input_size, arch=arch, device=device, executor=executor)
notebook.setup(P["seeds"][0])
data = notebook.load_data(P)
print(notebook.data_note(data))
print(f"M in {P['M_list']}, seeds {P['seeds']}, {P['epochs']} epochs, batch {P['batch_size']}, "
      f"Model B labels: {P['method']} on {P['backbone']}@{P['input_size']}")

# %%
runs = sweep(data, P["M_list"], P["seeds"], ["A", "B", "C"], notebook.protocol(P),
             notebook.context(P), executor=P["executor"])
runs["test accuracy (%)"] = 100 * runs["test_acc"]
runs["label accuracy (%)"] = 100 * runs["label_acc"].astype(float)

# %%
summary = (runs.groupby(["m", "model"])["test accuracy (%)"]
           .agg(mean="mean", std="std", n="count").reset_index())
report = report_frame(data)
report = report[report["m"].isin(P["M_list"])]
fig = plots.accuracy_vs_m(summary, report if len(report) else None,
                          title=f"Test accuracy vs M ({P['epochs']} epochs, profile "
                                f"{P['profile']!r})")

# %% [markdown]
# Error bars are one standard deviation across seeds; crosses are the report's single runs
# (50 epochs, original CIFAR-10), shown where the sweep has the same M.

# %% tags=["nbval-tolerance-8"]
wide = summary.pivot(index="m", columns="model", values="mean").round(1)
spread = summary.pivot(index="m", columns="model", values="std").round(1)
table = wide.astype(str) + " ± " + spread.astype(str)
table.columns = [f"Model {c} test acc. (%)" for c in table.columns]
labels = (runs[runs["model"] != "A"].groupby(["m", "model"])["label accuracy (%)"].mean()
          .unstack().round(1))
table["B label acc. (%)"] = labels.get("B")
table["C label acc. (%)"] = labels.get("C")
for model in ["A", "B", "C"]:
    table[f"report {model} (%)"] = [dict(zip(report[report["model"] == model]["m"],
                                             report[report["model"] == model]["test_acc"]))
                                    .get(m, float("nan")) for m in table.index]
table.index.name = "M"
table

# %% [markdown]
# Per seed, every run of the sweep:

# %% tags=["nbval-tolerance-10"]
runs[["m", "model", "seed", "epochs", "label accuracy (%)", "test accuracy (%)"]].sort_values(
    ["m", "model", "seed"]).round(1).reset_index(drop=True)

# %% [markdown]
# What the sweep cost: training seconds per run (measured when the run was trained), summed
# over seeds, by M and model. Stored runs cost nothing to re-execute.

# %% tags=["nbval-ignore-output"]
cost = runs.pivot_table(index="m", columns="model", values="wall_s", aggfunc="sum").round(0)
cost.columns = [f"Model {c} (s)" for c in cost.columns]
print("devices:", ", ".join(sorted(runs["device"].unique())))
cost

# %%
print(f"Profile {P['profile']!r}; seeds {P['seeds']}. " + notebook.JPEG_NOTE)
