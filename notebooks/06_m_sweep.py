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
from IPython.display import Markdown, display

from semisup_utils import notebook, plots
from semisup_utils.analysis import paired_gains
from semisup_utils.executors import run_grid, stored_rows
from semisup_utils.report import report_frame

P = notebook.parameters(globals())  # the profile's values, with the ones given above
notebook.setup(P["seeds"][0])
data = notebook.load_data(P)
print(notebook.data_note(data, P["profile"]))
print(f"M in {P['M_list']}, seeds {P['seeds']}, {P['epochs']} epochs, batch {P['batch_size']}, "
      f"Model B labels: {P['method']} on {P['backbone']}@{P['input_size']}")

# %%
runs = run_grid(data, notebook.report_runs(P, models=["A", "B", "C"]), notebook.context(P),
                executor=P["executor"])
runs["model"] = runs["recipe"]
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
                                    .get(m, "–") for m in table.index]
table.index.name = "M"
table

# %% [markdown]
# ## bfloat16 against float32
#
# Where the profile trains these models under bfloat16 autocast (faster on CPUs that support it,
# and the usual precision on GPUs), Model A was also trained in float32 at some values of M with
# the same seeds. The table compares the two; a difference well inside the spread across seeds
# means the precision does not change the comparison. Only stored runs are shown (nothing is
# trained here for it: `semisup sweep --profile paper -p report_precision fp32 -p models '["A"]'`
# stores them).

# %% tags=["nbval-ignore-output"]
if P["report_precision"] == "bf16":
    fp32 = stored_rows(data, notebook.report_runs({**P, "report_precision": "fp32"},
                                                  models=["A"]), notebook.context(P).store)
    lines = []
    if len(fp32):
        bf16 = runs[(runs["model"] == "A") & runs["m"].isin(fp32["m"])]
        both = pd.concat([bf16.assign(model="bf16"), fp32.assign(model="fp32")])
        for gain in paired_gains(both, base="fp32", models=["bf16"],
                                 column="model").itertuples():
            at_m = both[both["m"] == gain.m].groupby("model")
            acc = 100 * at_m["test_acc"].agg(["mean", "std"])
            lines.append({
                "M": gain.m, "seeds": gain.seeds,
                **{f"{p} (%)": f"{acc.loc[p, 'mean']:.1f} ± {acc.loc[p, 'std']:.1f}"
                   for p in ("bf16", "fp32")},
                "bf16 − fp32, paired (points)": f"{gain.gain:+.1f} ± {gain.sd:.1f}",
                "devices, bf16 / fp32": " / ".join(
                    ", ".join(sorted(set(at_m.get_group(p)["device"]))) for p in ("bf16", "fp32"))})
    display(pd.DataFrame(lines) if lines else
            Markdown("No float32 runs of Model A are stored for this data and profile."))
else:
    print(f"Precision {P['report_precision']!r}: no bfloat16 on the CPU, nothing to compare.")

# %% [markdown]
# Per seed, every run of the sweep:

# %% tags=["nbval-tolerance-10"]
per_seed = runs.pivot_table(index=["m", "seed"], columns="model",
                            values=["test accuracy (%)", "label accuracy (%)"]).round(1)
per_seed.columns = [f"{model}: {what}" for what, model in per_seed.columns]
per_seed.index.names = ["M", "seed"]
per_seed[sorted(per_seed.columns, key=lambda c: (c[0], "label" in c))]

# %% [markdown]
# What the sweep cost: training seconds (measured when each run was trained), summed over seeds,
# by M, device and model. Stored runs cost nothing to re-execute. Seconds on different devices
# (and, on a GPU, with other runs sharing it) are not comparable with each other.

# %% tags=["nbval-ignore-output"]
cost = runs.pivot_table(index=["m", "device"], columns="model", values="wall_s",
                       aggfunc=["sum", "count"])
cost = pd.DataFrame({f"Model {model}": [
    "" if pd.isna(n) else f"{total:,.0f} s ({n:.0f} run{'s' if n != 1 else ''})"
    for total, n in zip(cost[("sum", model)], cost[("count", model)])]
    for model in ["A", "B", "C"] if ("sum", model) in cost}, index=cost.index)
cost.index.names = ["M", "device"]
cost

# %%
print(f"Profile {P['profile']!r}; seeds {P['seeds']}. " + notebook.JPEG_NOTE)
