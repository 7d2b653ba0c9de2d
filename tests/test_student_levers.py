"""Issue 34's levers for the CNN student: Hinton's temperature on the logits (a Recipe's
``distill_loss``), a moving average of the weights as the evaluated network (a Budget's
``ema``) and flip test-time averaging (every row's ``test_acc_flip``); and the rule that every
key built before them, and every key in the committed store, stays what it was."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from semisup_utils.book import notebook
from semisup_utils.study import analysis, profiles, runs
from semisup_utils.study.recipes import RECIPES, Recipe, at_input_size
from semisup_utils.study.runs import Run, execute
from semisup_utils.study.store import ResultsStore, rows_frame
from semisup_utils.teachers import teachers
from semisup_utils.training import train as train_mod
from semisup_utils.training.budget import Budget
from semisup_utils.training.cnn import ReportCNN
from semisup_utils.training.train import evaluate, predict_proba, train

ROOT = Path(__file__).absolute().parents[1]
BEFORE = json.loads((ROOT / "tests" / "data" / "keys-before-issue34.json").read_text())


@pytest.fixture
def colour_features(monkeypatch):
    """teachers.embed replaced by each image's mean colour (what the synthetic classes differ
    by): an embedding teacher without a backbone."""
    monkeypatch.setattr(teachers, "embed", lambda images, *a, **k: images.reshape(
        len(images), -1, 3).mean(1).astype(np.float32))


def tiny(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def weights_of(model):
    return [p.detach().clone() for p in model.parameters()]


# ----------------------------------------------------------------------------- keys stay put
def keys_today() -> dict:
    """What tests/data/keys-before-issue34.json holds, computed now: every registered recipe's
    key, and every profile's budgets and recipes as the chapters build them."""
    out = {"recipes": {n: r.key() for n, r in RECIPES.items()}, "budgets": {},
           "profile_recipes": {}}
    for p in profiles.PROFILES:
        P = profiles.resolve(p)
        n = P["n_train"] or 50000
        budgets = {"report": notebook.report_budget(P),
                   "screening": notebook.screening_budget(P, n),
                   "sweep": notebook.sweep_budget(P, n),
                   **{f"distill-{a}": b for a, b in notebook.distill_budgets(P, n).items()}}
        out["budgets"].update({f"{p}/{k}": b.key() for k, b in budgets.items()})
        recipes = [*notebook.report_recipes(P), *notebook.sweep_recipes(P),
                   *[at_input_size(RECIPES[r], P["distill_size"]) for r in P["distill_recipes"]]]
        out["profile_recipes"].update({f"{p}/{r.name}": r.key() for r in recipes})
    return json.loads(json.dumps(out))


def test_keys_built_before_the_levers_are_unchanged():
    today = keys_today()
    for part in ("budgets", "profile_recipes"):
        assert today[part] == BEFORE[part], part
    for name, key in BEFORE["recipes"].items():
        assert today["recipes"][name] == key, name


def test_every_key_in_the_committed_store_is_rebuilt_unchanged():
    """Each stored run's recipe and budget, rebuilt from its key's fields, give that key: no
    field of theirs at its default enters a key."""
    rows = ResultsStore(ROOT / "results").rows()
    assert len(rows) > 300  # the committed store, not an empty one
    for row in rows:
        recipe, budget = row["key"]["recipe"], row["key"]["budget"]
        assert Recipe("stored", **recipe).key() == recipe, row.get("name")
        assert Budget(**budget).key() == budget, row.get("name")


def test_the_levers_enter_keys_only_when_on():
    base = RECIPES["lite0-224flip-cal-soft-T2"]
    assert "distill_loss" not in base.key()
    assert replace(base, distill_loss="hinton").key() == {**base.key(), "distill_loss": "hinton"}
    assert "ema" not in Budget.steps(10).key()
    assert Budget.steps(10, ema=0.999).key() == {**Budget.steps(10).key(), "ema": 0.999}


# ----------------------------------------------------------------------------- (a) Hinton's loss
def test_hinton_loss_on_two_samples_equals_the_hand_computed_value(monkeypatch):
    """One known image (one-hot, T = 1) and one teacher-labelled image at T = 2: the first
    step's loss is the mean of CE(y, softmax(z)) and 4 CE(q, softmax(z / 2))."""
    monkeypatch.setattr(train_mod, "build_cnn", lambda arch, n: ReportCNN(n, dropout=0.0))
    x, _ = tiny(2)
    targets = np.array([np.eye(10)[3], np.linspace(1, 2, 10) / 15], np.float32)
    kwargs = dict(steps=1, batch_size=2, seed=7, augment=False, device="cpu", progress=False)
    _, hinton = train(x, targets, temperature=np.array([1.0, 2.0]), **kwargs)
    _, plain = train(x, targets, **kwargs)
    torch.manual_seed(7)  # the trainer's first weights
    with torch.no_grad():
        z = ReportCNN(10, dropout=0.0)(torch.from_numpy(x).permute(0, 3, 1, 2) / 255)
    z = z.double().numpy()

    def ce(q, logits):  # cross-entropy of target q with softmax(logits), by hand
        logits = logits - logits.max()
        return -(q * (logits - np.log(np.exp(logits).sum()))).sum()

    by_hand = (ce(targets[0], z[0]) + 2.0**2 * ce(targets[1], z[1] / 2.0)) / 2
    assert hinton[0]["loss"] == pytest.approx(by_hand, rel=1e-5)
    assert plain[0]["loss"] == pytest.approx((ce(targets[0], z[0]) + ce(targets[1], z[1])) / 2,
                                             rel=1e-5)
    assert abs(hinton[0]["loss"] - plain[0]["loss"]) > 0.1


def test_temperature_one_is_the_plain_loss_bit_for_bit():
    x, y = tiny()
    soft = np.eye(10, dtype=np.float32)[y]
    kwargs = dict(steps=3, batch_size=16, seed=2, device="cpu", progress=False)
    a, _ = train(x, soft, **kwargs)
    b, _ = train(x, soft, temperature=np.ones(len(y)), **kwargs)
    assert all(torch.equal(p, q) for p, q in zip(weights_of(a), weights_of(b)))
    with pytest.raises(ValueError, match="soft targets"):
        train(x, y, temperature=2.0, **kwargs)
    with pytest.raises(ValueError, match="one per sample"):
        train(x, soft, temperature=np.ones(3), **kwargs)
    with pytest.raises(ValueError, match="> 0"):
        train(x, soft, temperature=0.0, **kwargs)


def test_hinton_recipes_are_registered_and_checked():
    for name, t in (("lite0-224flip-cal-soft-T2hinton", 2.0),
                    ("lite0-224flip-cal-soft-T4hinton", 4.0)):
        recipe = RECIPES[name]
        assert recipe.distill_loss == "hinton" and recipe.temperature == t
        assert recipe.key() == {**RECIPES["lite0-224flip-cal-soft-T2"].key(),
                                "temperature": t, "distill_loss": "hinton"}
    base = Recipe("x", teacher="logreg-cal", soft=True)
    with pytest.raises(ValueError, match="distill_loss='kl'"):
        replace(base, temperature=2.0, distill_loss="kl")
    with pytest.raises(ValueError, match="temperature != 1"):
        replace(base, distill_loss="hinton")
    with pytest.raises(ValueError, match="known_mix"):
        replace(base, temperature=2.0, known_mix=0.3, distill_loss="hinton")
    index, unknown = np.array([0, 1, 2, 5]), np.array([1, 5, 7])
    hinton = replace(base, temperature=3.0, distill_loss="hinton")
    np.testing.assert_array_equal(hinton.train_kwargs(index, unknown)["temperature"],
                                  [1.0, 3.0, 1.0, 3.0])
    assert replace(base, temperature=3.0).train_kwargs(index, unknown) == {}


@pytest.mark.slow
def test_a_hinton_run_trains_its_teacher_labelled_images_at_t(synthetic, ctx, colour_features,
                                                              monkeypatch):
    seen = []

    def spy(images, labels, weights=None, **kwargs):
        seen.append((len(images), kwargs.get("temperature")))
        return train(images, labels, weights, **kwargs)

    monkeypatch.setattr(runs, "train", spy)
    recipe = replace(RECIPES["lite0-224flip-cal-soft-T2hinton"],
                     views=(("effnet-lite0", 32, "flip"),))
    row = execute(synthetic, Run(100, 0, recipe, Budget.steps(2, batch_size=64)), ctx)
    assert row["key"]["recipe"]["distill_loss"] == "hinton"
    (n, temperature), = seen
    assert n == synthetic.n_train and sorted(np.unique(temperature)) == [1.0, 2.0]
    assert (temperature == 1).sum() == 100  # the known images keep the plain loss
    execute(synthetic, Run(100, 0, replace(recipe, distill_loss="targets"),
                           Budget.steps(2, batch_size=64)), ctx)
    assert seen[-1][1] is None  # today's loss: no temperature reaches train()


# ----------------------------------------------------------------------------- (b) EMA
@pytest.mark.slow
def test_ema_weights_are_the_moving_average_and_are_what_is_evaluated(monkeypatch):
    x, y = tiny()
    test = tiny(40, seed=1)
    kwargs = dict(batch_size=16, seed=3, device="cpu", progress=False)
    path = [weights_of(train(x, y, steps=k, **kwargs)[0]) for k in range(1, 6)]
    decay, by_hand = 0.8, path[0]  # the first update copies the weights
    for w in path[1:]:
        by_hand = [decay * e + (1 - decay) * p for e, p in zip(by_hand, w)]
    evaluated = []
    original = train_mod._predict_device
    monkeypatch.setattr(train_mod, "_predict_device", lambda model, *a: (
        evaluated.append(weights_of(model)), original(model, *a))[1])
    model, history = train(x, y, steps=5, ema=decay, test=test, **kwargs)
    final = weights_of(model)
    for e, h in zip(final, by_hand):
        torch.testing.assert_close(e, h, atol=1e-6, rtol=1e-5)
    assert not all(torch.equal(e, w) for e, w in zip(final, path[-1]))  # not the last weights
    assert all(torch.equal(e, w) for e, w in zip(evaluated[-1], final))  # what was tested
    assert history[-1]["test_acc"] == evaluate(model, *test)
    assert not model.training


def test_ema_is_a_budget_option_passed_to_train():
    assert Budget.steps(10).train_kwargs()["ema"] == 0.0
    assert Budget.steps(10, ema=0.999).train_kwargs()["ema"] == 0.999
    assert "EMA 0.999" in Budget.steps(10, ema=0.999).describe()
    assert "EMA" not in Budget.steps(10).describe()
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="ema="):
            Budget.steps(10, ema=bad)
    with pytest.raises(ValueError, match="ema="):
        train(*tiny(8), steps=1, ema=1.0, device="cpu", progress=False)


# ----------------------------------------------------------------------------- (c) flip
def test_test_acc_flip_is_the_mean_softmax_of_the_image_and_its_mirror():
    x, y = tiny()
    xt, yt = tiny(60, seed=1)
    model, history = train(x, y, steps=4, batch_size=16, seed=1, device="cpu", progress=False,
                           test=(xt, yt))
    with torch.no_grad():
        images = torch.from_numpy(xt).permute(0, 3, 1, 2).float() / 255
        by_hand = (model(images).softmax(1) + model(images.flip(3)).softmax(1)) / 2
    expected = float((by_hand.argmax(1).numpy() == yt).mean())
    assert history[-1]["test_acc_flip"] == expected
    assert evaluate(model, xt, yt, flip=True) == expected
    assert history[-1]["test_acc"] == evaluate(model, xt, yt)
    assert all("test_acc_flip" not in h for h in history[:-1])  # measured once, at the end
    single = predict_proba(model, xt)
    np.testing.assert_allclose(predict_proba(model, xt, flip=True), by_hand.numpy(), atol=1e-6)
    assert not np.allclose(single, by_hand.numpy(), atol=1e-4)  # the mirror really counted


def test_rows_record_test_acc_flip_and_older_rows_read_as_missing(synthetic, ctx):
    run = Run(50, 0, RECIPES["A"], Budget.steps(2, batch_size=32))
    row = execute(synthetic, run, ctx)
    assert row["test_acc_flip"] == row["history"][-1]["test_acc_flip"]
    assert 0 <= row["test_acc_flip"] <= 1
    assert ctx.store.find(row["key"])["test_acc_flip"] == row["test_acc_flip"]  # stored
    assert ctx.store.query(recipe="A", test_acc_flip=row["test_acc_flip"]) == [row]
    old = {k: v for k, v in row.items() if k != "test_acc_flip"}
    old["key"] = {**row["key"], "seed": 1}  # a row stored before the field existed
    frame = rows_frame([row, old])
    assert frame["test_acc_flip"].isna().tolist() == [False, True]
    # a table over seeds counts the rows that have it: the older row is missing, not zero
    table = analysis.summary(frame, value="test_acc_flip")
    assert table["n"].tolist() == [1]
    assert table["mean"].tolist() == [pytest.approx(100 * row["test_acc_flip"])]
    only_old = analysis.mean_sd(analysis.summary(frame.iloc[1:], value="test_acc_flip"),
                                "m", "recipe")
    assert only_old.iloc[0, 0] == analysis.UNDEFINED
