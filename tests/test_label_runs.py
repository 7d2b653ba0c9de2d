"""Label-inference runs: computed once, stored in results/labels.jsonl, read back."""
from __future__ import annotations

import json

import pytest

from semisup_utils.data.dataset import split_known
from semisup_utils.study import label_runs
from semisup_utils.teachers import teachers
from semisup_utils.teachers.features import fit_pca
from semisup_utils.teachers.label_inference import (expected_calibration_error, fit_method,
                                                    probabilities)

PCA_VIEW = [("pca", 32)]


def test_a_label_run_is_stored_with_the_numbers_of_a_direct_fit(synthetic, ctx):
    row = label_runs.label_run(synthetic, "logreg", PCA_VIEW, 60, 3, ctx)
    known, unknown = split_known(synthetic.y_train, 60, 3)
    features = fit_pca(synthetic.x_train, 0.8, whiten=True, seed=3)[1]
    guess = fit_method("logreg", features, known, synthetic.y_train[known], seed=3)
    right = guess.labels == synthetic.y_train[unknown]
    assert row["label_acc"] == pytest.approx(right.mean())
    assert row["ece"] == pytest.approx(expected_calibration_error(
        probabilities(guess).max(1), right))
    assert row["n_unknown"] == len(unknown) and row["seconds"] >= 0
    stored = [json.loads(line) for line in
              (ctx.store.directory / label_runs.LABELS_FILE).read_text().splitlines()]
    assert len(stored) == 1 and stored[0]["key"]["method"] == "logreg"
    assert not (ctx.store.directory / "runs.jsonl").exists()  # the runs' store is untouched


def test_a_stored_label_run_is_read_back_without_features_or_a_fit(synthetic, ctx, monkeypatch):
    first = label_runs.label_run(synthetic, "knn", PCA_VIEW, 40, 0, ctx)

    def no_fit(*args, **kwargs):
        raise AssertionError("a stored label run was fitted again")

    monkeypatch.setattr(teachers, "fit_method_cached", no_fit)
    monkeypatch.setattr(teachers, "fit_pca", no_fit)
    again = label_runs.label_run(synthetic, "knn", PCA_VIEW, 40, 0, ctx)
    assert again == first


def test_method_m_seed_and_views_make_different_runs(synthetic, ctx):
    base = dict(method="logreg", views=PCA_VIEW, m=40, seed=0)
    keys = {json.dumps(label_runs.label_key(synthetic, **{**base, **change}), sort_keys=True)
            for change in [{}, {"method": "knn"}, {"m": 50}, {"seed": 1},
                           {"views": [("pca", 48)]}]}
    assert len(keys) == 5


def test_a_label_study_tables_every_cell(synthetic, ctx):
    table = label_runs.label_study(synthetic, ["kmeans", "logreg"], [PCA_VIEW], [40, 80], 0, ctx)
    assert len(table) == 4
    assert set(table["method"]) == {"kmeans", "logreg"} and set(table["M"]) == {40, 80}
    assert table["input_size"].tolist() == [32] * 4
    assert ((table["label_acc"] >= 0) & (table["label_acc"] <= 1)).all()
    # more known labels: logistic regression labels the rest at least as well here
    logreg = table[table["method"] == "logreg"].set_index("M")["label_acc"]
    assert logreg[80] >= logreg[40] - 0.05


def test_an_unknown_method_is_refused_before_anything_is_computed(synthetic, ctx):
    with pytest.raises(KeyError, match="known methods"):
        label_runs.label_run(synthetic, "magic", PCA_VIEW, 40, 0, ctx)
    assert not (ctx.store.directory / label_runs.LABELS_FILE).exists()


def _direct_test_accuracy(data, method, m, seed):
    known, _ = split_known(data.y_train, m, seed)
    pca, features = fit_pca(data.x_train, 0.8, whiten=True, seed=seed)
    guess = fit_method(method, features, known, data.y_train[known], seed=seed,
                       n_classes=data.n_classes)
    test = pca.transform(data.x_test.reshape(len(data.x_test), -1).astype("float32") / 255)
    return (guess.predict(test.astype("float32")).argmax(1) == data.y_test).mean()


def test_a_label_run_with_test_stores_the_teachers_test_accuracy(synthetic, ctx):
    row = label_runs.label_run(synthetic, "logreg", PCA_VIEW, 60, 1, ctx, test=True)
    assert row["test_acc"] == pytest.approx(_direct_test_accuracy(synthetic, "logreg", 60, 1))
    assert 0 <= row["test_ece"] <= 1
    # without test=True nothing of the test images is stored
    plain = label_runs.label_run(synthetic, "logreg", PCA_VIEW, 60, 2, ctx)
    assert "test_acc" not in plain


@pytest.mark.slow
def test_test_accuracy_refits_when_the_labels_come_from_the_cache(synthetic, ctx):
    # the labels are cached first (as a training run's teacher would), without a classifier
    known, _ = split_known(synthetic.y_train, 60, 4)
    teachers.get_teacher("logreg").fit(synthetic, PCA_VIEW, known, 4, ctx)
    row = label_runs.label_run(synthetic, "logreg", PCA_VIEW, 60, 4, ctx, test=True)
    assert row["test_acc"] == pytest.approx(_direct_test_accuracy(synthetic, "logreg", 60, 4))


def test_a_method_that_cannot_label_new_images_stores_no_test_accuracy(synthetic, ctx,
                                                                        monkeypatch):
    from dataclasses import replace

    from semisup_utils.teachers import label_inference as labels

    fit = labels.METHODS["logreg"]
    monkeypatch.setitem(labels.METHODS, "logreg",
                        lambda *a, **k: replace(fit(*a, **k), predict=None))
    row = label_runs.label_run(synthetic, "logreg", PCA_VIEW, 60, 0, ctx, test=True)
    assert "test_acc" not in row and row["label_acc"] >= 0


def test_full_and_held_out_fits_are_written_by_one_writer_in_one_layout(synthetic, ctx):
    """label_run is the one writer of labels.jsonl: a held-out fit (teacher_eval.held_out_run)
    is the full fit's row plus its validation scores, under the key plus ``validation``."""
    from semisup_utils.study.teacher_eval import held_out_run

    full = label_runs.label_run(synthetic, "logreg", PCA_VIEW, 60, 0, ctx, test=True)
    held = held_out_run(synthetic, "logreg", PCA_VIEW, 60, 0, ctx, validation=0.2)
    assert set(held) - set(full) == {"val_acc", "val_ece"} and set(full) <= set(held)
    assert held["key"] == {**full["key"], "validation": 0.2}
    assert set(full) == {"key", "label_acc", "ece", "test_acc", "test_ece", "seconds",
                         "embed_s", "n_unknown", "provenance"}


def test_the_average_with_model_a_is_scored_as_the_student_is_taught_it(synthetic, ctx):
    """score_teacher averages with Model A through teachers.average_with_model_a, the
    average the training runs' teachers take: on the unknown images and on the test ones."""
    import numpy as np
    import torch

    from semisup_utils.teachers.teachers import average_with_model_a

    class Uniform(torch.nn.Module):  # Model A that knows nothing: 1/10 for every class
        def __init__(self):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(10))

        def forward(self, x):
            return self.bias.expand(len(x), 10)

    alone = label_runs.score_teacher(synthetic, "logreg", PCA_VIEW, 60, 0, ctx)
    both = label_runs.score_teacher(synthetic, "logreg", PCA_VIEW, 60, 0, ctx,
                                    model_a=Uniform())
    # a uniform Model A halves every confidence and keeps every argmax
    assert both["label_acc"] == alone["label_acc"] and both["test_acc"] == alone["test_acc"]
    assert both["label_ece"] != alone["label_ece"]
    proba = np.eye(10, dtype=np.float32)[:3]
    np.testing.assert_allclose(average_with_model_a(proba, Uniform(), synthetic.x_test[:3]),
                               proba / 2 + 0.05, rtol=1e-6)
