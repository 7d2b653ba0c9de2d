"""Beyond the report: label selection, soft targets, recipes at an equal budget, gap closed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from semisup_utils import recipes as rec
from semisup_utils.experiments import Context
from semisup_utils.labels import infer_labels, label_report
from semisup_utils.recipes import (RECIPES, Budget, Recipe, add_gap_closed, get_recipe,
                                   run_recipe, select, training_set)
from semisup_utils.store import ResultsStore

BUDGET = Budget(steps=4, batch_size=64)


@pytest.fixture
def ctx(tmp_path):
    return Context(store=ResultsStore(tmp_path / "results"), cache_dir=tmp_path / "cache",
                   device="cpu", profile="test", progress=False)


def test_threshold_and_class_balanced_topk():
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55], [0.7, 0.3], [0.1, 0.9]])
    assert select(proba, "all", 0).all()
    assert select(proba, "threshold", 0.65).tolist() == [True, False, True, False, True, True]
    # class 0 has 3 members (0.9, 0.6, 0.7): top half keeps 2; class 1 has 3 (0.8, 0.55, 0.9)
    assert select(proba, "topk", 0.5).tolist() == [True, False, True, False, True, True]
    assert select(proba, "topk", 0.3).tolist() == [True, False, False, False, False, True]


def test_training_set_soft_weights_and_known_labels(synthetic):
    known = np.arange(0, 300, 3)
    unknown = np.setdiff1d(np.arange(300), known)
    proba = np.full((len(unknown), 10), 0.05, np.float32)
    proba[:, 3] = 0.55
    recipe = Recipe("t", teacher="logreg", soft=True, weight=0.5, confidence_weight=True)
    index, targets, weights, keep = training_set(synthetic, known, unknown, proba, recipe)
    assert keep.all() and len(index) == 300
    assert targets.shape == (300, 10) and np.allclose(targets.sum(1), 1)
    assert (targets[np.arange(len(known)), synthetic.y_train[known]] == 1).all()
    assert np.allclose(weights[:len(known)], 1) and np.allclose(weights[len(known):], 0.5 * 0.55)
    hard = training_set(synthetic, known, unknown, proba, Recipe("h", teacher="logreg"))[1]
    assert hard.ndim == 1 and (hard[len(known):] == 3).all()


def test_label_spreading_beats_chance_on_separable_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 32)) * 3
    y = rng.integers(0, 10, 1500)
    x = centres[y] + rng.normal(size=(1500, 32))
    guess = infer_labels("spread", x, np.arange(40), y[:40], seed=0)
    assert label_report(guess, y)["accuracy"] > 0.8
    assert np.allclose(guess.probabilities.sum(1), 1, atol=1e-5)


def test_recipe_and_budget_validation():
    with pytest.raises(ValueError, match="teacher='magic'"):
        Recipe("x", teacher="magic")
    with pytest.raises(ValueError, match="selection"):
        Recipe("x", selection="best")
    with pytest.raises(ValueError, match="rounds=0"):
        Recipe("x", rounds=0)
    with pytest.raises(ValueError, match="steps=0"):
        Budget(steps=0)
    with pytest.raises(KeyError, match="known recipes"):
        get_recipe("nope")
    assert Budget.epochs_of(2, 1000, batch_size=100).steps == 20


def test_recipes_run_store_and_resume(synthetic, ctx, monkeypatch):
    rows = {name: run_recipe(synthetic, 100, 0, name, BUDGET, ctx)
            for name in ["A", "ceiling", "C-report", "logreg-top50"]}
    assert rows["A"]["n_inferred"] == 0 and rows["A"]["label_acc"] is None
    assert rows["C-report"]["n_inferred"] == 200
    assert rows["logreg-top50"]["n_inferred"] < 200
    assert all(0 <= r["test_acc"] <= 1 for r in rows.values())
    # the ceiling is one run whatever M is, and nothing stored is trained again
    monkeypatch.setattr(rec, "train", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert run_recipe(synthetic, 150, 0, "ceiling", BUDGET, ctx)["test_acc"] == \
        rows["ceiling"]["test_acc"]
    assert run_recipe(synthetic, 100, 0, "logreg-top50", BUDGET, ctx) == rows["logreg-top50"]


def test_self_training_spends_the_budget_per_round(synthetic, ctx):
    recipe = Recipe("st", teacher="cnn", soft=True, rounds=2)
    row = run_recipe(synthetic, 100, 0, recipe, BUDGET, ctx)
    assert row["total_steps"] == 2 * BUDGET.steps


def test_gap_closed():
    frame = pd.DataFrame({"m": [10] * 3, "seed": [0] * 3, "recipe": ["A", "x", "ceiling"],
                          "test_acc": [0.4, 0.5, 0.6]})
    assert add_gap_closed(frame)["gap_closed"].tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_every_named_recipe_is_valid():
    assert {"A", "ceiling", "B-report", "C-report"} <= set(RECIPES)
    for recipe in RECIPES.values():
        assert recipe.key()["teacher"] == recipe.teacher


def test_budget_key_keeps_stored_runs_and_separates_new_settings(synthetic):
    """Fields added to Budget later are left out of the key at their defaults (so the runs
    stored before them still match) and are in it otherwise (so a bf16 or one-cycle run is
    never mistaken for the report's)."""
    old = {"steps": 4, "batch_size": 64, "lr": 1e-3, "arch": "report"}
    assert rec._budget_key(BUDGET) == old
    fast = Budget(steps=4, batch_size=64, precision="bf16", schedule="onecycle",
                  label_smoothing=0.1)
    assert rec._budget_key(fast) == {**old, "precision": "bf16", "schedule": "onecycle",
                                     "label_smoothing": 0.1}
    recipe = get_recipe("A")
    assert rec.run_key(synthetic, 100, 0, recipe, BUDGET) != \
        rec.run_key(synthetic, 100, 0, recipe, fast)
    for bad, match in [({"precision": "fp8"}, "precision"), ({"schedule": "x"}, "schedule"),
                       ({"label_smoothing": -0.1}, "label_smoothing")]:
        with pytest.raises(ValueError, match=match):
            Budget(steps=4, **bad)


def test_extra_views_concatenate_embeddings(synthetic, ctx, monkeypatch):
    sizes = {}

    def fake_embed(images, backbone, size, **kwargs):
        sizes[size] = True
        rng = np.random.default_rng(size)
        return rng.normal(size=(len(images), 8 if size == 96 else 5)).astype(np.float32)

    seen = {}

    def fake_infer(method, features, known, labels, **kwargs):
        features = features() if callable(features) else features  # loaded lazily on a miss
        seen["shape"], seen["key"] = features.shape, kwargs["key"]
        return infer_labels(method, features, known, labels), 0.0

    monkeypatch.setattr(rec, "embed", fake_embed)
    monkeypatch.setattr(rec, "infer_labels_cached", fake_infer)
    recipe = Recipe("two", teacher="logreg", extra_views=(("effnet-lite0", 64),))
    known = np.arange(0, 300, 3)
    proba = rec.teacher_probabilities(synthetic, known, recipe, BUDGET, 100, 0, ctx)
    assert seen["shape"] == (300, 13) and set(sizes) == {96, 64}
    assert seen["key"]["views"] == [["effnet-lite0", 96], ["effnet-lite0", 64]]
    assert proba.shape == (200, 10)
    assert "extra_views" not in get_recipe("logreg").key()
    assert recipe.key()["extra_views"] == [["effnet-lite0", 64]]
    with pytest.raises(ValueError, match="extra_views"):
        Recipe("x", teacher="cnn", extra_views=(("effnet-lite0", 64),))
    with pytest.raises(KeyError, match="unknown backbone|known"):
        Recipe("x", teacher="logreg", extra_views=(("resnet-9000", 64),))


def test_model_a_is_trained_once_for_a_c_and_the_plus_a_recipes(synthetic, ctx, monkeypatch):
    calls = []
    real_train = rec.train

    def counting(images, *args, **kwargs):
        calls.append(len(images))
        return real_train(images, *args, **kwargs)

    monkeypatch.setattr(rec, "train", counting)
    run_recipe(synthetic, 100, 0, "A", BUDGET, ctx)
    run_recipe(synthetic, 100, 0, "C-report", BUDGET, ctx)
    assert calls == [100, 300]  # A on its 100 known images, then C's student on all 300


def test_compare_runs_seed_major(synthetic, ctx, monkeypatch):
    order = []
    monkeypatch.setattr(rec, "run_recipe", lambda data, m, seed, recipe, budget, ctx: (
        order.append((seed, m)) or {"test_acc": 0.5}))
    rec.compare(synthetic, [50, 100], [0, 1], ["A"], BUDGET, ctx)
    assert order == [(0, 50), (0, 100), (1, 50), (1, 100)]


def test_fixmatch_recipe_trains_on_known_labels_plus_consistency(synthetic, ctx, monkeypatch):
    seen = {}
    real_train = rec.train

    def spy(images, labels, weights, **kwargs):
        seen.update(n=len(images), unlabeled=len(kwargs.get("unlabeled", [])),
                    threshold=kwargs.get("threshold"))
        return real_train(images, labels, weights, **kwargs)

    monkeypatch.setattr(rec, "train", spy)
    row = run_recipe(synthetic, 100, 0, "fixmatch", BUDGET, ctx)
    assert seen == {"n": 100, "unlabeled": 200, "threshold": 0.95}
    assert row["n_inferred"] == 200 and 0 <= row["test_acc"] <= 1
    with pytest.raises(ValueError, match="fixmatch"):
        Recipe("x", teacher="fixmatch", selection="all")


def test_compare_without_training_leaves_missing_runs_out(synthetic, ctx, monkeypatch):
    from semisup_utils.experiments import MissingRunError, MissingRunWarning

    run_recipe(synthetic, 100, 0, "A", BUDGET, ctx)
    monkeypatch.setattr(rec, "train", lambda *a, **k: pytest.fail("a missing run was trained"))
    reader = Context(store=ctx.store, cache_dir=ctx.cache_dir, device="cpu", profile="published",
                     progress=False, train_missing=False)
    with pytest.warns(MissingRunWarning, match=r"1 run\(s\).*A, M=100, seed 1"):
        frame = rec.compare(synthetic, [100], [0, 1], ["A"], BUDGET, reader)
    assert list(zip(frame["m"], frame["seed"])) == [(100, 0)]
    with pytest.raises(MissingRunError,
                       match=r"recipe ceiling.*semisup compare --profile published"):
        run_recipe(synthetic, 100, 0, "ceiling", BUDGET, reader)
