"""Models A, B and C over the results store: rows, resumption, Model A reuse, validation.

Runs on 300 generated training images (colour depends on the class) with M=100 and one epoch,
so it needs no data files.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from semisup_utils import experiments as exp
from semisup_utils.cache import ArrayCache
from semisup_utils.data import split_known
from semisup_utils.experiments import (MODELS, Context, Protocol, UnknownModelError, run_key,
                                       run_models, sweep)
from semisup_utils.store import ResultsStore
from semisup_utils.train import predict_proba

PROTOCOL = Protocol(epochs=1, batch_size=64, method="kmeans", backbone="effnet-lite0",
                    input_size=32)
PCA_PROTOCOL = Protocol(epochs=1, batch_size=64, method="logreg", backbone="pca")


@pytest.fixture
def ctx(tmp_path):
    return Context(store=ResultsStore(tmp_path / "results"), cache_dir=tmp_path / "cache",
                   device="cpu", profile="test", progress=False)


class TrainSpy:
    """Wraps experiments.train, recording each call's description."""

    def __init__(self, monkeypatch):
        self.calls = []
        real = exp.train

        def spy(*args, **kwargs):
            self.calls.append(kwargs["desc"])
            return real(*args, **kwargs)

        monkeypatch.setattr(exp, "train", spy)


def forbid_training(monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(exp, "train", no_training)
    monkeypatch.setattr(exp, "embed", no_training)
    monkeypatch.setattr(exp, "fit_pca", no_training)


def test_models_abc_rows(synthetic, ctx, monkeypatch):
    spy = TrainSpy(monkeypatch)
    rows = run_models(synthetic, 100, seed=0, protocol=PROTOCOL, ctx=ctx)
    assert [r["key"]["model"] for r in rows] == ["A", "B", "C"]
    assert len(spy.calls) == 3  # Model A trained once, and reused as C's teacher
    for row in rows:
        assert 0 <= row["test_acc"] <= 1
        assert row["key"]["m"] == 100 and row["key"]["seed"] == 0
        assert row["key"]["epochs"] == 1 and row["key"]["data"] == synthetic.fingerprint
        assert row["device"] == "cpu" and row["profile"] == "test"
        assert row["data_source"] == synthetic.source and row["git_rev"]
        assert row["threads"] == torch.get_num_threads() and row["torch"] == torch.__version__
        assert len(row["history"]) == 1 and row["wall_s"] >= 0
    a, b, c = rows
    assert a["label_acc"] is None and a["n_inferred"] == 0
    for row in (b, c):
        assert 0 <= row["label_acc"] <= 1
        assert row["n_inferred"] == synthetic.n_train - 100
    assert b["key"]["method"] == "kmeans" and b["key"]["backbone"] == "effnet-lite0"
    assert c["key"]["method"] == "cnn" and c["key"]["backbone"] == "none"
    assert b["key"]["weight"] == c["key"]["weight"] == PROTOCOL.weight
    assert a["key"]["weight"] == 1.0
    # all three are in the store
    assert len(ctx.store.rows()) == 3

    # asking again returns the stored rows without training or embedding anything
    forbid_training(monkeypatch)
    again = run_models(synthetic, 100, seed=0, protocol=PROTOCOL, ctx=ctx)
    assert again == rows
    assert len(ctx.store.rows()) == 3


def test_model_c_reuses_model_a(synthetic, ctx, monkeypatch):
    spy = TrainSpy(monkeypatch)
    (a,) = run_models(synthetic, 100, seed=1, models=["A"], protocol=PCA_PROTOCOL, ctx=ctx)
    assert len(spy.calls) == 1 and "Model A" in spy.calls[0]
    (c,) = run_models(synthetic, 100, seed=1, models=["C"], protocol=PCA_PROTOCOL, ctx=ctx)
    assert len(spy.calls) == 2 and "Model C" in spy.calls[1]
    # C's labels are the cached Model A's predictions on the unknown images
    weights = ArrayCache(ctx.cache_dir).load("models", run_key(synthetic, 100, 1, "A",
                                                               PCA_PROTOCOL))
    teacher = exp._model_from_arrays(weights, "report", "cpu")
    _, unknown = split_known(synthetic.y_train, 100, 1)
    guesses = predict_proba(teacher, synthetic.x_train[unknown], device="cpu").argmax(1)
    assert c["label_acc"] == pytest.approx((guesses == synthetic.y_train[unknown]).mean(),
                                           abs=1e-5)
    assert len(ctx.store.rows()) == 2


def test_model_a_retrained_when_its_weights_are_gone(synthetic, ctx, monkeypatch):
    (a,) = run_models(synthetic, 100, seed=2, models=["A"], protocol=PCA_PROTOCOL, ctx=ctx)
    for path in (ctx.cache_dir / "models").iterdir():
        path.unlink()
    spy = TrainSpy(monkeypatch)
    rows = run_models(synthetic, 100, seed=2, models=["A", "C"], protocol=PCA_PROTOCOL, ctx=ctx)
    assert len(spy.calls) == 2  # A again (for C's labels), then C
    assert rows[0] == a  # the stored row stays the row of record
    assert len(ctx.store.rows()) == 2


def test_model_b_from_pca_features(synthetic, ctx, monkeypatch):
    # the real PCA of 3072 pixels costs tens of seconds on a small CPU: fit it on every
    # eighth pixel instead, and check that B asks for the report's PCA of the train images
    asked = []

    def small_pca(images, n_components, whiten, seed):
        asked.append((images is synthetic.x_train, n_components, whiten))
        return exp_fit_pca(images[:, ::8, ::8], n_components, whiten=whiten, seed=seed)

    exp_fit_pca = exp.fit_pca
    monkeypatch.setattr(exp, "fit_pca", small_pca)
    (b,) = run_models(synthetic, 100, seed=0, models=["B"], protocol=PCA_PROTOCOL, ctx=ctx)
    assert b["key"]["backbone"] == "pca" and b["key"]["method"] == "logreg"
    assert asked == [(True, 0.8, True)]
    assert b["label_acc"] > 0.5  # class colours are easy for PCA + logistic regression


def test_sweep_resumes(synthetic, ctx, monkeypatch):
    spy = TrainSpy(monkeypatch)
    frame = sweep(synthetic, [50, 120], [0], models=["A", "C"], protocol=PCA_PROTOCOL, ctx=ctx)
    assert len(spy.calls) == 4
    assert sorted(zip(frame["m"], frame["model"])) == [(50, "A"), (50, "C"), (120, "A"),
                                                       (120, "C")]
    assert frame["test_acc"].between(0, 1).all()
    forbid_training(monkeypatch)
    again = sweep(synthetic, [50, 120], [0], models=["A", "C"], protocol=PCA_PROTOCOL, ctx=ctx)
    # the same table, column order included, whether the runs were trained or read back
    assert list(again.columns) == list(frame.columns)
    assert again.drop(columns="history").equals(frame.drop(columns="history"))
    assert again["history"].tolist() == frame["history"].tolist()
    assert len(ctx.store.rows()) == 4


def test_different_protocols_are_different_runs(synthetic, ctx, monkeypatch):
    run_models(synthetic, 100, seed=0, models=["A"], protocol=PCA_PROTOCOL, ctx=ctx)
    spy = TrainSpy(monkeypatch)
    run_models(synthetic, 100, seed=0, models=["A"],
               protocol=Protocol(epochs=1, batch_size=32, backbone="pca", method="logreg"),
               ctx=ctx)
    assert len(spy.calls) == 1
    assert len(ctx.store.rows()) == 2


@pytest.mark.parametrize("models", [["D"], ["A", "Z"], [], "E"])
def test_unknown_model_refused(synthetic, ctx, models):
    with pytest.raises(UnknownModelError) as info:
        run_models(synthetic, 100, models=models, protocol=PCA_PROTOCOL, ctx=ctx)
    for name in MODELS:
        assert name in str(info.value)
    assert not ctx.store.path.exists()


@pytest.mark.parametrize("m", [0, 300, -1, 2.5])
def test_bad_m_refused(synthetic, ctx, m):
    with pytest.raises(ValueError, match="M="):
        run_models(synthetic, m, protocol=PCA_PROTOCOL, ctx=ctx)
    with pytest.raises(ValueError, match="M="):
        sweep(synthetic, [50, m], [0], protocol=PCA_PROTOCOL, ctx=ctx)
    assert not ctx.store.path.exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs=0"),
    ({"epochs": 2.0}, "epochs=2.0"),
    ({"batch_size": -1}, "batch_size=-1"),
    ({"weight": 0}, "weight=0"),
    ({"weight": 1.5}, "weight=1.5"),
    ({"method": "magic"}, "magic"),
    ({"arch": "resnet"}, "resnet"),
    ({"backbone": "alexnet"}, "alexnet"),
])
def test_protocol_validation(kwargs, match):
    with pytest.raises((ValueError, KeyError), match=match):
        Protocol(**kwargs)


def test_protocol_accepts_pca_and_defaults():
    assert Protocol(backbone="pca").backbone == "pca"
    assert Protocol().epochs == 50 and Protocol().weight == 0.1


def test_stored_runs_reads_only_what_is_stored(synthetic, ctx, monkeypatch):
    """Chapter 11 and chapter 6's precision check read the store and never train."""
    sweep(synthetic, [50], [0, 1], models=["A"], protocol=PCA_PROTOCOL, ctx=ctx)
    forbid_training(monkeypatch)
    frame = exp.stored_runs(synthetic, [50, 120], [0, 1, 2], ["A", "C"], PCA_PROTOCOL, ctx.store)
    assert sorted(zip(frame["m"], frame["seed"], frame["model"])) == [(50, 0, "A"), (50, 1, "A")]
    other = exp.stored_runs(synthetic, [50], [0, 1], ["A"],
                            Protocol(epochs=1, batch_size=64, method="logreg", backbone="pca",
                                     precision="fp32"), ctx.store)
    assert other.empty  # another precision is another run


def test_a_context_that_does_not_train_leaves_missing_runs_out(synthetic, ctx, monkeypatch):
    """The published profile renders from the store: a missing run is named, never trained."""
    sweep(synthetic, [50], [0], models=["A"], protocol=PCA_PROTOCOL, ctx=ctx)
    forbid_training(monkeypatch)
    reader = Context(store=ctx.store, cache_dir=ctx.cache_dir, device="cpu", profile="published",
                     progress=False, train_missing=False)
    with pytest.warns(exp.MissingRunWarning,
                      match=r"3 run\(s\).*Model C, M=50, seed 0; Model A, M=120"):
        frame = sweep(synthetic, [50, 120], [0], models=["A", "C"], protocol=PCA_PROTOCOL,
                      ctx=reader)
    assert list(zip(frame["m"], frame["model"])) == [(50, "A")]
    with pytest.raises(exp.MissingRunError, match=r"Model C at M=50, seed 0 is not in the "
                       r"results store.*semisup sweep --profile published -p M_list '\[50\]'"):
        run_models(synthetic, 50, 0, ["A", "C"], PCA_PROTOCOL, reader)
    assert len(ctx.store.rows()) == 1  # nothing was added
