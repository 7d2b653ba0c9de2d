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

from semisup_utils.study.store import ResultsStore, default_results_dir, run_id


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
    with pytest.warns(UserWarning, match=r"runs.jsonl:4: not JSON"):
        rows = store.rows()
    assert [r["key"] for r in rows] == [key(i) for i in range(3)]
    with warnings.catch_warnings():  # the file was read once: no second warning for it
        warnings.simplefilter("error")
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
    from semisup_utils.study.store import ResultsStore
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
    from semisup_utils.study.store import ResultsStore
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
    from semisup_utils.study.store import ResultsStore

    store = ResultsStore(tmp_path)
    store.add({"m": 1}, {"test_acc": 0.5})
    with open(store.path, "a") as handle:
        handle.write(line + "\n")
    with pytest.warns(UserWarning, match=":2: JSON but not a run's row"):
        assert store.find({"m": 1})["test_acc"] == 0.5
    with warnings.catch_warnings():  # read once: the warning is not repeated for each call
        warnings.simplefilter("error")
        store.add({"m": 2}, {"test_acc": 0.6})
    with pytest.warns(UserWarning):  # the file changed: read again, the line still there
        assert [r["key"]["m"] for r in store.rows()] == [1, 2]


# ----------------------------------------------------------------------------- unwritable stores
def test_check_writable_refuses_a_store_that_cannot_be_made(tmp_path):
    """Checked before training: one StoreWriteError naming the store and the fix."""
    from semisup_utils.study.store import StoreWriteError

    (tmp_path / "file").write_text("")
    store = ResultsStore(tmp_path / "file" / "results")
    with pytest.raises(StoreWriteError) as info:
        store.check_writable()
    message = str(info.value)
    assert str(store.path) in message and "SEMISUP_RESULTS" in message
    assert "nothing was trained" in message


def test_check_writable_refuses_a_full_disk_and_writes_nothing(tmp_path):
    from semisup_utils.study.store import StoreWriteError

    store = ResultsStore(tmp_path / "r")
    store.check_writable()  # a writable store passes ...
    assert not store.path.exists()  # ... and the check leaves no runs.jsonl behind
    assert [p.name for p in store.directory.iterdir() if not p.name.endswith(".lock")] == []
    with pytest.raises(StoreWriteError, match=r"bytes free.*free space"):
        store.check_writable(min_free_bytes=1 << 62)


def test_a_failed_append_names_the_fix_and_keeps_the_row(tmp_path, monkeypatch):
    """The lock file cannot be made after a run finished: one StoreWriteError naming the path
    and the fix, and the row kept in a side file, not lost in a traceback."""
    from semisup_utils.study import store as store_mod

    unsaved = tmp_path / "unsaved.jsonl"
    monkeypatch.setattr(store_mod, "UNSAVED_ROWS", unsaved)
    store = ResultsStore(tmp_path / "r")
    store.directory.mkdir()
    (store.directory / "runs.jsonl.lock").mkdir()  # the lock file cannot be created
    with pytest.raises(store_mod.StoreWriteError) as info:
        store.add(key(1), {"test_acc": 0.5})
    assert str(store.path) in str(info.value) and "SEMISUP_RESULTS" in str(info.value)
    assert str(unsaved) in str(info.value)
    assert json.loads(unsaved.read_text()) == {"key": key(1), "test_acc": 0.5}


def test_cli_refuses_an_unwritable_store_before_loading_data(tmp_path, monkeypatch, capsys):
    """`semisup abc` and `semisup sweep` check the store first: one line, exit 2, no data
    loaded (so nothing is trained and then lost)."""
    from semisup_utils import cli
    from semisup_utils.book import notebook
    from semisup_utils.data import dataset as data

    def no_loading(*args, **kwargs):
        raise AssertionError("data was loaded although the store cannot be written")

    monkeypatch.setattr(data, "load_cifar10", no_loading)
    monkeypatch.setattr(notebook, "load_cifar10", no_loading)
    (tmp_path / "file").write_text("")
    bad = tmp_path / "file" / "results"
    assert cli.main(["abc", "--m", "100", "--results", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "SEMISUP_RESULTS" in err
    monkeypatch.setenv("SEMISUP_RESULTS", str(bad))
    assert cli.main(["sweep", "--profile", "smoke"]) == 2
    assert str(bad) in capsys.readouterr().err


# ----------------------------------------------------------------------------- check, repair
def _damaged_store(tmp_path):
    store = ResultsStore(tmp_path)
    for i in range(3):
        store.add(key(i), {"test_acc": 0.5 + i / 10})
    lines = store.path.read_text().splitlines(keepends=True)
    lines.insert(1, '{"key": {"m": 7}, "test_a\n')  # cut short by a crash
    lines.insert(3, '{"foo": 1}\n')
    lines.append("null\n")
    store.path.write_text("".join(lines))
    return store


def test_incomplete_row_warning_names_the_repair_command(tmp_path):
    store = _damaged_store(tmp_path)
    with pytest.warns(UserWarning) as caught:
        store.rows()
    messages = [str(w.message) for w in caught]
    assert [m.split(": ")[0].rsplit(":", 1)[1] for m in messages] == ["2", "4", "6"]
    assert "not JSON" in messages[0]
    assert all("`semisup store check --repair`" in m for m in messages)


def test_store_check_reports_and_repair_moves_them_to_a_quarantine_file(tmp_path, capsys):
    """`semisup store check` lists the bad lines (exit 1); `--repair` moves them, as they
    were, to runs.jsonl.quarantine beside the store and says so (no line is lost); afterwards
    the rows are the same and no warning is left."""
    from semisup_utils import cli

    store = _damaged_store(tmp_path)
    original = store.path.read_text().splitlines(keepends=True)
    assert cli.main(["store", "check", "--results", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert [line.split(": ")[0] for line in out.splitlines()] == \
        [f"{store.path}:{n}" for n in (2, 4, 6)]
    assert "3 rows" in err and "--repair" in err
    assert store.path.read_text().splitlines(keepends=True) == original  # check changes nothing

    assert cli.main(["store", "check", "--repair", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    quarantine = tmp_path / "runs.jsonl.quarantine"
    assert quarantine.read_text().splitlines(keepends=True) == [original[i] for i in (1, 3, 5)]
    assert "moved 3 line(s)" in out and str(quarantine) in out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["key"] for r in store.rows()] == [key(0), key(1), key(2)]
    assert cli.main(["store", "check", "--results", str(tmp_path)]) == 0
    assert "3 rows, every line a usable row" in capsys.readouterr().out


def test_merge_adds_the_rows_this_store_lacks_and_overwrites_none(tmp_path):
    here, there = ResultsStore(tmp_path / "here"), ResultsStore(tmp_path / "there")
    here.add(key(0), {"test_acc": 0.5})
    there.add(key(0), {"test_acc": 0.9})   # the same run computed elsewhere
    there.add(key(1), {"test_acc": 0.7})
    there.add(key(2), {"test_acc": 0.6})
    assert here.merge(there) == 2
    assert here.find(key(0))["test_acc"] == 0.5  # kept as it was here
    assert here.find(key(2)) == there.find(key(2))
    assert here.merge(there) == 0           # merging again adds nothing
    assert len(here.rows()) == 3


def test_store_merge_command_merges_runs_and_label_runs(tmp_path, capsys):
    from semisup_utils import cli

    ResultsStore(tmp_path / "gpu").add(key(1), {"test_acc": 0.7})
    ResultsStore(tmp_path / "gpu", "labels.jsonl").add(key(5), {"label_acc": 0.7})
    assert cli.main(["store", "merge", str(tmp_path / "gpu"), "--results",
                     str(tmp_path / "main")]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 row(s)" in out and "labels.jsonl" in out
    assert ResultsStore(tmp_path / "main").find(key(1))["test_acc"] == 0.7
    assert ResultsStore(tmp_path / "main", "labels.jsonl").find(key(5)) is not None
    assert cli.main(["store", "merge", str(tmp_path / "nowhere"), "--results",
                     str(tmp_path / "main")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_long_histories_are_thinned_when_stored_and_by_migrate(tmp_path):
    from semisup_utils.study.schema import HISTORY_LIMIT, SCHEMA, thin_history

    # a step budget over few images: 5,000 one-step epochs, tested every 100th
    history = [{"epoch": e, "step": e, "loss": 1.0 / e, "seconds": 0.1 * e,
                **({"test_acc": 0.5} if e % 100 == 0 else {})} for e in range(1, 5001)]
    thinned = thin_history(history)
    assert len(thinned) <= HISTORY_LIMIT + 51
    assert [h for h in history if "test_acc" in h] == [h for h in thinned if "test_acc" in h]
    assert thinned[-1] == history[-1] and thinned == sorted(thinned, key=lambda h: h["epoch"])
    assert thin_history(thinned) == thinned  # thinning twice is thinning once
    short = history[:HISTORY_LIMIT]
    assert thin_history(short) is short  # the report's 50 epochs are kept whole
    # a store written before thinning: read thinned with a warning, rewritten by migrate
    row = {"key": {"schema": SCHEMA, "m": 500, "seed": 0}, "test_acc": 0.5, "history": history}
    (tmp_path / "runs.jsonl").write_text(json.dumps(row) + "\n")
    store = ResultsStore(tmp_path)
    with pytest.warns(UserWarning, match="semisup store migrate"):
        assert store.rows()[0]["history"] == thinned
    count, backup = store.migrate()
    assert count == 1 and backup.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh = ResultsStore(tmp_path)
        assert fresh.rows()[0]["history"] == thinned and fresh.rows()[0]["test_acc"] == 0.5
    assert os.path.getsize(tmp_path / "runs.jsonl") < os.path.getsize(backup) / 10
