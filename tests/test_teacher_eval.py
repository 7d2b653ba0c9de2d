"""teacher_eval.evaluate_teacher on tiny data: the teacher's accuracy on the unknown and test
images, its calibration, its cost, and a validation split carved from the known images."""
from __future__ import annotations

import numpy as np
import pytest

from semisup_utils.data.dataset import split_known
from semisup_utils.study.recipes import Recipe
from semisup_utils.study.teacher_eval import evaluate_teacher
from semisup_utils.teachers import teachers
from semisup_utils.teachers.features import Backbone, BACKBONES, _PooledFeatures
from semisup_utils.teachers.label_inference import fit_method


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
    guess = fit_method("logreg", x, known, synthetic.y_train[known], n_classes=10)
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


def test_candidate_teachers_list_cheap_views_first_and_name_them():
    from semisup_utils.study.teacher_eval import candidate_teachers

    found = candidate_teachers([96, 224], ["logreg", "logreg-cal"], 224,
                               backbones=["effnet-lite1"])
    names = [name for name, _, _ in found]
    assert names[:4] == ["lite0@96 logreg", "lite0@96 logreg-cal", "lite0@96 flip logreg",
                         "lite0@96 flip logreg-cal"]
    assert names[-3:] == ["lite1@224 flip logreg-cal", "lite0@224 flip + lite0@96 flip "
                          "logreg-cal", "lite0@224 flip + lite1@224 flip logreg-cal"]
    assert len(found) == 2 * 2 * 2 + 3
    assert found[2][2] == (("effnet-lite0", 96, "flip"),) and found[0][2] == (
        ("effnet-lite0", 96),)
    # no concatenation of a view with itself, no extra backbones unless asked
    only96 = candidate_teachers([96], ["logreg"], 96)
    assert [name for name, _, _ in only96] == ["lite0@96 logreg", "lite0@96 flip logreg"]
    # several methods for the wide views: each view fitted by each, the view's fits together
    both = candidate_teachers([96], ["logreg"], 224, ["effnet-lite1"],
                              concat_methods=["logreg-cal", "logreg-cv"])
    assert [name for name, _, _ in both][2:] == [
        "lite1@224 flip logreg-cal", "lite1@224 flip logreg-cv",
        "lite0@224 flip + lite0@96 flip logreg-cal", "lite0@224 flip + lite0@96 flip logreg-cv",
        "lite0@224 flip + lite1@224 flip logreg-cal", "lite0@224 flip + lite1@224 flip logreg-cv"]
    # a second backbone: its own view and its own pair with Lite0, the first pair kept
    two = candidate_teachers([224], ["logreg"], 224, ["effnet-lite1", "effnet-lite2"])
    assert [name for name, _, _ in two][2:] == [
        "lite1@224 flip logreg-cal", "lite2@224 flip logreg-cal",
        "lite0@224 flip + lite1@224 flip logreg-cal", "lite0@224 flip + lite2@224 flip logreg-cal"]


def _study_rows(rows):
    import pandas as pd

    return pd.DataFrame([dict(zip(["teacher", "M", "seed", "val_acc", "val_ece", "label_acc",
                                   "test_acc"], r)) for r in rows])


def test_the_teacher_is_chosen_by_validation_accuracy_alone():
    from semisup_utils.study.teacher_eval import choose_teacher

    study = _study_rows([
        # at M=500 "b" is best on the held-out known images (mean over its two seeds), "a" on
        # the unknown and test images: the choice must follow the validation split
        ("a", 500, 0, 0.60, 0.05, 0.90, 0.90), ("a", 500, 1, 0.70, 0.05, 0.90, 0.90),
        ("b", 500, 0, 0.66, 0.05, 0.50, 0.50), ("b", 500, 1, 0.66, 0.05, 0.50, 0.50),
        # at M=5000 a tie in accuracy: the lower calibration error wins, then the first listed
        ("a", 5000, 0, 0.80, 0.10, 0.8, 0.8), ("b", 5000, 0, 0.80, 0.02, 0.8, 0.8),
        ("c", 5000, 0, 0.80, 0.02, 0.8, 0.8)])
    table = choose_teacher(study)
    chosen = table[table["chosen"]].set_index("M")["teacher"].to_dict()
    assert chosen == {500: "b", 5000: "b"}
    assert table.set_index(["M", "teacher"]).loc[(500, "a"), "val_acc"] == pytest.approx(0.65)
    assert table.set_index(["M", "teacher"]).loc[(500, "a"), "seeds"] == 2
    assert list(table["teacher"]) == ["a", "b", "a", "b", "c"]  # the candidates' order kept
    assert choose_teacher(study.iloc[:0]).empty


def test_teacher_study_stores_its_rows_apart_from_the_full_fits(synthetic, ctx, colour,
                                                                 monkeypatch):
    from semisup_utils.study import label_runs
    from semisup_utils.study.label_runs import label_run, label_store
    from semisup_utils.study.teacher_eval import teacher_study

    candidates = [("colour logreg", "logreg", (("colour", 32),)),
                  ("colour flip logreg-cal", "logreg-cal", (("colour", 32, "flip"),))]
    study = teacher_study(synthetic, candidates, [100], [0, 1], ctx, validation=0.2)
    assert len(study) == 4 and study.attrs["missing"] == []
    assert (study["val_acc"] > 0.4).all() and study["test_acc"].notna().all()
    assert study["embed_s"].notna().all()
    stored = label_store(ctx).rows()
    assert len(stored) == 4 and all(r["key"]["validation"] == 0.2 for r in stored)
    # a teacher fitted on all the known images is another row, with more images to learn from
    full = label_run(synthetic, "logreg", (("colour", 32),), 100, 0, ctx, test=True)
    assert "val_acc" not in full and len(label_store(ctx).rows()) == 5

    # read back from the store: nothing is fitted again
    def refit(*args, **kwargs):
        raise AssertionError("refitted a stored teacher")
    monkeypatch.setattr(label_runs, "score_teacher", refit)
    again = teacher_study(synthetic, candidates, [100], [0, 1], ctx, validation=0.2)
    assert again.drop(columns="seconds").equals(study.drop(columns="seconds"))
    # a context that computes nothing leaves the missing rows out and names them
    ctx.train_missing = False
    partial = teacher_study(synthetic, candidates, [100], [0, 2], ctx, validation=0.2)
    assert len(partial) == 2 and partial.attrs["missing"] == [
        ("colour logreg", 100, 2), ("colour flip logreg-cal", 100, 2)]
    assert label_runs.label_key(synthetic, "logreg", (("colour", 32),), 100, 0) != \
        label_runs.label_key(synthetic, "logreg", (("colour", 32),), 100, 0, validation=0.2)


def test_the_chosen_teachers_student_keeps_the_base_recipe_but_its_teacher():
    from semisup_utils.study.recipes import get_recipe
    from semisup_utils.study.teacher_eval import candidate_teachers, choose_teacher, chosen_recipes

    candidates = candidate_teachers([96, 224], ["logreg-cal", "logreg-self"], 224)
    names = [name for name, _, _ in candidates]
    base = get_recipe("lite0-224flip-cal-soft-T2")
    study = _study_rows([(name, m, 0, 0.5 + 0.01 * i * (1 if m == 500 else -1), 0.05, 0.6,
                          0.6) for m in (500, 5000) for i, name in enumerate(names)])
    taught = chosen_recipes(choose_teacher(study), candidates, base)
    # M=500: the last candidate scores best (the concatenation); M=5000: the first
    assert taught[500].views == (("effnet-lite0", 224, "flip"), ("effnet-lite0", 96, "flip"))
    assert taught[500].teacher == "logreg-cal"
    assert taught[5000].views == (("effnet-lite0", 96),) and taught[5000].teacher == "logreg-cal"
    for recipe in taught.values():
        assert recipe.soft and recipe.temperature == 2.0  # the rest is the base recipe's
    # where the choice is the base's own teacher, the student is the base's run (same key)
    own = _study_rows([("lite0@224 flip logreg-cal", 500, 0, 0.9, 0.01, 0.6, 0.6),
                       ("lite0@96 logreg-self", 500, 0, 0.8, 0.01, 0.6, 0.6)])
    assert chosen_recipes(choose_teacher(own), candidates, base)[500].key() == base.key()


def test_the_two_choices_differ_where_a_cross_validated_fit_wins():
    from semisup_utils.study.teacher_eval import teacher_choices

    study = _study_rows([("a cal", 500, 0, 0.70, 0.05, 0.7, 0.7),
                         ("a cv", 500, 0, 0.75, 0.05, 0.7, 0.7),
                         ("b self", 500, 0, 0.72, 0.05, 0.7, 0.7)])
    study["method"] = ["logreg-cal", "logreg-cv", "logreg-self"]
    choices = teacher_choices(study)
    picks = {among: table.loc[table["chosen"], "teacher"].tolist()
             for among, table in choices.items()}
    assert picks == {"every fit": ["a cv"], "C=1 fits": ["b self"]}
    # a study of C=1 fits alone (or of cross-validated ones alone) has one choice
    assert list(teacher_choices(study.iloc[[0, 2]])) == ["every fit"]
    assert list(teacher_choices(study.iloc[[1]])) == ["every fit"]


def test_c_twins_pair_the_fits_of_the_same_views_that_differ_in_c_alone():
    from semisup_utils.study.teacher_eval import c_twins, candidate_teachers

    candidates = candidate_teachers([96, 224], ["logreg-cal", "logreg-self"], 224,
                                    backbones=["effnet-lite2"],
                                    concat_methods=["logreg-cal", "logreg-cv"])
    twins = c_twins(candidates)
    # Lite0 alone is fitted at C=1 only here: no twin; Lite2 and both concatenations are
    assert [views for views, _, _ in twins] == [
        (("effnet-lite2", 224, "flip"),),
        (("effnet-lite0", 224, "flip"), ("effnet-lite0", 96, "flip")),
        (("effnet-lite0", 224, "flip"), ("effnet-lite2", 224, "flip"))]
    for views, default, tuned in twins:
        assert default.endswith(" logreg-cal") and tuned.endswith(" logreg-cv")
        assert default.removesuffix(" logreg-cal") == tuned.removesuffix(" logreg-cv")
    assert c_twins(candidates, default="logreg-self") == []  # no views has both
