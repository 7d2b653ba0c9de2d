"""Issue 15's options: flip views, temperature and known_mix on a Recipe, the out-of-fold
teacher of the known images, the crop-cutout augmentation on a Budget, and the rule that every
recipe and budget stored before them keeps its key."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from semisup_utils.study.recipes import RECIPES, Recipe, at_input_size
from semisup_utils.study.runs import Run, execute
from semisup_utils.teachers import teachers
from semisup_utils.teachers.label_inference import fit_method, probabilities
from semisup_utils.teachers.targets import soften, training_set
from semisup_utils.training.budget import Budget
from semisup_utils.training.train import augmentation, crop_cutout, train

BEFORE = json.loads((Path(__file__).parent / "data" / "keys-before-issue15.json").read_text())


@pytest.fixture
def colour_features(monkeypatch):
    """teachers.embed replaced by each image's mean colour (what the synthetic classes differ
    by), recording the options it was called with."""
    calls = []

    def fake_embed(images, backbone, size, **kwargs):
        calls.append((backbone, size, kwargs.get("flip", False), kwargs.get("fingerprint")))
        return images.reshape(len(images), -1, 3).mean(1).astype(np.float32)

    monkeypatch.setattr(teachers, "embed", fake_embed)
    return calls


# ----------------------------------------------------------------------------- keys
def test_every_existing_recipe_and_budget_keeps_its_key():
    """Compared with the keys computed at main's HEAD before these options existed."""
    assert set(BEFORE["recipes"]) <= set(RECIPES)
    for name, key in BEFORE["recipes"].items():
        assert json.loads(json.dumps(RECIPES[name].key())) == key, name
    budgets = {"steps-3910": Budget.steps(3910), "report-50": Budget.report(50),
               "onecycle-bf16": Budget.steps(19550, schedule="onecycle", precision="bf16",
                                             label_smoothing=0.1)}
    for name, budget in budgets.items():
        assert json.loads(json.dumps(budget.key())) == BEFORE["budgets"][name], name


def test_new_options_change_the_key():
    base = Recipe("x", teacher="logreg-cal", soft=True)
    keys = [base.key(), replace(base, temperature=2.0).key(), replace(base, known_mix=0.3).key(),
            replace(base, views=(("effnet-lite0", 96, "flip"),)).key()]
    assert len({json.dumps(k, sort_keys=True) for k in keys}) == 4
    assert keys[1]["temperature"] == 2.0 and keys[2]["known_mix"] == 0.3
    assert keys[3]["views"] == [["effnet-lite0", 96, "flip"]]
    assert "temperature" not in keys[0] and "known_mix" not in keys[0]
    assert Budget.steps(10, augment="crop-cutout").key()["augment"] == "crop-cutout"
    assert "augment" not in Budget.steps(10).key()


def test_new_recipes_are_registered_with_telling_names():
    new = set(RECIPES) - set(BEFORE["recipes"])
    assert new, "issue 15 registers recipes for the study"
    for name in new:
        recipe = RECIPES[name]
        assert recipe.name == name and recipe.soft
        assert any(len(v) == 3 for v in recipe.views) == ("flip" in name)


# ----------------------------------------------------------------------------- views
def test_views_with_flip_are_checked_and_reach_embed(synthetic, ctx, colour_features):
    with pytest.raises(ValueError, match="option"):
        Recipe("x", views=(("effnet-lite0", 96, "mirror"),))
    with pytest.raises(ValueError, match="PCA"):
        Recipe("x", views=(("pca", 32, "flip"),))
    with pytest.raises(ValueError, match="view"):
        Recipe("x", views=(("effnet-lite0",),))
    recipe = Recipe("f", views=(("effnet-lite0", 96, "flip"), ("effnet-lite0", 64)))
    assert at_input_size(recipe, 224).views == (("effnet-lite0", 224, "flip"),
                                                ("effnet-lite0", 64))
    features = teachers.view_features(synthetic, recipe.views, 0, ctx)
    assert features.shape == (300, 6)
    assert colour_features == [("effnet-lite0", 96, True, synthetic.fingerprint),
                               ("effnet-lite0", 64, False, synthetic.fingerprint)]
    test = teachers.view_features(synthetic, recipe.views, 0, ctx, split="test")
    assert test.shape == (200, 6)
    assert colour_features[-1][3] == f"{synthetic.fingerprint}:test"  # its own cache entries


def test_pca_view_of_the_test_images_uses_the_training_fit(ctx):
    from types import SimpleNamespace

    rng = np.random.default_rng(0)  # small images keep PCA's covariance cheap
    base = rng.normal(size=(8, 6 * 6 * 3)) * 40
    pick = lambda n: np.clip(128 + rng.normal(size=(n, 8)) @ base, 0, 255).astype(  # noqa: E731
        np.uint8).reshape(n, 6, 6, 3)
    data = SimpleNamespace(x_train=pick(300), x_test=pick(200), fingerprint="small")
    train_f = teachers.view_features(data, [("pca", 32)], 0, ctx)
    test_f = teachers.view_features(data, [("pca", 32)], 0, ctx, split="test")
    assert test_f.shape == (200, train_f.shape[1]) and test_f.dtype == np.float32
    # whitened on the training images: unit variance there, about unit on the test images
    assert abs(float(test_f.std(0).mean()) - 1) < 0.3


# ----------------------------------------------------------------------------- targets
def test_temperature_softens_and_renormalises():
    proba = np.array([[0.7, 0.2, 0.1], [0.98, 0.01, 0.01]], np.float32)
    np.testing.assert_allclose(soften(proba, 1.0), proba, atol=1e-7)
    soft = soften(proba, 2.0)
    expected = np.sqrt(proba) / np.sqrt(proba).sum(1, keepdims=True)
    np.testing.assert_allclose(soft, expected, rtol=1e-6)
    assert (soft.max(1) < proba.max(1)).all() and (soften(proba, 0.5).max(1) > proba.max(1)).all()
    np.testing.assert_array_equal(soft.argmax(1), proba.argmax(1))


def test_training_set_with_temperature_and_known_mix():
    y = np.array([0, 1, 2, 0, 1, 2])
    known, unknown = np.array([0, 2, 4]), np.array([1, 3, 5])
    proba = np.array([[0.6, 0.3, 0.1], [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]], np.float32)
    known_proba = np.array([[0.5, 0.5, 0.0], [0.1, 0.1, 0.8], [0.0, 1.0, 0.0]], np.float32)
    recipe = Recipe("t", teacher="logreg-cal", soft=True, temperature=2.0, known_mix=0.25)
    index, targets, weights, keep = training_set(y, known, unknown, proba, recipe, known_proba)
    assert (index == np.arange(6)).all() and keep.all()
    np.testing.assert_allclose(targets[unknown], soften(proba, 2.0), rtol=1e-6)
    one_hot = np.eye(3)[y[known]]
    np.testing.assert_allclose(targets[known], 0.75 * one_hot + 0.25 * soften(known_proba, 2.0),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(targets.sum(1), 1, atol=1e-6)
    # the defaults: exactly today's targets
    plain = Recipe("p", teacher="logreg-cal", soft=True)
    _, today, _, _ = training_set(y, known, unknown, proba, plain)
    np.testing.assert_array_equal(today[known], one_hot)
    np.testing.assert_array_equal(today[unknown], proba / proba.sum(1, keepdims=True))
    with pytest.raises(ValueError, match="known_proba"):
        training_set(y, known, unknown, proba, recipe)


def test_distillation_options_are_validated():
    with pytest.raises(ValueError, match="soft=True"):
        Recipe("x", teacher="logreg", temperature=2.0)
    with pytest.raises(ValueError, match="soft=True"):
        Recipe("x", teacher="logreg", known_mix=0.5)
    with pytest.raises(ValueError, match="temperature"):
        Recipe("x", teacher="logreg", soft=True, temperature=0)
    with pytest.raises(ValueError, match="known_mix"):
        Recipe("x", teacher="logreg", soft=True, known_mix=1.5)
    with pytest.raises(ValueError, match="out-of-fold"):
        Recipe("x", teacher="cnn", soft=True, known_mix=0.5)


# ----------------------------------------------------------------------------- out of fold
def test_known_probabilities_are_out_of_fold(synthetic, ctx, monkeypatch):
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(synthetic.n_train, 16)).astype(np.float32)
    monkeypatch.setattr(teachers, "view_features", lambda *a, **k: noise)
    known = np.arange(0, 300, 2)
    recipe = Recipe("k", teacher="knn", soft=True, known_mix=0.5)
    oof = teachers.known_probabilities(recipe, synthetic, known, 0, ctx)
    assert oof.shape == (len(known), 10)
    np.testing.assert_allclose(oof.sum(1), 1, atol=1e-5)
    # by hand: every fold labelled by the teacher fit on the other folds
    labels = synthetic.y_train[known]
    for held in teachers.known_folds(labels, 0):
        fit = np.delete(known, held)
        guess = fit_method("knn", noise, fit, synthetic.y_train[fit], n_classes=10)
        rows = np.searchsorted(guess.indices, known[held])
        np.testing.assert_allclose(oof[held], probabilities(guess)[rows], atol=1e-6)
    # on pure noise a known image's own label would be its nearest neighbour in-sample
    in_sample = fit_method("knn", noise, known, labels, n_classes=10)
    assert (oof.argmax(1) == labels).mean() < 0.4
    assert in_sample.predict(noise[known]).argmax(1).tolist() == labels.tolist()


def test_known_folds_are_a_seeded_partition():
    labels = np.repeat(np.arange(10), 7)
    folds = teachers.known_folds(labels, 3)
    assert len(folds) == 5 and sorted(np.concatenate(folds).tolist()) == list(range(70))
    assert all(len(np.unique(labels[f])) == 10 for f in folds)  # stratified
    again = teachers.known_folds(labels, 3)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))
    rare = teachers.known_folds(np.array([0, 0, 0, 1, 2, 2]), 0)  # class 1 has one image
    assert sorted(np.concatenate(rare).tolist()) == list(range(6))


def test_a_known_mix_recipe_runs_end_to_end(synthetic, ctx, colour_features):
    recipe = Recipe("mix", teacher="logreg-cal", soft=True, temperature=2.0, known_mix=0.3,
                    views=(("effnet-lite0", 32, "flip"),))
    row = execute(synthetic, Run(100, 0, recipe, Budget.steps(3, batch_size=64)), ctx)
    assert 0 <= row["test_acc"] <= 1 and row["key"]["recipe"]["known_mix"] == 0.3
    assert row["label_acc"] > 0.5  # the mean colour tells the synthetic classes apart


# ----------------------------------------------------------------------------- augmentation
def images(seed=0, n=16):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_crop_cutout_keeps_shape_dtype_and_range_and_is_seeded():
    x = images()
    a = crop_cutout(x, torch.Generator().manual_seed(1))
    b = crop_cutout(x, torch.Generator().manual_seed(1))
    c = crop_cutout(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and a.dtype == x.dtype and a.is_contiguous()
    assert a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)
    half = crop_cutout(x.to(torch.bfloat16), torch.Generator().manual_seed(1))
    assert half.dtype == torch.bfloat16


def test_crop_is_a_shifted_window_of_the_reflect_padded_image():
    x = images(n=64)
    out = crop_cutout(x, torch.Generator().manual_seed(0), cutout=0)
    padded = torch.nn.functional.pad(torch.cat([x, x.flip(3)]), (4, 4, 4, 4), mode="reflect")
    for i in range(len(x)):
        windows = [(padded[j, :, dy:dy + 32, dx:dx + 32]) for j in (i, i + len(x))
                   for dy in range(9) for dx in range(9)]
        assert any(torch.equal(out[i], w) for w in windows), i


def test_cutout_blanks_at_most_an_eight_pixel_square():
    x = torch.zeros(256, 3, 32, 32)
    out = crop_cutout(x, torch.Generator().manual_seed(0), pad=0)
    holes = (out[:, 0] == 0.5)
    rows, cols = holes.any(2).sum(1), holes.any(1).sum(1)
    assert rows.max() == 8 and cols.max() == 8 and (holes.sum((1, 2)) <= 64).all()
    assert (holes.sum((1, 2)) > 0).all()  # the centre is always inside the image


def test_augmentation_names():
    from semisup_utils.training.train import augment_batch

    assert augmentation(True) is augmentation("report") is augment_batch
    assert augmentation("crop-cutout") is crop_cutout and augmentation(False) is None
    with pytest.raises(ValueError, match="augment="):
        augmentation("mixup")
    with pytest.raises(ValueError, match="augment="):
        Budget.steps(10, augment="mixup")
    assert "crop-cutout" in Budget.steps(10, augment="crop-cutout").describe()


def test_a_short_training_with_crop_cutout_runs_on_cpu(synthetic):
    budget = Budget.steps(4, batch_size=32, augment="crop-cutout")
    kwargs = budget.train_kwargs()
    assert kwargs["augment"] == "crop-cutout"
    model, history = train(synthetic.x_train[:64], synthetic.y_train[:64], seed=0, device="cpu",
                           progress=False, **kwargs)
    again, _ = train(synthetic.x_train[:64], synthetic.y_train[:64], seed=0, device="cpu",
                     progress=False, **kwargs)
    assert history[-1]["step"] == 4 and np.isfinite(history[-1]["loss"])
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)
