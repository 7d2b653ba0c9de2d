"""The one-off migration of the store to schema 2 (one run abstraction): no run retrained,
none lost. Checked on a copy of the store as it was before the migration (schema 1, 263 rows,
tests/data/runs-schema1.jsonl.gz)."""
from __future__ import annotations

import gzip
import json
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from semisup_utils.book import notebook
from semisup_utils.study.profiles import resolve
from semisup_utils.study.runs import plan, run_key
from semisup_utils.study.schema import SCHEMA, migrate_row, thin_history
from semisup_utils.study.store import ResultsStore, run_id

OLD = Path(__file__).parent / "data" / "runs-schema1.jsonl.gz"
CIFAR10 = SimpleNamespace(fingerprint="425ba76fb12a43dc1464468210efc651", n_train=50000)


@pytest.fixture
def old_rows():
    with gzip.open(OLD, "rt") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture
def migrated(old_rows, tmp_path):
    with gzip.open(OLD, "rb") as source, open(tmp_path / "runs.jsonl", "wb") as target:
        shutil.copyfileobj(source, target)
    store = ResultsStore(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        count, backup = store.migrate()
    assert count == len(old_rows) and backup.exists()
    return store


def test_every_row_kept_with_its_numbers(old_rows, migrated):
    rows = migrated.rows()
    assert migrated.old_rows == 0  # the rewritten file is read without migrating
    assert len(rows) == len(old_rows) == 263
    assert len({run_id(r["key"]) for r in rows}) == len(rows)  # no two runs merged
    for old, new in zip(old_rows, rows):
        assert new["key"]["schema"] == SCHEMA
        for field in ("test_acc", "label_acc", "wall_s", "device", "git_rev"):
            assert new.get(field) == old.get(field)
        # long histories (a step budget over few images) keep their tested epochs
        assert new["history"] == thin_history(old["history"])


def test_the_published_grids_are_found_under_the_new_keys(old_rows, migrated):
    """The runs the published book renders, built the way the chapters build them."""
    params = resolve("published")
    report = notebook.report_runs(params)
    sweep = plan(params["M_list"], params["sweep_seeds"], notebook.sweep_recipes(params),
                 notebook.sweep_budget(params, 50000))
    assert len(report) == 7 * 3 * 3 and len(sweep) == 3 * (7 * 5 + 1)
    old_acc = {}
    for row in old_rows:
        k = row["key"]
        name = k.get("model") or row["name"]
        old_acc[(name.replace("-report", ""), k["m"], k["seed"], k.get("steps", 0),
                 k.get("epochs", 0), k.get("precision", "auto"))] = row["test_acc"]
    for run in report + sweep:
        row = migrated.find(run_key(CIFAR10, run))
        assert row is not None, run
        b = run.budget
        steps, epochs = (b.amount, 0) if b.policy == "steps" else (0, b.amount)
        m = 0 if run.recipe.name == "ceiling" else run.m
        assert row["test_acc"] == old_acc[(run.recipe.name, m, run.seed, steps, epochs,
                                           b.precision)]


def test_a_store_of_the_old_schema_is_read_migrated_and_says_how_to_rewrite(old_rows, tmp_path):
    with open(tmp_path / "runs.jsonl", "w") as handle:
        handle.write(json.dumps(old_rows[0]) + "\n")
    store = ResultsStore(tmp_path)
    with pytest.warns(UserWarning, match="semisup store migrate"):
        (row,) = store.rows()
    assert row == migrate_row(old_rows[0]) and row["key"]["schema"] == SCHEMA


def test_query_by_fields(migrated):
    a_500 = migrated.query(recipe="A", m=500, policy="epochs", precision="bf16")
    assert sorted(r["key"]["seed"] for r in a_500) == [0, 1, 2]
    assert all(r["name"] == "A" for r in a_500)
    assert {r["key"]["m"] for r in migrated.query(recipe="B", policy="steps", m=[500, 5000],
                                                    amount=19550)} == {500, 5000}
