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
# Do the report's findings, whether B and C beat A and by how much, hold as the number of known
# labels changes, once every comparison is repeated over several seeds? This chapter trains
# Models A, B and C at M = {glue:text}`m_list`, {glue:text}`n_seeds` seeds each (or reads the
# runs from the results store), and compares B and C with A seed by seed.
#
# The report trained each of {term}`Model A, B and C` once per value of M. One run cannot tell
# a difference between two models from the spread that another draw of the
# {term}`known images` and another initialisation would give. Here every (M, seed, model) is one
# run of the results store; runs with the same seed share the known images and the first
# weights, so B and C are compared with A by their {term}`paired difference`. The sweep trains
# only the runs that are missing, so it resumes after an interruption and re-executes in
# seconds once complete.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 06`
profile = "default"
section = "report"
M_list = None
seeds = None
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
executor = None

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import display

from semisup_utils.book import (notebook, original_report as report,
                                plots, tables)
from semisup_utils.study import analysis
from semisup_utils.study.executors import run_grid, stored_rows
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["seeds"][0])
data = notebook.load_data(P)
# the report's numbers: empty unless the data is CIFAR-10
TEST_ACCURACY = report.test_accuracy(data)
print(notebook.data_note(data, P))

# %%
grid = notebook.report_runs(P, models=["A", "B", "C"])
runs = run_grid(data, grid, notebook.context(P), executor=P["executor"])
runs["model"] = runs["recipe"]

# %% [markdown]
# ## Test accuracy over M

# %%
summary = analysis.summary(runs, by=("m", "model"))
reported = report.report_frame(data)
reported = reported[reported["m"].isin(P["M_list"])]
fig = plots.accuracy_vs_m(
    summary, reported if len(reported) else None,
    title=f"Test accuracy vs M ({P['epochs']} epochs, "
          f"profile {P['profile']!r})")

# %% [markdown]
# Error bars are one standard deviation across seeds; crosses are the report's single runs
# (50 epochs, original CIFAR-10), shown where the sweep has the same M.
#
# In the table, each model's *test acc.* is the mean over the seeds ± their standard deviation
# (a single run shows its value alone); *label acc.* is the {term}`label accuracy` of the
# model's inferred labels, averaged over the seeds; *report* is the report's single run at that
# M.

# %% tags=["nbval-tolerance-8"]
tables.report_sweep_table(runs, TEST_ACCURACY, column="model")

# %% [markdown]
# ## B and C against A, seed by seed
#
# For each M and seed, the difference of test accuracy between B (or C) and A with the same
# known images and first weights; the table summarises it over the seeds:
#
# - *gain*: the mean of the {term}`paired difference` in points of accuracy, ± its standard
#   deviation over the seeds;
# - *seeds ahead*: on how many seeds the model beats A;
# - *report's gain*: the same difference between the report's single runs;
# - *verdict*: **holds** when the gain is clear (a paired t-test over the seeds rejects zero at
#   the 5% level) and has the report's sign, **reversed** when it is clear with the opposite
#   sign, **gain** or **loss** when it is clear where the report has no run, and **within seed
#   noise** when it is not clear.

# %% tags=["nbval-ignore-output"]
gains = analysis.paired_gains(runs, reference=TEST_ACCURACY,
                              column="model")
tables.paired_gains_table(gains)

# %% [markdown]
# ## bf16 against float32
#
# The profile trains these models in {glue:text}`precision_name` (see {term}`bf16` and
# {term}`precision fast`). Does that change the results? Model A trained in float32 with the
# same seeds answers it where such runs are stored (`semisup sweep --profile paper -p
# precision fp32 -p models '["A"]'` stores them); nothing is trained here for it.
# {glue:text}`precision_line`

# %% tags=["nbval-ignore-output"]
precision = P["report_precision"]
fp32 = stored_rows(data, notebook.report_runs(
    {**P, "report_precision": "fp32"}, models=["A"]),
    notebook.context(P).store)
both = pd.concat([runs[runs["model"] == "A"].assign(model=precision),
                  fp32.assign(model="fp32")])
compared = tables.precision_table(both, base="fp32", other=precision)
if precision in ("bf16", "fast") and compared is not None:
    display(compared)

# %% [markdown]
# Every run's seed, device, training time and code revision is listed, with every stored run,
# in {ref}`provenance`.

# %% tags=["remove-cell", "nbval-ignore-output"]
num, pct = prose.number, prose.percent
means = summary.pivot(index="m", columns="model", values="mean")
sds = summary.pivot(index="m", columns="model", values="std")
best = {m: tuple(c for c in row.index if pct(row[c]) == pct(row.max()))
        for m, row in means.iterrows()}  # ties: equal once rounded
best_line = "; ".join(
    (f"Model {top[0]}" if len(top) == 1 else
     f"Models {prose.listing(top)}, tied,") + " at M = "
    + prose.listing(num(m, 0) for m in best if best[m] == top)
    for top in dict.fromkeys(best.values())) + "."
a_parts = []
for m in [m for m in means.index if m in TEST_ACCURACY]:
    # the difference of the rounded values, as the table shows them
    ours, theirs = round(means.loc[m, "A"], 1), TEST_ACCURACY[m]["A"]
    sd = sds.loc[m, "A"]
    a_parts.append(
        f"at M = {m:,}, {pct(ours)} against the report's {pct(theirs)} "
        f"({prose.direction(ours - theirs)}" + prose.choose(
            pd.isna(sd), ")", f"; sd over the seeds {num(sd)})"))
if a_parts:
    a_line = "A" + "; ".join(a_parts)[1:] + "."
    if notebook.is_jpeg_copy(data):
        a_line += (" The report trained on the original images, "
                   "this page on the JPEG copy.")
elif TEST_ACCURACY:
    a_line = "The report has no run at these values of M."
else:
    a_line = ("The data is not CIFAR-10: the report's figures do not "
              "apply.")
pgains = analysis.paired_gains(both, base="fp32", models=[precision],
                               column="model")
if precision not in ("bf16", "fast"):
    precision_line = ("This profile does not train in bf16: there is "
                      "nothing to compare.")
elif pgains.empty:
    precision_line = ("No float32 runs of Model A are stored for this "
                      "data and profile: there is nothing to compare.")
else:
    name = {"fast": "precision fast"}.get(precision, precision)
    precision_line = f"Model A in {name} minus float32, paired by " \
        "seed: " + "; ".join(
            f"{prose.points(g.gain)} at M = {g.m:,} ({g.verdict})"
            for g in pgains.itertuples()) + "."
budget = grid[0].budget
ratio = {m: budget.steps_for(data.n_train) / budget.steps_for(m)
         for m in P["M_list"]}
ratio = {m: num(r, 0 if r.is_integer() else 1)
         for m, r in ratio.items()}
steps = prose.listing([f"{r} times A's optimizer steps at M = {m:,}"
                       if i == 0 else f"{r} times at {m:,}"
                       for i, (m, r) in enumerate(ratio.items())])
verdicts = tables.verdict_sentences(gains)
prose.glue_all({
    "m_list": prose.listing(num(m, 0) for m in P["M_list"]),
    "n_seeds": str(len(P["seeds"])),
    "precision_name": {
        "bf16": "bf16 autocast",
        "fast": "bf16 autocast where the processor computes bf16 "
                "natively, float32 elsewhere",
        "fp32": "float32",
        "auto": "float32 on the CPU, bf16 autocast on a GPU",
    }[precision],
    "precision_line": precision_line,
    "verdict_B": verdicts.get("B", "No paired runs."),
    "verdict_C": verdicts.get("C", "No paired runs."),
    "best_line": best_line,
    "a_line": a_line,
    "caveat_line": (
        f"B and C train on all {data.n_train:,} training images, A on "
        f"the M known ones, each for {P['epochs']} epochs: B and C "
        f"took {steps}."),
})

# %% [markdown]
# ## What this chapter shows
#
# - **Model B against A** (paired by seed): {glue:text}`verdict_B`
# - **Model C against A** (paired by seed): {glue:text}`verdict_C`
# - **The highest mean accuracy** is reached by {glue:text}`best_line`
# - **Model A against the report:** {glue:text}`a_line`
# - **bf16 against float32:** {glue:text}`precision_line`
# - **The caveat:** {glue:text}`caveat_line` A gain of B or C over A may partly be this extra
#   training rather than the inferred labels; from {ref}`better-training` on, the book compares
#   models at {term}`equal compute`.
