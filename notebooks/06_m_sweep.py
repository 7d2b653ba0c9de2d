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
# (m-sweep)=
# # How many labels? The sweep over M
#
# Models A, B and C for several values of M and several seeds. Each (M, seed, model) is one run
# of the results store: the sweep trains only the runs that are missing, so it resumes after an
# interruption and re-executes in seconds once complete.

# %% tags=["parameters"]
profile = "default"
M_list = None      # values of M
seeds = None       # seeds (each: another known set and initialisation)
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
# local (one run after another), processes (a pool of worker processes)
# or ray (a Ray cluster: $RAY_ADDRESS)
executor = None

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display

from semisup_utils import analysis, notebook, plots
from semisup_utils.executors import run_grid, stored_rows
from semisup_utils.report import report_frame

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seeds"][0])
data = notebook.load_data(P)
print(notebook.data_note(data, P["profile"]))
print(f"M in {P['M_list']}, seeds {P['seeds']}, {P['epochs']} epochs, "
      f"batch {P['batch_size']}, Model B labels: {P['method']} on "
      f"{P['backbone']}@{P['input_size']}")

# %%
grid = notebook.report_runs(P, models=["A", "B", "C"])
runs = run_grid(data, grid, notebook.context(P), executor=P["executor"])
runs["model"] = runs["recipe"]
runs["test accuracy (%)"] = 100 * runs["test_acc"]
runs["label accuracy (%)"] = 100 * runs["label_acc"].astype(float)

# %%
summary = (runs.groupby(["m", "model"])["test accuracy (%)"]
           .agg(mean="mean", std="std", n="count").reset_index())
report = report_frame(data)
report = report[report["m"].isin(P["M_list"])]
fig = plots.accuracy_vs_m(
    summary, report if len(report) else None,
    title=f"Test accuracy vs M ({P['epochs']} epochs, "
          f"profile {P['profile']!r})")

# %% [markdown]
# Error bars are one standard deviation across seeds; crosses are the report's single runs
# (50 epochs, original CIFAR-10), shown where the sweep has the same M.

# %% tags=["nbval-tolerance-8"]
table = analysis.mean_sd(summary, index="m", columns="model")
table.columns = [f"Model {c} test acc. (%)" for c in table.columns]
labels = (runs[runs["model"] != "A"].groupby(["m", "model"])
          ["label accuracy (%)"].mean().unstack())
for model in ["B", "C"]:
    table[f"{model} label acc. (%)"] = labels[model]
if len(report):
    reported = report.pivot(index="m", columns="model",
                            values="test_acc")
    for model in ["A", "B", "C"]:
        table[f"report {model} (%)"] = reported[model]
table.index.name = "M"
analysis.undefined_as_dash(table, "the report has no run at this M.")

# %% [markdown]
# ## bfloat16 against float32
#
# Where the profile trains these models under bfloat16 autocast (faster on CPUs that support it,
# and the usual precision on GPUs; the laptop profile's `fast` uses it only where the hardware
# computes it natively), Model A was also trained in float32 at some values of M with
# the same seeds. The table compares the two; a difference well inside the spread across seeds
# means the precision does not change the comparison. Only stored runs are shown (nothing is
# trained here for it: `semisup sweep --profile paper -p report_precision fp32 -p models '["A"]'`
# stores them).

# %% tags=["nbval-ignore-output"]
if P["report_precision"] in ("bf16", "fast"):
    fp32_grid = notebook.report_runs({**P, "report_precision": "fp32"},
                                     models=["A"])
    fp32 = stored_rows(data, fp32_grid, notebook.context(P).store)
    bf16 = runs[runs["model"] == "A"]
    both = pd.concat([bf16.assign(model="bf16"),
                      fp32.assign(model="fp32")])
    compared = analysis.paired_comparison(both, base="fp32",
                                          other="bf16")
    display(compared if len(compared) else Markdown(
        "No float32 runs of Model A are stored for this data and "
        "profile."))
else:
    print(f"Precision {P['report_precision']!r}: float32 on the CPU, "
          "nothing to compare.")

# %% [markdown]
# Per seed, every run of the sweep:

# %% tags=["nbval-tolerance-10"]
per_seed = runs.pivot_table(
    index=["m", "seed"], columns="model",
    values=["test accuracy (%)", "label accuracy (%)"]).round(1)
per_seed.columns = [f"{model}: {what}"
                    for what, model in per_seed.columns]
per_seed.index.names = ["M", "seed"]
per_seed[sorted(per_seed.columns, key=lambda c: (c[0], "label" in c))]

# %% [markdown]
# What the sweep cost: training seconds (measured when each run was trained), summed over seeds,
# by M, device and model. Stored runs cost nothing to re-execute. Seconds on different devices
# (and, on a GPU, with other runs sharing it) are not comparable with each other.

# %% tags=["nbval-ignore-output"]
cost = runs.pivot_table(index=["m", "device"], columns="model",
                        values="wall_s", aggfunc=["sum", "count"])
shown = pd.DataFrame(index=cost.index)
for model in ["A", "B", "C"]:
    if ("sum", model) in cost:
        totals, counts = cost[("sum", model)], cost[("count", model)]
        shown[f"Model {model}"] = [
            "" if pd.isna(n) else f"{total:,.0f} s ({n:.0f} run"
            + ("s)" if n != 1 else ")")
            for total, n in zip(totals, counts)]
shown.index.names = ["M", "device"]
shown

# %%
print(f"Profile {P['profile']!r}; seeds {P['seeds']}. "
      + notebook.JPEG_NOTE)
