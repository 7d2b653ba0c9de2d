"""The chapter runner: jupytext -> notebook, parameters checked before anything executes."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from semisup_utils import cli
from semisup_utils.book import chapters as runner
from semisup_utils.study.profiles import ParameterError


@pytest.fixture
def no_execution(monkeypatch):
    """Fail the test if papermill is asked to execute anything."""
    import papermill

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a chapter was executed although its parameters were invalid")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    return calls


def test_every_chapter_has_a_parameters_cell_with_a_profile(tmp_path):
    chapters = runner.chapters()
    assert [p.stem[:2] for p in chapters] == sorted(p.stem[:2] for p in chapters)
    assert len(chapters) >= 7
    for chapter in chapters:
        notebook = runner.convert(chapter, tmp_path / f"{chapter.stem}.ipynb")
        stored = json.loads(notebook.read_text())
        assert stored["metadata"]["kernelspec"]["name"] == "python3"
        params = runner.chapter_parameters(notebook)
        assert "profile" in params, chapter
        tagged = [c for c in stored["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, f"{chapter.name} needs exactly one cell tagged parameters"


def test_find_chapters_by_prefix_name_or_refuses():
    assert runner.find_chapters(["05"])[0].stem == "05_models_abc"
    assert runner.find_chapters(["01_data"])[0].stem == "01_data"
    with pytest.raises(runner.ChapterError, match="known chapters: 00_abstract, 01_data"):
        runner.find_chapters(["99_nothing"])


def test_unknown_parameter_is_refused_with_the_chapters_parameters(tmp_path):
    notebook = runner.convert(runner.find_chapters(["05"])[0], tmp_path / "05.ipynb")
    with pytest.raises(ParameterError, match=r"'Mm'.*its parameters: profile, M, seed"):
        runner.check_parameters(notebook, "smoke", {"Mm": 10})
    with pytest.raises(ParameterError, match="M=0"):
        runner.check_parameters(notebook, "smoke", {"M": 0})
    with pytest.raises(ParameterError, match="profile='fast'"):
        runner.check_parameters(notebook, "fast", {})
    runner.check_parameters(notebook, "smoke", {"M": 100, "epochs": 1})  # valid: no error


def test_all_chapters_are_checked_before_any_runs(no_execution, tmp_path):
    # 01 would run fine; 05's epochs=0 must stop the whole run before 01 executes
    with pytest.raises(ParameterError, match="epochs=0"):
        runner.run(["01", "05"], "smoke", {"epochs": 0}, tmp_path)
    with pytest.raises(ParameterError, match="unknown parameter"):
        runner.run(["01", "05"], "smoke", {"nonsense": 1}, tmp_path)
    assert no_execution == []


def test_cli_run_exit_status_and_message(no_execution, capsys, tmp_path):
    status = cli.main(["run", "05", "--profile", "smoke", "-p", "M", "-5",
                       "--output-dir", str(tmp_path)])
    assert status == 2
    assert "M=-5" in capsys.readouterr().err
    assert cli.main(["run", "05", "--profile", "nope", "--output-dir", str(tmp_path)]) == 2
    assert "profile='nope'" in capsys.readouterr().err
    assert no_execution == []


def test_profile_given_as_a_parameter_gets_the_same_checks(no_execution, capsys, tmp_path):
    """`-p profile X` is checked as `--profile X` is: M=5000 is valid for the default profile
    but not for smoke's 2,000 images, and used to slip through under `-p profile smoke`."""
    with pytest.raises(ParameterError, match="M=5000 is not allowed with n_train=2000"):
        runner.run(["05"], None, {"profile": "smoke", "M": 5000}, tmp_path)
    with pytest.raises(ParameterError, match="disagree"):
        runner.run(["05"], "paper", {"profile": "smoke"}, tmp_path)
    assert cli.main(["run", "05", "-p", "profile", "nope", "--output-dir", str(tmp_path)]) == 2
    assert "profile='nope'" in capsys.readouterr().err
    assert cli.main(["run", "05", "-p", "profile", "smoke", "-p", "M", "5000",
                     "--output-dir", str(tmp_path)]) == 2
    assert "M=5000" in capsys.readouterr().err
    assert no_execution == []
    assert runner.profile_from(None, {"profile": "smoke", "M": 3}) == ("smoke", {"M": 3})
    assert runner.profile_from(None, {}) == ("laptop", {})  # the default profile


def test_run_refuses_an_unwritable_store_before_any_chapter(no_execution, capsys, tmp_path,
                                                          monkeypatch):
    """A profile that may train checks the store first (one line naming it and the fix);
    the published profile, which trains nothing, renders from a read-only store."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SEMISUP_RESULTS", str(tmp_path / "file" / "results"))
    assert cli.main(["run", "05", "--profile", "smoke", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot write the results store" in err and "SEMISUP_RESULTS" in err
    assert no_execution == []
    with pytest.raises(AssertionError, match="was executed"):  # got as far as executing
        runner.run(["05"], "published", {}, tmp_path)


def test_values_parse_as_yaml():
    assert runner.parse_value("1000") == 1000
    assert runner.parse_value("[500, 5000]") == [500, 5000]
    assert runner.parse_value("kmeans") == "kmeans"
    assert runner.parse_value("null") is None


def test_parameter_cells_are_left_out_of_the_book(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("profile = 'x'", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("profile = 'smoke'",
                                                metadata={"tags": ["injected-parameters"]}),
                      nbformat.v4.new_code_cell("print(1)")]
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    runner.hide_parameter_cells(path)
    runner.hide_parameter_cells(path)  # twice: tagged once
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].metadata.tags == ["parameters", "remove-cell"]
    assert cells[1].metadata.tags == ["injected-parameters", "remove-cell"]
    assert "remove-cell" not in cells[2].metadata.get("tags", [])


def test_the_data_line_names_the_file_and_the_pages_parameters_not_the_machine_path():
    from semisup_utils.book import notebook
    from semisup_utils.data.dataset import CIFAR10

    x = np.zeros((2, 32, 32, 3), np.uint8)
    y = np.array([0, 1])
    data = CIFAR10(x, y, x, y, source="imagefolder-tarball:/home/someone/secret/cifar10-jpeg.tar.gz"
                   " (subset 2/2, seed 0)", fingerprint="0123456789abcdef")
    params = notebook.Parameters({"profile": "laptop", "M": 500, "seed": 1, "epochs": 50},
                                 declared={"profile", "M", "seed"})
    line = notebook.data_note(data, params)
    assert "/home/someone" not in line and "secret" not in line
    assert "cifar10-jpeg.tar.gz" in line and "0123456789ab" in line
    assert "M=500, seed=1" in line and "epochs" not in line and "'laptop'" in line
    assert notebook.jpeg_note(data)
    other = CIFAR10(x, y, x, y, source="imagefolder:/data/x", fingerprint="f" * 16,
                    classes=("cat", "dog"))
    assert notebook.jpeg_note(other) == "" and "JPEG" not in notebook.data_note(other, params)


def test_relative_paths_become_absolute_from_the_callers_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"SEMISUP_RESULTS": "relres", "SEMISUP_CACHE": "/abs/cache",
           "SEMISUP_DATA": "data/cifar.tar.gz"}
    changed = runner.absolute_paths(env)
    assert env["SEMISUP_RESULTS"] == str(tmp_path / "relres")
    assert env["SEMISUP_DATA"] == str(tmp_path / "data" / "cifar.tar.gz")
    assert env["SEMISUP_CACHE"] == "/abs/cache" and "SEMISUP_CACHE" not in changed


def test_a_failed_chapter_leaves_the_last_good_one_in_place(tmp_path, monkeypatch):
    import papermill

    good = tmp_path / "book" / "01_data.ipynb"
    good.parent.mkdir()
    good.write_text("the last good chapter")

    def fail_halfway(source, output, **kwargs):
        with open(output, "w") as handle:
            handle.write("half a notebook")
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", fail_halfway)
    with pytest.raises(KeyboardInterrupt) as info:
        runner.run(["01"], "smoke", {}, tmp_path / "book", progress=False)
    assert good.read_text() == "the last good chapter"
    note = " ".join(getattr(info.value, "__notes__", []))
    assert "01_data.ipynb is unchanged" in note and "semisup-failed-01_data-" in note
    kept = Path(note.split("kept at ")[1].split()[0])
    assert kept.read_text() == "half a notebook"


def test_the_failed_notebook_is_kept_under_a_new_name_never_through_a_link(tmp_path,
                                                                         monkeypatch):
    """Issue 35, item 3: a link at the old fixed name is not followed; an unwritable temp
    folder never hides the chapter's error."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "semisup-failed-01_data.ipynb").symlink_to(victim)
    partial = tmp_path / "partial.ipynb"
    partial.write_text("partial")
    error = RuntimeError("cell 3 failed")
    runner.keep_failed(partial, "01_data", tmp_path / "book" / "01_data.ipynb", error)
    assert victim.read_text() == "keep me"
    assert "kept at" in error.__notes__[0]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    error = RuntimeError("cell 3 failed")
    runner.keep_failed(partial, "01_data", tmp_path / "book" / "01_data.ipynb", error)
    assert str(error) == "cell 3 failed" and "could not be kept" in error.__notes__[0]


def test_a_page_that_cannot_be_written_leaves_the_old_one_whole(tmp_path, monkeypatch):
    """Issue 35, item 1: a full output folder (here: the copy fails) keeps the good page."""
    import shutil

    good = tmp_path / "01_data.ipynb"
    good.write_text("the good page")
    executed = tmp_path / "work.ipynb"
    executed.write_text("x" * 1000)

    def disk_full(source, target, *args):
        target.write(b"trunc")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", disk_full)
    with pytest.raises(runner.ChapterError, match="01_data.ipynb.*No space left"):
        runner.install(executed, good)
    assert good.read_text() == "the good page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_data.ipynb", "work.ipynb"]


def test_chapters_run_once_each_and_the_summary_page_last():
    """Issue 35, item 14 (a chapter named twice runs once), and page one, which summarises the
    store, executes after the chapters that fill it."""
    stems = [p.stem for p in runner.find_chapters(["01", "01_data", "00", "10"])]
    assert stems == ["01_data", "10_teachers", "00_abstract"]
    every = [p.stem for p in runner.find_chapters([])]
    assert every[-1] == "00_abstract" and len(every) == len(set(every))


def test_a_failing_chapter_is_reported_in_one_line_first(tmp_path, monkeypatch, capsys):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    def fail(source, output, **kwargs):
        raise PapermillExecutionError(3, 4, "P = resolve(...)", "ValueError",
                                      "M=70000 is outside the allowed range",
                                      ["long", "traceback"])

    monkeypatch.setattr(papermill, "execute_notebook", fail)
    status = cli.main(["run", "01", "--profile", "smoke", "--output-dir", str(tmp_path),
                       "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines()[0] == ("semisup: error: a chapter failed in cell 4: ValueError: "
                                   "M=70000 is outside the allowed range")


def test_every_chapter_takes_the_run_options_the_docs_offer(no_execution, tmp_path,
                                                            monkeypatch):
    """`-p train_missing true` (what the missing-run refusal offers) and `-p embed_engine
    onnxruntime` (docs/experiments.md) say how runs execute, not what a page computes: every
    chapter takes them, declared in its parameters cell or not (issue 35, item 12)."""
    options = {"train_missing": True, "embed_engine": "onnxruntime"}
    for chapter in ("01", "05"):
        notebook = runner.convert(runner.find_chapters([chapter])[0], tmp_path / "c.ipynb")
        runner.check_parameters(notebook, "published", options)
    with pytest.raises(ParameterError, match="embed_engine='tensorflow'"):
        runner.check_parameters(notebook, "published", {"embed_engine": "tensorflow"})
    with pytest.raises(ParameterError, match=r"'Mm'.*in every chapter: .*train_missing"):
        runner.check_parameters(notebook, "smoke", {"Mm": 10})
    runs = []  # several chapters: each is given the run options with its own parameters
    monkeypatch.setattr(runner, "execute", lambda chapter, profile, own, *a: runs.append(
        (chapter.stem, own)) or (tmp_path / "x", 0.0))
    runner.run(["01", "06"], "published", {**options, "seeds": [0]}, tmp_path)
    assert runs == [("01_data", options), ("06_m_sweep", {**options, "seeds": [0]})]
    from semisup_utils.study.profiles import RUN_OPTIONS

    assert {"train_missing", "embed_engine"} <= set(RUN_OPTIONS)


def test_only_the_values_of_m_a_chapter_reads_must_fit_its_images(tmp_path):
    """`semisup run 01 -p n_train 100 -p M 30`: smoke's M_list (500) is not chapter 01's
    concern (it neither reads nor takes M_list); the M it does read is checked, by name
    (issue 35, item 13)."""
    notebook = runner.convert(runner.find_chapters(["01"])[0], tmp_path / "01.ipynb")
    runner.check_parameters(notebook, "smoke", {"n_train": 100, "M": 30})
    with pytest.raises(ParameterError, match=r"M=300 is not allowed with n_train=100.*"
                                             r"change M or n_train"):
        runner.check_parameters(notebook, "smoke", {"n_train": 100, "M": 300})
    with pytest.raises(ParameterError, match=r"M=500 is not allowed with n_train=100.*"
                                             r"change M or n_train"):
        runner.check_parameters(notebook, "smoke", {"n_train": 100})  # the profile's M
    chapter_06 = runner.convert(runner.find_chapters(["06"])[0], tmp_path / "06.ipynb")
    with pytest.raises(ParameterError, match=r"parameter M_list=\[500, 1000\] is not allowed "
                                             r"with n_train=100: M=500 .*change M_list or "
                                             r"n_train"):
        runner.check_parameters(chapter_06, "smoke", {"n_train": 100})
    runner.check_parameters(chapter_06, "smoke", {"n_train": 100, "M_list": [30, 60]})


def test_papermill_does_not_call_the_run_options_unknown(caplog):
    """papermill warns of a parameter the parameters cell lacks: not of the run options."""
    import logging

    with caplog.at_level(logging.WARNING, logger="papermill"):
        logging.getLogger("papermill").warning("Passed unknown parameter: train_missing")
        logging.getLogger("papermill").warning("Passed unknown parameter: nosuch")
    assert [r.getMessage() for r in caplog.records] == ["Passed unknown parameter: nosuch"]
