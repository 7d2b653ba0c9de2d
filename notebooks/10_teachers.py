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
# (teachers)=
# # How far can 500 labels go? Stronger teachers, the same CNN
#
# **The question.** {ref}`beyond-sweep` taught the report's CNN with a logistic regression
# on EfficientNet-Lite0 embeddings of upscaled images. How much further does the same
# 32,122-parameter CNN, trained from scratch at the same compute, get when its
# {term}`teacher` is stronger: and is the teacher, or the student, what holds it back?
#
# The stronger teacher feeds the backbone upscaled images (the published profile: its native
# 224x224; the size is printed below), embeds each image as it is and mirrored (the two embeddings averaged: flip test-time augmentation), and calibrates
# the classifier's confidences by temperature scaling. Its probabilities are the student's
# {term}`soft targets`, at temperature 1 or 2 (softened). Every model gets the same
# {term}`budget <equal compute>` as {ref}`beyond-sweep`, and every model of a column the same
# augmentation: the report's (flip, small rotation, colour jitter) or random crop with
# 4-pixel padding and cutout (a 16x16 square erased), the usual choice for CIFAR-sized CNNs.
# Model A and the {term}`ceiling` are trained under both. The recipes, temperatures and
# augmentations were fixed before any of these runs; every run is shown, the ones that lost
# included. Then {ref}`teachers-choice` asks which teacher a practitioner would have picked
# from the known images alone. Where each run was computed, and at what cost:
# {ref}`provenance`.

# %% tags=["parameters"]
# None: the profile's value; what each means: `semisup params 10`
profile = "default"
section = "distill"
recipes = None
input_size = None
M_list = None
seeds = None
augments = None
screening_input_size = None
teacher_input_sizes = None
teacher_methods = None
teacher_concat_methods = None
teacher_backbones = None
teacher_seeds = None
teacher_validation = None
epochs = None
n_train = None
n_test = None
batch_size = None
arch = None
precision = None
schedule = None
device = None

# %% tags=["hide-input"]
import warnings

import pandas as pd

from semisup_utils.book import (findings, notebook,
                                original_report as report, plots)
from semisup_utils.study import analysis
from semisup_utils.study.executors import compare
from semisup_utils.text import prose

P = notebook.parameters(globals())  # the profile + the values above
notebook.setup(P["distill_seeds"][0])
data = notebook.load_data(P)
# this study's targets: empty unless the data is CIFAR-10
TARGETS = report.targets(data, study="teachers")
print(notebook.data_note(data, P))
ctx = notebook.context(P)

# %%
budgets = notebook.distill_budgets(P, data.n_train)
recipes = notebook.distill_recipes(P)
ms, seeds = P["distill_M_list"], P["distill_seeds"]
augments = list(budgets)
budget = budgets[augments[0]]
print(f"{budget.describe()}; augmentations {', '.join(augments)}; "
      f"M in {ms}; seeds {seeds}; teachers fed "
      f"{P['distill_size']}x{P['distill_size']} images")

# %% [markdown]
# ## The teachers
#
# Each teacher is fitted on the known images' embeddings and judged twice: on the unknown
# training images (what it teaches the student) and on the test images (what the student is
# compared with). {term}`ECE` measures its {term}`calibration`. Beside it, the teacher of
# {ref}`beyond-sweep`:

# %% tags=["nbval-tolerance-8"]
scores = findings.teacher_scores(data, P, ctx)
analysis.undefined_as_dash(
    findings.teacher_table(scores), "not measured: beyond-sweep's "
    "teacher is stored with its label accuracy only.")

# %% [markdown]
# ## The students
#
# Test accuracy (%) of every recipe under each augmentation, mean ± sd over the seeds, the
# {term}`targets <target>` of this study below (stored runs are read, missing ones trained):

# %% tags=["nbval-tolerance-12"]
frames = []
for augment, budget_of in budgets.items():
    with warnings.catch_warnings(record=True) as left_out:
        warnings.simplefilter("always")
        runs = compare(data, ms, seeds, recipes, budget_of, ctx)
    for warning in left_out:  # a profile that trains nothing
        print(f"{augment}: {warning.message}")
    frames.append(runs.assign(augment=augment))
runs = pd.concat(frames, ignore_index=True)
summary = analysis.summary(runs, by=("augment", "m", "recipe"))
analysis.undefined_as_dash(findings.students_table(summary, TARGETS),
                           "no run stored.")

# %% [markdown]
# Student, teacher and ceiling over M. The teacher's own test accuracy (dashed) is the
# reference a student is measured against: a student above it would have learned more than
# it was taught.

# %%
fixed = next(r for r in recipes if r.uses_embeddings)
teacher = (scores[scores["teacher"] == scores["teacher"].iloc[0]]
           .groupby("M")["test images"].agg(["mean", "std"])
           .reset_index().rename(columns={"M": "m"}))
ceilings = (summary[summary["recipe"] == "ceiling"]
            .groupby("augment")["mean"].first().to_dict())
students = summary[summary["recipe"] != "ceiling"]
fig = plots.students_and_teacher(
    students.rename(columns={"recipe": "model"}), teacher, ceilings,
    {m: TARGETS[m] for m in ms if m in TARGETS},
    title=f"The report's CNN taught by {scores['teacher'].iloc[0]} "
          f"({budget.amount:,} steps per model)")

# %% [markdown]
# (teachers-choice)=
# ## Choosing the teacher without the test set
#
# The teacher above was fixed before the runs. Could a better one have been chosen from the
# known images alone? Each candidate is fitted on the known images less a held-out share and
# scored on that share; the most accurate there is chosen per M (ties: the better
# calibrated), without looking at the unknown or test images: a {term}`held-out choice`.
# The candidates: EfficientNet-Lite0 at several input sizes, with and without flip
# averaging, the larger Lite1 and Lite2 and concatenations of their embeddings, each fitted
# by calibrated or self-trained logistic regression (refitted on its own confident labels of
# the unknown images), at scikit-learn's default regularisation (C=1) or at the C a
# five-fold cross-validation picks (`logreg-cv`). Is the held-out share a good judge? Each
# point is a candidate: where the points rise along the diagonal, choosing by the held-out
# accuracy picks well on the test images too.

# %% tags=["nbval-ignore-output"]
candidates, study, choice = findings.teacher_choice(data, P, ctx,
                                                   read_only=False)
fixed_name = next((name for name, method, views in candidates
                   if (views, method) == (fixed.views, fixed.teacher)),
                  None)
if len(choice):
    fig = plots.validation_vs_test(choice, headline=fixed_name)

# %% [markdown]
# A stronger teacher costs more before it labels anything: every image, known or not, is
# embedded by its backbone first. The same candidates against that cost, counted in
# multiply-adds per image, which is the same on any machine (a flip view embeds an image and
# its mirror; a concatenation pays for both backbones):

# %% tags=["nbval-ignore-output"]
costs = findings.teacher_costs(choice, candidates)
if len(costs):
    fig = plots.teacher_cost(costs, headline=fixed_name)

# %% tags=["remove-cell", "nbval-ignore-output"]
prose.glue("cost_story", findings.cost_story(costs))

# %% [markdown]
# {glue:text}`cost_story`.

# %% [markdown]
# The chosen teacher per M, fitted without the held-out share: its accuracy on the held-out
# known images (what it was chosen by), on the unknown images and on the test images, and its
# ECE, in %. Every candidate's scores are in {ref}`provenance-teachers`.

# %% tags=["nbval-ignore-output"]
missing = study.attrs["missing"]
if missing:
    print(f"{len(missing)} candidate fits are not stored; the choice "
          "reads the seeds stored "
          f"(`{notebook.teachers_command(P)}` computes the others).")
analysis.undefined_as_dash(
    findings.candidates_table(choice, chosen_only=True), "not stored.")

# %% [markdown]
# The chosen teacher put to work: per M, a student trained on its soft labels exactly as
# the fixed teacher's student (same steps, the first augmentation, the same seeds), beside
# that student and Model A. Where the choice is the fixed teacher, the two are the same
# runs. Test accuracy (%); the last column is the paired difference to the fixed teacher's
# student:

# %% tags=["nbval-ignore-output"]
chosen = findings.chosen_students(data, P, ctx, choice, candidates)
table = findings.chosen_table(chosen, runs, fixed.name, augments[0],
                              TARGETS)
analysis.undefined_as_dash(table, "no target at this M.")

# %% [markdown]
# Does a teacher's cross-validated C help its student as much as it helps the teacher? For
# every view fitted both ways whose students the store holds for both (nothing is trained
# here), the teachers' share of unknown images labelled right and the students' accuracy:

# %% tags=["nbval-ignore-output"]
twins = findings.c_twin_students(data, P, ctx, candidates, fixed,
                                 budget)
(analysis.undefined_as_dash(twins, "not stored.") if len(twins)
 else print("No teacher has students of both fits in the store."))

# %% tags=["remove-cell", "nbval-ignore-output"]
softer = next((r.name for r in recipes if r.uses_embeddings
               and r.temperature != fixed.temperature), None)
prose.glue_all(findings.teachers_story(
    runs, scores, chosen, fixed.name, augments, TARGETS, softer,
    choice=choice, fixed_name=fixed_name))
prose.glue("jpeg", notebook.jpeg_note(data))

# %% [markdown]
# ## What this chapter shows
#
# - **The student and its teacher.** {glue:text}`below_teacher` A student below its
#   teacher has learned the teacher's labels on the training images without reproducing on
#   new images what a network of millions of parameters pretrained on ImageNet sees in them.
# - **Softer targets.** {glue:text}`softer`
# - **Augmentation.** {glue:text}`augmentation`
# - **The teacher chosen on held-out known images**: {glue:text}`choice`
#   {glue:text}`choice_gain`
# - **Against the targets.** {glue:text}`targets` {glue:text}`ceiling`
#
# The study's rules hold throughout: the report's CNN, at the report's compute, every
# comparison at equal steps and augmentation. Where the students stop short of their
# teachers while the teachers keep improving, the student's capacity, not the teacher, is
# what limits them. {glue:text}`jpeg`
