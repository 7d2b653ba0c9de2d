"""One run path: the report's Models A, B and C and every other recipe through runs.execute,
over the results store: rows, resumption, Model A reuse, budgets, validation.

Runs on 300 generated training images (colour depends on the class) with M=100 and one epoch,
so it needs no data files.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from semisup_utils.base.cache import ArrayCache
from semisup_utils.data.dataset import split_known
from semisup_utils.study import runs as runs_module
from semisup_utils.study.executors import run_grid, stored_rows
from semisup_utils.study.recipes import RECIPES, get_recipe, with_views
from semisup_utils.teachers import teachers
from semisup_utils.training.budget import Budget
from semisup_utils.study.runs import (Context, MissingRunError, MissingRunWarning, Run, execute,
                                      plan, run_key)
from semisup_utils.study.store import ResultsStore
from semisup_utils.training.train import predict_proba

REPORT = Budget.report(1, batch_size=64)
A, C = RECIPES["A"], RECIPES["C"]
B = RECIPES["B"]                                                   # K-means on Lite0 @32
B_PCA = with_views(replace(RECIPES["B"], teacher="logreg"), [("pca", 32)])


class TrainSpy:
    """Wraps runs.train, recording each call's description."""

    def __init__(self, monkeypatch):
        self.calls = []
        real = runs_module.train

        def spy(*args, **kwargs):
            self.calls.append(kwargs["desc"])
            return real(*args, **kwargs)

        monkeypatch.setattr(runs_module, "train", spy)


def forbid_training(monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(runs_module, "train", no_training)
    monkeypatch.setattr(teachers, "embed", no_training)
    monkeypatch.setattr(teachers, "fit_pca", no_training)


def grid(data, ms, seeds, recipes, ctx, budget=REPORT):
    return run_grid(data, plan(ms, seeds, recipes, budget), ctx)


def test_models_abc_rows(synthetic, ctx, monkeypatch):
    spy = TrainSpy(monkeypatch)
    rows = [execute(synthetic, Run(100, 0, r, REPORT), ctx) for r in (A, B, C)]
    assert [r["name"] for r in rows] == ["A", "B", "C"]
    assert len(spy.calls) == 3  # Model A trained once, and reused as C's teacher
    for row in rows:
        assert 0 <= row["test_acc"] <= 1
        assert row["key"]["m"] == 100 and row["key"]["seed"] == 0
        assert row["key"]["budget"]["policy"] == "epochs" and row["key"]["budget"]["amount"] == 1
        assert row["key"]["data"] == synthetic.fingerprint and row["key"]["schema"] == 2
        assert row["device"] == "cpu" and row["profile"] == "test"
        assert row["data_source"] == synthetic.source and row["git_rev"] and row["code"]
        assert row["threads"] == torch.get_num_threads() and row["torch"] == torch.__version__
        assert row["numerics"] == "fp32"  # precision auto on the CPU: what it computed in
        assert len(row["history"]) == 1 and row["wall_s"] >= 0
    a, b, c = rows
    assert a["label_acc"] is None and a["n_inferred"] == 0
    # the report's protocol: A passes once over its 100 images, B and C over all 300
    assert a["total_steps"] == 2 and b["total_steps"] == c["total_steps"] == 5
    for row in (b, c):
        assert 0 <= row["label_acc"] <= 1
        assert row["n_inferred"] == synthetic.n_train - 100
    assert b["key"]["recipe"]["teacher"] == "kmeans"
    assert b["key"]["recipe"]["views"] == [["effnet-lite0", 32]]
    assert c["key"]["recipe"]["teacher"] == "cnn" and c["key"]["recipe"]["views"] == []
    assert b["key"]["recipe"]["weight"] == c["key"]["recipe"]["weight"] == 0.1
    assert a["key"]["recipe"]["weight"] == 1.0
    assert len(ctx.store.rows()) == 3

    # asking again returns the stored rows without training or embedding anything
    forbid_training(monkeypatch)
    again = [execute(synthetic, Run(100, 0, r, REPORT), ctx) for r in (A, B, C)]
    assert again == rows
    assert len(ctx.store.rows()) == 3


@pytest.mark.slow
def test_model_c_reuses_model_a(synthetic, ctx, monkeypatch):
    spy = TrainSpy(monkeypatch)
    execute(synthetic, Run(100, 1, A, REPORT), ctx)
    assert spy.calls == ["A, M=100, seed 1"]
    c = execute(synthetic, Run(100, 1, C, REPORT), ctx)
    assert spy.calls[1:] == ["C, M=100, seed 1"]
    # C's labels are the cached Model A's predictions on the unknown images
    weights = ArrayCache(ctx.cache_dir).load("models", run_key(synthetic, Run(100, 1, A, REPORT)))
    teacher = runs_module._model_from_arrays(weights, "report", "cpu")
    _, unknown = split_known(synthetic.y_train, 100, 1)
    guesses = predict_proba(teacher, synthetic.x_train[unknown], device="cpu").argmax(1)
    assert c["label_acc"] == pytest.approx((guesses == synthetic.y_train[unknown]).mean(),
                                           abs=1e-5)
    assert len(ctx.store.rows()) == 2


@pytest.mark.slow
def test_model_c_first_trains_and_stores_model_a(synthetic, ctx, monkeypatch):
    spy = TrainSpy(monkeypatch)
    execute(synthetic, Run(100, 3, C, REPORT), ctx)
    assert spy.calls == ["A, M=100, seed 3", "C, M=100, seed 3"]
    assert sorted(r["name"] for r in ctx.store.rows()) == ["A", "C"]  # A with its curve
    execute(synthetic, Run(100, 3, A, REPORT), ctx)
    assert len(spy.calls) == 2  # not trained twice


@pytest.mark.slow
def test_model_a_retrained_when_its_weights_are_gone(synthetic, ctx, monkeypatch):
    a = execute(synthetic, Run(100, 2, A, REPORT), ctx)
    for path in (ctx.cache_dir / "models").iterdir():
        path.unlink()
    spy = TrainSpy(monkeypatch)
    rows = [execute(synthetic, Run(100, 2, r, REPORT), ctx) for r in (A, C)]
    assert len(spy.calls) == 2  # A again (for C's labels), then C
    assert rows[0] == a  # the stored row stays the row of record
    assert len(ctx.store.rows()) == 2


def test_model_b_from_pca_features(synthetic, ctx, monkeypatch):
    # the real PCA of 3072 pixels costs tens of seconds on a small CPU: fit it on every
    # eighth pixel instead, and check that B asks for the report's PCA of the train images
    asked = []
    real_pca = teachers.fit_pca

    def small_pca(images, n_components, whiten, seed):
        asked.append((images is synthetic.x_train, n_components, whiten))
        return real_pca(images[:, ::8, ::8], n_components, whiten=whiten, seed=seed)

    monkeypatch.setattr(teachers, "fit_pca", small_pca)
    b = execute(synthetic, Run(100, 0, B_PCA, REPORT), ctx)
    assert b["key"]["recipe"]["views"] == [["pca", 32]]
    assert b["key"]["recipe"]["teacher"] == "logreg"
    assert asked == [(True, 0.8, True)]
    assert b["label_acc"] > 0.5  # class colours are easy for PCA + logistic regression


@pytest.mark.slow
def test_grid_resumes(synthetic, ctx, monkeypatch):
    spy = TrainSpy(monkeypatch)
    frame = grid(synthetic, [50, 120], [0], [A, C], ctx)
    assert len(spy.calls) == 4
    assert list(zip(frame["m"], frame["recipe"])) == [(50, "A"), (50, "C"), (120, "A"),
                                                      (120, "C")]
    assert frame["test_acc"].between(0, 1).all()
    forbid_training(monkeypatch)
    again = grid(synthetic, [50, 120], [0], [A, C], ctx)
    # the same table, column order included, whether the runs were trained or read back
    assert list(again.columns) == list(frame.columns)
    assert again.drop(columns=["history", "views"]).equals(frame.drop(columns=["history",
                                                                             "views"]))
    assert len(ctx.store.rows()) == 4


@pytest.mark.slow
def test_different_budgets_are_different_runs(synthetic, ctx, monkeypatch):
    execute(synthetic, Run(100, 0, A, REPORT), ctx)
    spy = TrainSpy(monkeypatch)
    execute(synthetic, Run(100, 0, A, Budget.report(1, batch_size=32)), ctx)
    execute(synthetic, Run(100, 0, A, Budget.steps(2, batch_size=64)), ctx)  # same steps, other
    assert len(spy.calls) == 2                                               # policy: other run
    assert len(ctx.store.rows()) == 3


@pytest.mark.slow
def test_equal_compute_gives_every_model_the_same_steps(synthetic, ctx):
    budget = Budget.steps(7, batch_size=64)
    rows = [execute(synthetic, Run(100, 0, r, budget), ctx) for r in (A, C)]
    assert [r["total_steps"] for r in rows] == [7, 7]
    assert [r["history"][-1]["step"] for r in rows] == [7, 7]


@pytest.mark.parametrize("m", [0, 300, -1, 2.5])
def test_bad_m_refused(synthetic, ctx, m):
    with pytest.raises(ValueError, match="M="):
        execute(synthetic, Run(m, 0, A, REPORT), ctx)
    with pytest.raises(ValueError, match="M="):
        grid(synthetic, [50, m], [0], [A], ctx)
    assert not ctx.store.path.exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"policy": "epochs", "amount": 0}, "epochs=0"),
    ({"policy": "steps", "amount": 2.0}, "steps=2.0"),
    ({"policy": "hours", "amount": 2}, "policy='hours'"),
    ({"policy": "epochs", "amount": 1, "batch_size": -1}, "batch_size=-1"),
    ({"policy": "epochs", "amount": 1, "arch": "resnet"}, "resnet"),
    ({"policy": "epochs", "amount": 1, "precision": "fp8"}, "fp8"),
    ({"policy": "epochs", "amount": 1, "schedule": "cosine"}, "cosine"),
])
def test_budget_validation(kwargs, match):
    with pytest.raises((ValueError, KeyError), match=match):
        Budget(**kwargs)


@pytest.mark.parametrize("name", ["D", "B-reprot"])
def test_unknown_recipe_refused_with_the_known_ones(name):
    with pytest.raises(KeyError, match="known recipes: A, B, C, ceiling"):
        get_recipe(name)


def test_old_recipe_names_still_work():
    assert get_recipe("B-report") is RECIPES["B"] and get_recipe("C-report") is RECIPES["C"]


@pytest.mark.slow
def test_stored_rows_reads_only_what_is_stored(synthetic, ctx, monkeypatch):
    """The conclusions and chapter 6's precision check read the store and never train."""
    grid(synthetic, [50], [0, 1], [A], ctx)
    forbid_training(monkeypatch)
    frame = stored_rows(synthetic, plan([50, 120], [0, 1, 2], [A, C], REPORT), ctx.store)
    assert sorted(zip(frame["m"], frame["seed"], frame["recipe"])) == [(50, 0, "A"),
                                                                       (50, 1, "A")]
    other = stored_rows(synthetic, plan([50], [0, 1], [A], replace(REPORT, precision="fp32")),
                        ctx.store)
    assert other.empty  # another precision is another run


def test_a_context_that_does_not_train_leaves_missing_runs_out(synthetic, ctx, monkeypatch):
    """The published profile renders from the store: a missing run is named, never trained."""
    grid(synthetic, [50], [0], [A], ctx)
    forbid_training(monkeypatch)
    reader = replace(ctx, profile="published", train_missing=False)
    with pytest.warns(MissingRunWarning, match=r"3 run\(s\).*C, M=50, seed 0; A, M=120"):
        frame = grid(synthetic, [50, 120], [0], [A, C], reader)
    assert list(zip(frame["m"], frame["recipe"])) == [(50, "A")]
    with pytest.raises(MissingRunError, match=r"C, M=50, seed 0 \(1 epochs.*is not in the "
                       r"results store.*semisup sweep --profile published -p train_missing true "
                       r"-p M_list '\[50\]'"):  # the published profile's sweep trains nothing
        execute(synthetic, Run(50, 0, C, REPORT), reader)
    assert len(ctx.store.rows()) == 1  # nothing was added


def test_a_single_run_the_store_lacks_is_refused_naming_the_command(synthetic, ctx,
                                                                   monkeypatch):
    """Chapter 5 (one M, one seed) at the published profile, on data whose runs the store
    lacks: the documented refusal naming the command that computes them, with the parameters
    given beside the profile, not an empty table (issue 35, item 11: "KeyError: 'recipe'" in
    its cell 6). A grid of more seeds or M still leaves its missing runs out (above)."""
    from semisup_utils.book import notebook

    forbid_training(monkeypatch)
    P = notebook.parameters({"profile": "published", "n_train": 200, "n_test": 100, "M": 50,
                             "seed": 0})
    reader = replace(notebook.context(P), store=ctx.store)
    runs = notebook.report_runs(P, ms=[P["M"]], seeds=[P["seed"]], models=["A", "B", "C"])
    with pytest.raises(MissingRunError) as info:
        run_grid(synthetic, runs, reader)
    message = str(info.value)
    assert "3 run(s)" in message and "A, M=50, seed 0" in message and "C, M=50" in message
    assert ("`semisup sweep --profile published -p train_missing true -p n_train 200 -p n_test "
            "100 -p M_list '[50]' -p seeds '[0]' -p models '[\"A\", \"B\", \"C\"]'`"
            ) in message, message
    assert "rerun with -p train_missing true" in message
    assert ctx.store.rows() == []


@pytest.mark.slow
def test_the_pool_of_processes_gives_the_rows_of_the_local_executor(synthetic, tmp_path):
    """Two one-thread runs side by side (a 2-core machine's every core), same numbers."""
    def context(name):
        return Context(store=ResultsStore(tmp_path / name), cache_dir=tmp_path / "cache",
                       device="cpu", progress=False)

    torch.set_num_threads(1)
    runs = plan([50, 120], [0], [A, C], REPORT)
    local = run_grid(synthetic, runs, context("local"))
    pooled = run_grid(synthetic, runs, context("pool"), executor="processes", workers=2,
                      threads=1)
    assert list(pooled["recipe"]) == list(local["recipe"])
    assert list(pooled["test_acc"]) == list(local["test_acc"])
    def curves(frame):  # the seconds differ, not the numbers
        return [[{k: v for k, v in h.items() if k != "seconds"} for h in hist]
                for hist in frame["history"]]

    assert curves(pooled) == curves(local)


@pytest.mark.slow
def test_the_contexts_max_evals_thins_the_test_curve_but_not_the_run(synthetic, tmp_path):
    """max_evals is observation: fewer test evaluations, the same key and final accuracy."""
    run = Run(100, 0, A, Budget.report(6, batch_size=64))
    rows = []
    for evals in (50, 2):
        ctx = Context(store=ResultsStore(tmp_path / f"r{evals}"), cache_dir=tmp_path / "c",
                      device="cpu", progress=False, max_evals=evals)
        rows.append(execute(synthetic, run, ctx))
    every, thinned = rows
    assert every["key"] == thinned["key"]
    assert sum("test_acc" in h for h in every["history"]) == 6
    assert sum("test_acc" in h for h in thinned["history"]) == 2  # epochs 3 and 6 (the last)
    assert thinned["test_acc"] == every["test_acc"]


@pytest.mark.slow
def test_a_long_step_budget_stores_a_thinned_history(synthetic, ctx):
    """500 steps over M=20 images are 500 one-step epochs: the row keeps its tested epochs,
    its last and about a hundred others, not 500 records."""
    from semisup_utils.study.schema import HISTORY_LIMIT

    row = execute(synthetic, Run(20, 0, A, Budget.steps(500, batch_size=64)), ctx)
    history = row["history"]
    tested = [h for h in history if "test_acc" in h]
    assert history[-1]["epoch"] == 500 and history[-1]["step"] == 500
    assert len(tested) == 50 and tested[-1]["test_acc"] == row["test_acc"]
    assert len(history) <= HISTORY_LIMIT + len(tested)
    assert ctx.store.find(row["key"])["history"] == history


# ----------------------------------------------------------------------------- embed engine
def test_the_contexts_embed_engine_reaches_the_embeddings_and_the_rows_provenance(
        synthetic, ctx, monkeypatch):
    """A profile's embed_engine is what computes every teacher's embeddings (through the
    context, also in a process-pool worker) and is recorded beside the rows it computed."""
    from semisup_utils.book.notebook import context
    from semisup_utils.study.executors import WorkerContext
    from semisup_utils.study.profiles import ParameterError, resolve
    from semisup_utils.study.runs import provenance

    engines = []

    def fake_embed(images, backbone, size, **kwargs):
        engines.append(kwargs["engine"])
        return torch.zeros(len(images), 4).numpy()

    monkeypatch.setattr(teachers, "embed", fake_embed)
    views = [("effnet-lite0", 32)]
    onnx = replace(ctx, embed_engine="onnxruntime")
    teachers.view_features(synthetic, views, 0, ctx)
    teachers.view_features(synthetic, views, 0, onnx, split="test")
    teachers.view_features(synthetic, views, 0, onnx, engine="torch")  # an explicit one wins
    assert engines == ["torch", "onnxruntime", "torch"]
    assert "embed_engine" not in provenance(synthetic, ctx)  # torch rows keep their fields
    assert provenance(synthetic, onnx)["embed_engine"] == "onnxruntime"
    assert WorkerContext.of(onnx, "cpu", 1).context().embed_engine == "onnxruntime"
    assert context(resolve("smoke", embed_engine="onnxruntime")).embed_engine == "onnxruntime"
    assert context(resolve("smoke")).embed_engine == "torch"
    with pytest.raises(ParameterError, match=r"embed_engine='tensorrt'.*onnxruntime"):
        resolve("smoke", embed_engine="tensorrt")
