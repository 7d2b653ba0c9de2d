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
# (provenance)=
# # Methods and provenance
#
# What a reader needs to audit any number in the book: the network and the training budgets
# every chapter used, and every stored run behind the pages, with its seed, the device it ran
# on, how long it trained and the code revision that trained it. The chapters tell the story;
# this appendix keeps the record.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 12`
profile = "default"
section = "report"
n_train = None
n_test = None
distill_M_list = None

# %% tags=["hide-input"]
from semisup_utils.book import findings, ledger, notebook
from semisup_utils.study import analysis
from semisup_utils.training.cnn import build_cnn, summary

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(0)
data = notebook.load_data(P)
print(notebook.data_note(data, P))
ctx = notebook.context(P)

# %% [markdown]
# ## The network
#
# Every model in the book is the report's CNN, trained from scratch:

# %%
print(summary(build_cnn(P["arch"], data.n_classes)))

# %% [markdown]
# ## The budgets
#
# A budget is what a model gets to learn: optimizer steps (or epochs), batch, learning rate
# and its schedule ({term}`one-cycle` or constant), numeric precision ({term}`bf16`) and
# augmentation. The chapters use these, under this page's profile:

# %% tags=["hide-input"]
n = data.n_train
budgets = {
    "Models A, B and C (m-sweep)": notebook.report_budget(P),
    "screening (better-training)": notebook.screening_budget(P, n),
    "the sweep (beyond-sweep)": notebook.sweep_budget(P, n),
    **{f"teachers, augmentation {a}": b
       for a, b in notebook.distill_budgets(P, n).items()},
}
for study, budget in budgets.items():
    print(f"{study}: {budget.describe()}")

# %% [markdown]
# ## Every stored run
#
# The results store holds one row per trained model, keyed by everything that determines it
# (data, recipe, M, seed, budget). Grouped by budget, on this page's data:

# %% tags=["hide-input", "nbval-ignore-output"]
runs = ledger.runs_of(data, ctx.store)
ledger.summary(runs)

# %% [markdown]
# Each run, with its seed, test accuracy (%), device, training minutes (on that device,
# often beside other jobs: a cost, not a benchmark), the code revision that trained it and
# the day it finished; every accuracy was measured on the data named at the top of this
# page:

# %% tags=["hide-input", "hide-output", "nbval-ignore-output"]
analysis.undefined_as_dash(runs.set_index("budget"), "not recorded.")

# %% [markdown]
# (provenance-teachers)=
# ## Every teacher candidate
#
# The teachers chapter ({ref}`teachers-choice`) chooses a teacher per M on a held-out share
# of the known images. Every candidate it compared, fitted without that share: accuracy on
# the held-out images (what the choice reads), on the unknown training images and on the test
# images ({term}`ECE` its calibration error, all in %), embedding and fitting seconds, and
# the number of split seeds averaged:

# %% tags=["hide-input", "hide-output", "nbval-ignore-output"]
candidates, study, choice = findings.teacher_choice(data, P, ctx)
analysis.undefined_as_dash(findings.candidates_table(choice),
                           "not stored.")
