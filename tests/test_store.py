"""The results store: one JSON line per run; crashes and concurrent writers lose nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from semisup_utils.store import ResultsStore, default_results_dir, run_id


def key(i, model="A"):
    return {"m": 100 + i, "model": model, "seed": 0}


def test_add_find_frame(tmp_path):
    store = ResultsStore(tmp_path / "results")
    assert store.rows() == [] and store.find(key(0)) is None
    row = store.add(key(0), {"test_acc": 0.5, "history": [{"loss": 2.0}]})
    store.add(key(1, "B"), {"test_acc": 0.7, "history": []})
    assert row == {"key": key(0), "test_acc": 0.5, "history": [{"loss": 2.0}]}
    assert store.find(key(0)) == row
    assert store.find({"seed": 0, "model": "A", "m": 100}) == row  # field order is irrelevant
    assert store.find(key(0, "C")) is None
    frame = store.frame()
    assert list(frame["model"]) == ["A", "B"] and list(frame["m"]) == [100, 101]
    assert list(frame["test_acc"]) == [0.5, 0.7]
    lines = store.path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["key"] == key(1, "B")


def test_other_values_are_stored_as_json(tmp_path):
    store = ResultsStore(tmp_path)
    row = store.add({"m": np.int64(5)}, {"acc": np.float64(0.25), "path": tmp_path})
    assert store.rows() == [row]
    assert row["acc"] == 0.25 and row["path"] == str(tmp_path)


def test_duplicate_add_returns_existing_row_and_writes_nothing(tmp_path):
    store = ResultsStore(tmp_path)
    first = store.add(key(0), {"test_acc": 0.5})
    before = store.path.read_bytes()
    again = store.add(dict(reversed(list(key(0).items()))), {"test_acc": 0.9})
    assert again == first and again["test_acc"] == 0.5
    assert store.path.read_bytes() == before


def test_default_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMISUP_RESULTS", str(tmp_path / "elsewhere"))
    assert ResultsStore().path == tmp_path / "elsewhere" / "runs.jsonl"
    monkeypatch.delenv("SEMISUP_RESULTS")
    assert default_results_dir().name == "results"


def test_conftest_keeps_tests_out_of_the_repository():
    from pathlib import Path

    repo_results = Path(__file__).absolute().parents[1] / "results"
    assert default_results_dir() != repo_results
    assert os.environ["SEMISUP_CACHE"] and os.environ["SEMISUP_RESULTS"]


def test_truncated_last_line_is_skipped_and_the_next_add_starts_fresh(tmp_path):
    store = ResultsStore(tmp_path)
    for i in range(3):
        store.add(key(i), {"test_acc": i / 10})
    with open(store.path, "a") as handle:  # a crash half-way through writing a row
        handle.write(json.dumps({"key": key(3), "test_acc": 0.3})[:25])
    with pytest.warns(UserWarning, match=r"runs.jsonl:4 is not a complete row"):
        rows = store.rows()
    assert [r["key"] for r in rows] == [key(i) for i in range(3)]
    with pytest.warns(UserWarning):
        store.add(key(3), {"test_acc": 0.33})
    lines = store.path.read_text().splitlines()
    assert len(lines) == 5
    assert json.loads(lines[4]) == {"key": key(3), "test_acc": 0.33}
    with pytest.warns(UserWarning):
        rows = store.rows()
    assert [r["key"] for r in rows] == [key(i) for i in range(4)]
    assert [r["test_acc"] for r in rows] == [0.0, 0.1, 0.2, 0.33]


def run_python(code, *args):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


WRITER = """
    import sys, time
    from semisup_utils.store import ResultsStore
    store = ResultsStore(sys.argv[1])
    i = 0
    while True:  # a long sweep: a row after every run, until killed
        store.add({"i": i, "model": "A"}, {"payload": "x" * 500, "i": i})
        print(i, flush=True)
        i += 1
        if i >= 30:
            time.sleep(0.001)
"""


def test_sigkill_mid_run_leaves_every_earlier_row(tmp_path):
    writer = run_python(WRITER, tmp_path)
    try:
        reported = []
        deadline = time.monotonic() + 60
        while len(reported) < 40 and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            reported.append(int(line))
        assert len(reported) >= 40, writer.stderr.read()
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
        writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL
    store = ResultsStore(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a partial last line is allowed; it is skipped
        rows = store.rows()
    found = [r["key"]["i"] for r in rows]
    assert set(reported) <= set(found)  # everything it said was stored is there
    assert found == list(range(len(found)))  # in order, no gap, no duplicate
    assert all(r["payload"] == "x" * 500 for r in rows)
    # the killed writer's lock is gone: the store takes new rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store.add({"i": -1, "model": "A"}, {"after": "kill"})
        assert store.find({"i": -1, "model": "A"})["after"] == "kill"


APPENDER = """
    import sys, time
    from pathlib import Path
    from semisup_utils.store import ResultsStore
    store = ResultsStore(sys.argv[1])
    start, go = int(sys.argv[2]), Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.005)
    # both begin with the shared keys 25..49, so they race for the same rows
    own = range(0, 25) if start == 0 else range(50, 75)
    for i in [*range(25, 50), *own]:
        store.add({"i": i}, {"writer": start})
    print("done", flush=True)
"""


def test_two_processes_append_concurrently(tmp_path):
    go = tmp_path / "go"
    writers = [run_python(APPENDER, tmp_path / "results", start, go) for start in (0, 25)]
    time.sleep(0.3)  # let both start and wait at the line
    go.touch()
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert out.strip() == "done"
    store = ResultsStore(tmp_path / "results")
    lines = store.path.read_text().splitlines()
    rows = [json.loads(line) for line in lines]  # every line whole: no interleaving
    ids = [r["key"]["i"] for r in rows]
    assert sorted(ids) == list(range(75))  # 0..49 and 25..74: none lost, none twice
    assert len({run_id(r["key"]) for r in rows}) == len(rows)
    for r in rows:
        assert r["writer"] in ((0,) if r["key"]["i"] < 25 else (25,) if r["key"]["i"] >= 50
                               else (0, 25))


@pytest.mark.parametrize("line", ['{"foo": 1}', "null", "[1, 2]", '{"key": 3}'])
def test_json_that_is_not_a_row_is_skipped_with_a_warning(tmp_path, line):
    from semisup_utils.store import ResultsStore

    store = ResultsStore(tmp_path)
    store.add({"m": 1}, {"test_acc": 0.5})
    with open(store.path, "a") as handle:
        handle.write(line + "\n")
    with pytest.warns(UserWarning, match=":2 is JSON but not a run's row"):
        assert store.find({"m": 1})["test_acc"] == 0.5
    with pytest.warns(UserWarning):
        store.add({"m": 2}, {"test_acc": 0.6})
    with pytest.warns(UserWarning):
        assert [r["key"]["m"] for r in store.rows()] == [1, 2]
