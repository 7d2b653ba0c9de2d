"""Recipes and teachers: label selection, soft targets, views, self-training, FixMatch, the
ceiling, at an equal budget of steps."""
from __future__ import annotations

import numpy as np
import pytest

from semisup_utils.study import runs as runs_module
from semisup_utils.study.recipes import RECIPES, Recipe, get_recipe
from semisup_utils.study.runs import Run, execute, plan
from semisup_utils.teachers import teachers
from semisup_utils.teachers.label_inference import fit_method, label_quality
from semisup_utils.teachers.targets import select, training_set
from semisup_utils.teachers.teachers import TEACHERS, probabilities_of
from semisup_utils.training.budget import Budget

BUDGET = Budget.steps(4, batch_size=64)


def run(data, m, seed, recipe, ctx, budget=BUDGET):
    return execute(data, Run(m, seed, get_recipe(recipe), budget), ctx)


def test_threshold_and_class_balanced_topk():
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55], [0.7, 0.3], [0.1, 0.9]])
    assert select(proba, "all", 0).all()
    assert select(proba, "threshold", 0.65).tolist() == [True, False, True, False, True, True]
    # class 0 has 3 members (0.9, 0.6, 0.7): top half keeps 2; class 1 has 3 (0.8, 0.55, 0.9)
    assert select(proba, "topk", 0.5).tolist() == [True, False, True, False, True, True]
    assert select(proba, "topk", 0.3).tolist() == [True, False, False, False, False, True]


def test_training_set_soft_weights_known_labels_and_dataset_order(synthetic):
    known = np.arange(0, 300, 3)
    unknown = np.setdiff1d(np.arange(300), known)
    proba = np.full((len(unknown), 10), 0.05, np.float32)
    proba[:, 3] = 0.55
    recipe = Recipe("t", teacher="logreg", soft=True, weight=0.5, confidence_weight=True)
    index, targets, weights, keep = training_set(synthetic.y_train, known, unknown, proba, recipe)
    assert keep.all() and (index == np.arange(300)).all()  # the images in dataset order
    assert targets.shape == (300, 10) and np.allclose(targets.sum(1), 1)
    assert (targets[known, synthetic.y_train[known]] == 1).all()
    assert np.allclose(weights[known], 1) and np.allclose(weights[unknown], 0.5 * 0.55)
    hard = training_set(synthetic.y_train, known, unknown, proba, Recipe("h", teacher="logreg"))
    assert hard[1].ndim == 1 and (hard[1][unknown] == 3).all()
    assert (hard[1][known] == synthetic.y_train[known]).all()
    top = Recipe("k", teacher="logreg", selection="threshold", threshold=0.9)
    index, *_ = training_set(synthetic.y_train, known, unknown, proba, top)
    assert (index == known).all()  # no inferred label is confident enough


def test_label_spreading_beats_chance_on_separable_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 32)) * 3
    y = rng.integers(0, 10, 1500)
    x = centres[y] + rng.normal(size=(1500, 32))
    guess = fit_method("spread", x, np.arange(40), y[:40], seed=0)
    assert label_quality(guess, y)["accuracy"] > 0.8
    assert np.allclose(guess.probabilities.sum(1), 1, atol=1e-5)


def test_recipe_validation():
    with pytest.raises(KeyError, match="teacher='magic'"):
        Recipe("x", teacher="magic")
    with pytest.raises(ValueError, match="selection"):
        Recipe("x", selection="best")
    with pytest.raises(ValueError, match="rounds=0"):
        Recipe("x", rounds=0)
    with pytest.raises(KeyError, match="known recipes"):
        get_recipe("nope")
    with pytest.raises(KeyError, match="unknown backbone|known"):
        Recipe("x", teacher="logreg", views=(("resnet-9000", 64),))
    with pytest.raises(ValueError, match="fixmatch"):
        Recipe("x", teacher="fixmatch", selection="all")
    assert Budget.epochs_of(2, 1000, batch_size=100).amount == 20
    assert Recipe("x", teacher="cnn", views=(("effnet-lite0", 64),)).views == ()  # no features


def test_teachers_registry_covers_every_label_method():
    from semisup_utils.teachers.label_inference import METHODS

    assert {"none", "truth", "fixmatch", "cnn"} <= set(TEACHERS)
    assert all(TEACHERS[m].uses_embeddings for m in METHODS if m != "cnn")
    assert not TEACHERS["cnn"].uses_embeddings and TEACHERS["cnn"].infers_labels
    for recipe in RECIPES.values():
        assert recipe.key()["teacher"] == recipe.teacher


def test_no_module_switches_on_a_teacher_outside_the_registry():
    """What a teacher does is its object's (teachers.TEACHERS): no module of the package
    compares a teacher's kind or name (the registry itself, the label methods and the frozen
    schema 1 migration aside)."""
    import re
    from pathlib import Path

    import semisup_utils

    switch = re.compile(r"""\.kind\s*[!=]=|teacher\s*(==|!=|in|not in)\s*[("']""")
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in Path(semisup_utils.__file__).parent.glob("*.py")
             if path.name not in ("teachers.py", "labels.py", "schema.py")
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if switch.search(line)]
    assert found == []


def test_each_teacher_gives_its_own_lesson(synthetic, ctx):
    """Before training: probabilities only from a labelling teacher; each round's training
    set from the teacher itself (the known images, every image, the known images with
    FixMatch's objective on the unknown ones, or the kept inferred labels)."""
    from semisup_utils.training.objectives import FixMatch

    known, unknown = np.arange(0, 300, 3), np.setdiff1d(np.arange(300), np.arange(0, 300, 3))
    for name in ("none", "truth", "fixmatch"):
        recipe = get_recipe({"none": "A", "truth": "ceiling", "fixmatch": "fixmatch"}[name])
        assert TEACHERS[name].probabilities(recipe, synthetic, known, unknown, 0, ctx) is None
    lesson = TEACHERS["none"].lesson(synthetic, known, unknown, get_recipe("A"))
    assert list(lesson.index) == list(known) and lesson.n_used == 0 and lesson.keep is None
    lesson = TEACHERS["truth"].lesson(synthetic, known, unknown, get_recipe("ceiling"))
    assert len(lesson.index) == 300 and list(lesson.targets) == list(synthetic.y_train)
    lesson = TEACHERS["fixmatch"].lesson(synthetic, known, unknown, get_recipe("fixmatch"))
    assert isinstance(lesson.extra["objective"], FixMatch) and lesson.n_used == len(unknown)
    proba = np.full((len(unknown), 10), 0.05, np.float32)
    proba[np.arange(len(unknown)), synthetic.y_train[unknown]] = 0.55
    recipe = Recipe("top", teacher="logreg", views=(("pca", 32),), selection="topk",
                    threshold=0.5)
    lesson = TEACHERS["logreg"].lesson(synthetic, known, unknown, recipe, proba)
    assert lesson.n_used == lesson.keep.sum() and 0 < lesson.n_used < len(unknown)
    assert TEACHERS["cnn"].needs_model_a and not TEACHERS["truth"].reads_m


@pytest.mark.slow
def test_recipes_run_store_and_resume(synthetic, ctx, monkeypatch):
    rows = {name: run(synthetic, 100, 0, name, ctx)
            for name in ["A", "ceiling", "C", "logreg-top50"]}
    assert rows["A"]["n_inferred"] == 0 and rows["A"]["label_acc"] is None
    assert rows["C"]["n_inferred"] == 200
    assert rows["logreg-top50"]["n_inferred"] < 200
    assert all(0 <= r["test_acc"] <= 1 for r in rows.values())
    assert all(r["total_steps"] == 4 for r in rows.values())
    # the ceiling is one run whatever M is, and nothing stored is trained again
    monkeypatch.setattr(runs_module, "train",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert run(synthetic, 150, 0, "ceiling", ctx)["test_acc"] == rows["ceiling"]["test_acc"]
    assert run(synthetic, 100, 0, "logreg-top50", ctx) == rows["logreg-top50"]


def test_plan_is_seed_major_with_one_ceiling_per_seed():
    runs = plan([50, 100], [0, 1], ["A", "ceiling"], BUDGET)
    assert [(r.seed, r.m, r.recipe.name) for r in runs] == [
        (0, 50, "A"), (0, 50, "ceiling"), (0, 100, "A"), (1, 50, "A"), (1, 50, "ceiling"),
        (1, 100, "A")]


@pytest.mark.slow
def test_self_training_spends_the_budget_per_round(synthetic, ctx):
    recipe = Recipe("st", teacher="cnn", soft=True, rounds=2)
    row = execute(synthetic, Run(100, 0, recipe, BUDGET), ctx)
    assert row["total_steps"] == 2 * BUDGET.amount


def test_views_concatenate_embeddings(synthetic, ctx, monkeypatch):
    sizes = {}

    def fake_embed(images, backbone, size, **kwargs):
        sizes[size] = True
        rng = np.random.default_rng(size)
        return rng.normal(size=(len(images), 8 if size == 96 else 5)).astype(np.float32)

    seen = {}

    def fake_infer(method, features, known, labels, **kwargs):
        features = features() if callable(features) else features  # loaded lazily on a miss
        seen["shape"], seen["key"] = features.shape, kwargs["key"]
        return fit_method(method, features, known, labels), 0.0

    monkeypatch.setattr(teachers, "embed", fake_embed)
    monkeypatch.setattr(teachers, "fit_method_cached", fake_infer)
    recipe = Recipe("two", teacher="logreg", views=(("effnet-lite0", 96), ("effnet-lite0", 64)))
    known = np.arange(0, 300, 3)
    unknown = np.setdiff1d(np.arange(300), known)
    proba = probabilities_of(recipe, synthetic, known, unknown, 0, ctx)
    assert seen["shape"] == (300, 13) and set(sizes) == {96, 64}
    assert seen["key"]["views"] == [["effnet-lite0", 96], ["effnet-lite0", 64]]
    assert proba.shape == (200, 10)


@pytest.mark.slow
def test_model_a_is_trained_once_for_a_c_and_the_plus_a_recipes(synthetic, ctx, monkeypatch):
    calls = []
    real_train = runs_module.train

    def counting(images, *args, **kwargs):
        calls.append(len(images))
        return real_train(images, *args, **kwargs)

    monkeypatch.setattr(runs_module, "train", counting)
    run(synthetic, 100, 0, "A", ctx)
    run(synthetic, 100, 0, "C", ctx)
    run(synthetic, 100, 0, "logreg+A-soft", ctx)
    assert calls == [100, 300, 300]  # A on its 100 known images, then the students on all 300


def test_fixmatch_recipe_trains_on_known_labels_plus_consistency(synthetic, ctx, monkeypatch):
    seen = {}
    real_train = runs_module.train

    def spy(images, labels, weights, **kwargs):
        objective = kwargs.get("objective")
        seen.update(n=len(images), unlabeled=len(objective.unlabeled),
                    threshold=objective.threshold)
        return real_train(images, labels, weights, **kwargs)

    monkeypatch.setattr(runs_module, "train", spy)
    row = run(synthetic, 100, 0, "fixmatch", ctx)
    assert seen == {"n": 100, "unlabeled": 200, "threshold": 0.95}
    assert row["n_inferred"] == 200 and 0 <= row["test_acc"] <= 1
