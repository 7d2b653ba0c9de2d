"""teacher_eval.evaluate_teacher on tiny data: the teacher's accuracy on the unknown and test
images, its calibration, its cost, and a validation split carved from the known images."""
from __future__ import annotations

import numpy as np
import pytest

from semisup_utils import teachers
from semisup_utils.data import split_known
from semisup_utils.features import Backbone, BACKBONES, _PooledFeatures
from semisup_utils.labels import infer_labels
from semisup_utils.recipes import Recipe
from semisup_utils.runs import Context
from semisup_utils.store import ResultsStore
from semisup_utils.teacher_eval import evaluate_teacher


@pytest.fixture
def ctx(tmp_path):
    return Context(store=ResultsStore(tmp_path / "results"), cache_dir=tmp_path / "cache",
                   device="cpu", profile="test", progress=False)


@pytest.fixture
def colour(monkeypatch):
    """A backbone that pools each channel (the synthetic classes differ by mean colour)."""
    from torch import nn

    monkeypatch.setitem(BACKBONES, "colour", Backbone(
        "colour", lambda size: _PooledFeatures(lambda x: x, nn.Identity()), "tflite", "test"))


def test_teacher_scores_on_unknown_and_test_images(synthetic, ctx, colour):
    recipe = Recipe("t", teacher="logreg", views=(("colour", 32),))
    out = evaluate_teacher(synthetic, recipe, 100, 0, ctx)
    # the same numbers by hand: fit on the known images, score the unknown and test images
    known, unknown = split_known(synthetic.y_train, 100, 0)
    x = teachers.view_features(synthetic, recipe.views, 0, ctx)
    guess = infer_labels("logreg", x, known, synthetic.y_train[known], n_classes=10)
    assert out["label_acc"] == pytest.approx((guess.labels == synthetic.y_train[unknown]).mean())
    x_test = synthetic.x_test.reshape(200, -1, 3).mean(1)
    test = guess.predict((x_test.astype(np.float32) - 127) / 128).argmax(1)
    assert out["test_acc"] == pytest.approx((test == synthetic.y_test).mean(), abs=0.01)
    assert out["label_acc"] > 0.5 and out["test_acc"] > 0.5  # colour tells the classes apart
    assert 0 <= out["label_ece"] <= 1 and 0 <= out["test_ece"] <= 1
    assert out["fit_s"] >= 0 and out["embed_s"] >= 0  # both embeddings cached, with seconds
    assert "val_acc" not in out and out["m"] == 100 and out["views"] == [["colour", 32]]


def test_teacher_with_flip_views_and_a_validation_split(synthetic, ctx, colour):
    recipe = Recipe("t", teacher="logreg-self", views=(("colour", 32, "flip"),))
    out = evaluate_teacher(synthetic, recipe, 100, 0, ctx, validation=0.2)
    assert {"val_acc", "val_ece", "label_acc", "test_acc"} <= set(out)
    assert out["val_acc"] > 0.4
    again = evaluate_teacher(synthetic, recipe, 100, 0, ctx, validation=0.2)
    assert {k: v for k, v in again.items() if k != "fit_s"} == \
        {k: v for k, v in out.items() if k != "fit_s"}  # deterministic for a seed


def test_teachers_not_fit_on_features_are_refused(synthetic, ctx):
    with pytest.raises(ValueError, match="not fit on features"):
        evaluate_teacher(synthetic, "C", 100, 0, ctx)
    with pytest.raises(ValueError, match="model_a="):
        evaluate_teacher(synthetic, Recipe("x", teacher="logreg", views=(("pca", 32),),
                                           with_model_a=True), 100, 0, ctx)
