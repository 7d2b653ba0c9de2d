"""Rows the code cannot use (issue 35, items 8-10): an invalid result, a newer schema, a broken
history. Each is named by file:line and reason, counts as missing (so its run is computed
again), is skipped with a warning by every reader, and is moved to a quarantine file by
``semisup store check --repair``, in runs.jsonl and labels.jsonl alike."""
from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import pytest

from semisup_utils import cli
from semisup_utils.study.store import ResultsStore, check

RUN_KEY = {"schema": 2, "data": "d", "n_train": 100, "m": 10, "seed": 0,
           "recipe": {"teacher": "none"},
           "budget": {"policy": "epochs", "amount": 2, "batch_size": 32}}
LABEL_KEY = {"schema": 2, "kind": "labels", "data": "d", "n_train": 100, "method": "kmeans",
             "views": [["pca", 32]], "m": 10, "seed": 0, "labels_version": 1}
GOOD_RUN = {"name": "A", "test_acc": 0.41, "label_acc": None, "wall_s": 3.0,
            "history": [{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5, "test_acc": 0.41}],
            "device": "cpu"}
GOOD_LABELS = {"label_acc": 0.6, "ece": 0.1, "seconds": 0.5, "n_unknown": 90}


def line(key, result, raw=False):
    return (result if raw else json.dumps({"key": key, **result})) + "\n"


def key_at(seed):
    return {**RUN_KEY, "seed": seed}


def write(path: Path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))


# ----------------------------------------------------------------------------- item 8
BAD_RESULTS = {
    "null": {"test_acc": None}, "a string": {"test_acc": "0.7"}, "NaN": {"test_acc": "NaN"},
    "above 1": {"test_acc": 1.5}, "negative": {"test_acc": -0.1}, "a bool": {"test_acc": True},
    "missing": {"test_acc": "DROP"}, "infinite label_acc": {"label_acc": "Infinity"},
    "negative wall_s": {"wall_s": -1.0}}


def _with(result, change):
    out = dict(result)
    for name, value in change.items():
        if value == "DROP":
            del out[name]
        else:
            out[name] = value
    return out


def _json_line(key, result):
    # NaN and Infinity as Python's json writes them (not valid JSON elsewhere, but read back)
    text = json.dumps({"key": key, **result})
    return text.replace('"NaN"', "NaN").replace('"Infinity"', "Infinity") + "\n"


@pytest.mark.parametrize("case", BAD_RESULTS)
def test_a_row_with_an_invalid_result_counts_as_missing_and_check_names_it(tmp_path, capsys,
                                                                           case):
    store = ResultsStore(tmp_path)
    write(store.path, [line(key_at(0), GOOD_RUN),
                       _json_line(key_at(1), _with(GOOD_RUN, BAD_RESULTS[case]))])
    with pytest.warns(UserWarning, match=r"runs\.jsonl:2: .*skipping it") as caught:
        assert store.find(key_at(1)) is None  # missing: its run is trained again
    field = next(iter(BAD_RESULTS[case]))
    assert field in str(caught[0].message)
    assert store.find(key_at(0))["test_acc"] == 0.41
    assert [number for number, _, _ in check(store)] == [2]
    assert cli.main(["store", "check", "--results", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{store.path}:2: " in out and field in out
    # once the run is computed again, its new row is the one found
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store.add(key_at(1), {**GOOD_RUN, "test_acc": 0.5})
        assert store.find(key_at(1))["test_acc"] == 0.5


def test_add_refuses_a_row_that_would_be_skipped_when_read(tmp_path):
    store = ResultsStore(tmp_path)
    with pytest.raises(ValueError, match="test_acc"):
        store.add(RUN_KEY, {**GOOD_RUN, "test_acc": float("nan")})
    assert not store.path.exists() or store.path.read_text() == ""


def test_null_is_kept_where_a_value_is_undefined(tmp_path):
    """Model A infers no labels (label_acc null); embedding seconds not cached (embed_s null)."""
    runs, labels = ResultsStore(tmp_path), ResultsStore(tmp_path, "labels.jsonl")
    runs.add(RUN_KEY, {**GOOD_RUN, "label_acc": None, "kept_label_acc": None})
    labels.add(LABEL_KEY, {**GOOD_LABELS, "embed_s": None, "test_acc": 0.5})
    assert check(runs) == [] and check(labels) == []


def test_the_committed_stores_rows_are_all_valid():
    """The validation refuses nothing the project stored (every row of results/, and the
    schema-1 store of the migration test once migrated)."""
    from semisup_utils.study.store import parse_line

    root = Path(__file__).resolve().parents[1]
    texts = [(p.name, t) for p in sorted((root / "results").glob("*.jsonl"))
             for t in p.read_text().splitlines()]
    with gzip.open(root / "tests" / "data" / "runs-schema1.jsonl.gz", "rt") as handle:
        texts += [("runs-schema1", t) for t in handle]
    problems = [(name, problem) for name, text in texts
                if (problem := parse_line(text)[1])]
    assert texts and problems == []


# ----------------------------------------------------------------------------- item 9
ODD_ROWS = {
    "newer schema": (line({**RUN_KEY, "schema": 3}, GOOD_RUN), "newer"),
    "schema 'two'": (line({**RUN_KEY, "schema": "two"}, GOOD_RUN), "schema"),
    "history a number": (line(RUN_KEY, {**GOOD_RUN, "history": 5}), "history"),
    "history of strings": (line(RUN_KEY, {**GOOD_RUN, "history": ["a"]}), "history"),
    "epoch not an integer": (line(RUN_KEY, {**GOOD_RUN, "history": [{"epoch": "x"}] * 200}),
                             "epoch"),
    "schema 1 without its fields": (line({"kind": "recipe", "m": 1}, {"test_acc": 0.5}),
                                    "schema 1"),
}


def _odd_store(tmp_path, case):
    store = ResultsStore(tmp_path)
    text, reason = ODD_ROWS[case]
    write(store.path, [line(key_at(0), GOOD_RUN), text, line(key_at(1), GOOD_RUN)])
    return store, reason


@pytest.mark.parametrize("case", ODD_ROWS)
def test_a_row_the_code_cannot_read_is_skipped_with_its_line_and_reason(tmp_path, case):
    store, reason = _odd_store(tmp_path, case)
    with pytest.warns(UserWarning, match=rf"runs\.jsonl:2: .*{reason}.*skipping it"):
        rows = store.rows()
    assert [r["key"]["seed"] for r in rows] == [0, 1]
    ((number, problem, _),) = check(store)
    assert number == 2 and reason in problem


@pytest.mark.parametrize("case", ODD_ROWS)
def test_check_repair_migrate_and_merge_survive_it(tmp_path, capsys, case):
    store, reason = _odd_store(tmp_path, case)
    odd = ODD_ROWS[case][0]
    results = ["--results", str(tmp_path)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cli.main(["store", "check", *results]) == 1
        assert f"{store.path}:2: " in capsys.readouterr().out
        # migrate rewrites nothing it cannot read: the odd line stays as it was
        assert cli.main(["store", "migrate", *results]) == 0
        assert store.path.read_text().splitlines()[1] == odd.rstrip("\n")
        # merge takes the readable rows of another folder and leaves the odd one out
        other = tmp_path / "other"
        assert cli.main(["store", "merge", str(tmp_path), "--results", str(other)]) == 0
        assert [r["key"]["seed"] for r in ResultsStore(other).rows()] == [0, 1]
        assert cli.main(["store", "check", "--repair", *results]) == 0
    out = capsys.readouterr().out
    quarantine = tmp_path / "runs.jsonl.quarantine"
    assert quarantine.read_text() == odd and str(quarantine) in out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["key"]["seed"] for r in store.rows()] == [0, 1]


def test_merge_warns_with_the_line_it_skips(tmp_path):
    there = ResultsStore(tmp_path / "there")
    write(there.path, [line(key_at(0), GOOD_RUN), ODD_ROWS["newer schema"][0]])
    here = ResultsStore(tmp_path / "here")
    with pytest.warns(UserWarning, match=r"there/runs\.jsonl:2: .*newer"):
        assert here.merge(there) == 1


# ----------------------------------------------------------------------------- item 10
def test_check_and_repair_cover_labels_jsonl(tmp_path, capsys):
    runs = ResultsStore(tmp_path)
    labels = ResultsStore(tmp_path, "labels.jsonl")
    write(runs.path, [line(key_at(0), GOOD_RUN)])
    good = line(LABEL_KEY, GOOD_LABELS)
    bad = [line({**LABEL_KEY, "seed": 1}, {**GOOD_LABELS, "label_acc": None}),
           '{"key": {"kind": "labels", "m": 1\n']
    write(labels.path, [good, *bad])
    results = ["--results", str(tmp_path)]
    assert cli.main(["store", "check", *results]) == 1
    out = capsys.readouterr().out
    assert f"{labels.path}:2: " in out and "label_acc" in out and f"{labels.path}:3: " in out
    assert cli.main(["store", "check", "--repair", *results]) == 0
    capsys.readouterr()
    assert labels.path.read_text() == good
    assert (tmp_path / "labels.jsonl.quarantine").read_text() == "".join(bad)
    assert not (tmp_path / "runs.jsonl.quarantine").exists()  # nothing wrong there
    assert cli.main(["store", "check", *results]) == 0
    out = capsys.readouterr().out
    assert f"{runs.path}: 1 rows" in out and f"{labels.path}: 1 rows" in out


def test_a_run_whose_row_has_no_test_accuracy_is_missing_to_the_chapters(synthetic, tmp_path):
    """What issue 35 saw: a row with test_acc null was read as a run, so chapter 6 showed one
    seed as the mean. Now the chapters' reader leaves it out, and the published profile names
    it as missing (another profile trains it again)."""
    from dataclasses import replace

    from semisup_utils.study.executors import stored_rows
    from semisup_utils.study.recipes import RECIPES
    from semisup_utils.study.runs import Context, MissingRunError, Run, execute, plan, run_key
    from semisup_utils.training.budget import Budget

    budget = Budget.report(1, batch_size=64)
    store = ResultsStore(tmp_path / "results")
    good, bad = Run(50, 0, RECIPES["A"], budget), Run(50, 1, RECIPES["A"], budget)
    write(store.path, [line(run_key(synthetic, good), GOOD_RUN),
                       line(run_key(synthetic, bad), {**GOOD_RUN, "test_acc": None})])
    ctx = Context(store=store, cache_dir=tmp_path / "cache", device="cpu", progress=False)
    with pytest.warns(UserWarning, match=r"runs\.jsonl:2: test_acc is None"):
        frame = stored_rows(synthetic, plan([50], [0, 1], [RECIPES["A"]], budget), store)
    assert list(frame["seed"]) == [0]
    reader = replace(ctx, profile="published", train_missing=False)
    with pytest.raises(MissingRunError, match="seed 1"):
        execute(synthetic, bad, reader)
