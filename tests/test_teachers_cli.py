"""`semisup teachers` and `semisup distill`: chapter 10's teacher study and students computed
by the chapter's own builders, the missing-run refusal naming them, and bench/ measuring
only (issue 33, item 3). Tiny: 300 synthetic images, a backbone that pools each channel."""
from __future__ import annotations

import re
import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from semisup_utils import cli
from semisup_utils.book import findings, notebook
from semisup_utils.study import label_runs, runs
from semisup_utils.study.label_runs import label_store
from semisup_utils.study.store import ResultsStore
from semisup_utils.teachers.features import BACKBONES, Backbone, _PooledFeatures

ROOT = Path(__file__).resolve().parents[1]
# the smoke profile cut to the synthetic data: 300 training images, M=100, one seed
TINY = ["--profile", "smoke", "-p", "n_train", "300", "-p", "n_test", "200",
        "-p", "M_list", "[100]", "-p", "seeds", "[0]",
        "-p", "teacher_seeds", "[0]", "-p", "epochs", "1", "-p", "max_evals", "1"]


@pytest.fixture
def tiny(monkeypatch, tmp_path, synthetic):
    """The synthetic data for every command, an empty store and cache, and EfficientNet-Lite0
    replaced by a backbone that pools each channel (the synthetic classes differ by colour)."""
    from torch import nn

    monkeypatch.setenv("SEMISUP_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SEMISUP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(notebook, "load_data", lambda params: synthetic)
    monkeypatch.setitem(BACKBONES, "effnet-lite0", Backbone(
        "effnet-lite0", lambda size: _PooledFeatures(lambda x: x, nn.Identity()), "tflite",
        "test"))
    return synthetic


def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a CNN was trained")
    monkeypatch.setattr(runs, "train", refuse)


def semisup(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def spy(monkeypatch, module, name, calls):
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, wrapped)


@pytest.mark.slow
def test_teachers_computes_the_chapters_study_into_the_label_store(capsys, monkeypatch, tiny):
    """The profile's candidates at each M and teacher seed, through the chapter's own
    ``findings.teacher_choice``, stored; a rerun reads them and fits nothing."""
    calls = []
    spy(monkeypatch, findings, "teacher_choice", calls)
    spy(monkeypatch, notebook, "teacher_candidates", calls)
    no_training(monkeypatch)
    status, out, err = semisup(capsys, "teachers", *TINY, "--quiet")
    assert status == 0, err
    assert calls == ["teacher_choice", "teacher_candidates"]
    rows = label_store(notebook.context(notebook.parameters({"profile": "smoke"}))).rows()
    # smoke: Lite0 at 32 pixels, without and with flip, by logreg-cal and logreg-cv
    assert len(rows) == 4 and all(r["key"]["validation"] == 0.2 for r in rows)
    assert "M=100" in out and "chosen among every fit: lite0@32" in out
    assert "✓" in out and "held out" in out

    monkeypatch.setattr(label_runs, "score_teacher",
                        lambda *a, **k: pytest.fail("a stored fit was refitted"))
    status, again, _ = semisup(capsys, "teachers", *TINY, "--quiet")
    assert status == 0 and again == out


@pytest.mark.slow
def test_distill_trains_the_chapters_grid_and_the_chosen_students(capsys, monkeypatch, tiny):
    """`semisup distill` plans what chapter 10 shows, with the chapter's builders: its grid
    (``notebook.distill_runs``) and the students of the held-out choice
    (``findings.chosen_student_runs``), its teachers fitted first, then one grid run."""
    assert semisup(capsys, "teachers", *TINY, "--quiet")[0] == 0
    calls, planned = [], []
    for name in ("distill_runs", "distill_budgets", "distill_recipes"):
        spy(monkeypatch, notebook, name, calls)
    for name in ("teacher_choice", "chosen_student_runs"):
        spy(monkeypatch, findings, name, calls)
    spy(monkeypatch, label_runs, "fit_teachers", calls)
    from semisup_utils.study import executors

    def run_grid(data, grid, ctx, **options):
        calls.append("run_grid")
        planned.extend(grid)
        return executors.rows_frame([])
    monkeypatch.setattr(executors, "run_grid", run_grid)
    status, out, err = semisup(capsys, "distill", *TINY, "--executor", "local", "--quiet")
    assert status == 0, err
    assert {"distill_runs", "distill_budgets", "distill_recipes", "teacher_choice",
            "chosen_student_runs", "fit_teachers"} <= set(calls)
    assert calls.index("fit_teachers") < calls.index("run_grid")  # teachers first
    params = notebook.parameters({"profile": "smoke", "section": "distill", "n_train": 300,
                                  "n_test": 200, "M_list": [100], "seeds": [0],
                                  "teacher_seeds": [0], "epochs": 1})
    grid = notebook.distill_runs(params, tiny.n_train)
    assert planned[:len(grid)] == grid  # both augmentations, smoke's three recipes
    chosen = planned[len(grid):]
    assert [r.recipe.name for r in chosen] == ["chosen at M=100"]  # the held-out choice
    assert "chosen among every fit, M=100: lite0@32" in out


def test_teachers_only_fits_and_caches_the_teachers_and_trains_no_cnn(capsys, monkeypatch,
                                                                     tiny, tmp_path):
    no_training(monkeypatch)
    status, out, err = semisup(capsys, "distill", *TINY, "--teachers-only", "--among", "none",
                               "--quiet")
    assert status == 0, err
    assert ResultsStore().rows() == []  # no run
    rows = label_store(notebook.context(notebook.parameters({"profile": "smoke"}))).rows()
    # smoke's one teacher recipe (Lite0 at distill_size 32 with flip, calibrated) at M=100,
    # seed 0: stored with its test accuracy, as the chapter's teacher table reads it
    assert [(r["key"]["method"], r["key"]["views"], r["key"]["m"]) for r in rows] == \
        [("logreg-cal", [["effnet-lite0", 32, "flip"]], 100)]
    assert 0 <= rows[0]["test_acc"] <= 1
    assert "logreg-cal" in out
    assert re.search(r"(?<!effnet-)lite0@32 flip", out)  # the views by teachers.view_name
    assert list((tmp_path / "cache" / "labels").glob("*.npz"))  # the fit, for the training




def test_a_missing_run_of_chapter_10_names_semisup_distill_which_computes_it(tmp_path,
                                                                            synthetic):
    """Chapter 10 at the published profile on data the store lacks: the refusal names
    `semisup distill`, and the command it names plans exactly those runs' keys."""
    from semisup_utils.study.executors import run_grid
    from semisup_utils.study.runs import MissingRunError, run_key

    P = notebook.parameters({"profile": "published", "n_train": 300, "n_test": 200,
                             "distill_M_list": [100], "distill_seeds": [0],
                             "distill_recipes": None})  # declared, as chapter 10 does
    reader = replace(notebook.context(P), store=ResultsStore(tmp_path / "results"))
    budgets = notebook.distill_budgets(P, synthetic.n_train)
    grid = runs.plan([100], [0], notebook.distill_recipes(P), budgets["crop-cutout"])
    with pytest.raises(MissingRunError) as info:
        run_grid(synthetic, grid, reader)
    named = re.search(r"`(semisup [^`]+)`", str(info.value)).group(1)
    assert named.startswith("semisup distill --among none --profile published -p "
                            "train_missing true -p n_train 300 -p n_test 200"), named
    argv = shlex.split(named)[1:]
    args = cli.build_parser().parse_args(argv)
    assert args.func is cli._cmd_distill and args.among == ["none"]
    params = cli._parameters(args, cli.DISTILL_GRID)
    assert params["train_missing"] is True
    keys = {str(run_key(synthetic, r)) for r in notebook.distill_runs(params,
                                                                      synthetic.n_train)}
    assert keys == {str(run_key(synthetic, r)) for r in grid}

    # Model A alone of that grid: chapter 10 names its own command, chapter 9 compare
    only_a = [r for r in grid if r.recipe.name == "A"]
    assert reader.command_for(only_a).startswith("semisup distill")
    beyond = notebook.parameters({"profile": "published", "n_train": 300, "n_test": 200,
                                  "sweep_recipes": None, "sweep_augment": "crop-cutout"})
    assert notebook.context(beyond).command_for(only_a).startswith("semisup compare")


def test_distill_names_semisup_teachers_for_teacher_fits_the_store_lacks(capsys, tiny):
    """A profile that computes nothing, on a store without the teacher study or the runs:
    the choice's missing fits name `semisup teachers`, the missing runs `semisup distill`
    (one M and one seed: refused, not an empty table), nothing is computed."""
    status, out, err = semisup(capsys, "distill", *TINY, "-p", "train_missing", "false",
                               "--quiet")
    assert "4 teacher fits are not stored" in out
    assert "`semisup teachers --profile smoke -p train_missing true -p n_train 300" in out
    assert status == 2 and "compute them with `semisup distill --among none --profile smoke " \
        "-p train_missing true" in err, err
    assert not ResultsStore().path.exists()
    assert not label_store(notebook.context(notebook.parameters({"profile": "smoke"}))
                           ).path.exists()


def test_cuda_mps_starts_the_daemon_where_there_is_one_and_stops_it(tmp_path, monkeypatch):
    """`semisup distill --mps`: the control daemon started before the training processes and
    told to quit after; nothing where the machine has none or it is not asked for."""
    from semisup_utils.base.device import cuda_mps

    log = tmp_path / "calls"
    control = tmp_path / "nvidia-cuda-mps-control"
    control.write_text(f"#!/bin/sh\nread -r line\necho \"$*|$line\" >> {log}\n")
    control.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with cuda_mps(False) as started:
        assert started is False
    assert not log.exists()
    with cuda_mps() as started:
        assert started is True and log.read_text() == "-d|\n"
    assert log.read_text() == "-d|\n|quit\n"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with cuda_mps() as started:
        assert started is False


def test_nothing_names_the_bench_scripts_that_became_commands():
    """Chapter 10, the docs and the package name `semisup teachers` / `semisup distill`, not
    the bench scripts they replaced."""
    gone = re.compile(r"bench/(teachers|chosen_students|gpu_distill)\.py")
    files = [ROOT / "README.md", ROOT / "bench" / "README.md",
             *(ROOT / "docs").glob("*.md"), *(ROOT / "notebooks").glob("*.py"),
             *(ROOT / "semisup_utils").rglob("*.py")]
    named = [str(p.relative_to(ROOT)) for p in files if gone.search(p.read_text())]
    assert named == []
    # chapter 10 names the command with its profile and parameters
    assert "notebook.teachers_command(P)" in (ROOT / "notebooks" / "10_teachers.py").read_text()
    assert notebook.teachers_command(notebook.parameters({"profile": "published"})) == \
        "semisup teachers --profile published -p train_missing true"


def test_nothing_under_bench_writes_to_the_results_store():
    """bench/ measures: no script computes the book's rows (the teacher study, the label
    runs, the chapters' grids) or opens the default results store (the stores a measurement
    trains into are folders it is given or makes)."""
    writers = re.compile(r"\b(default_results_dir|teacher_study|held_out_run|label_run|"
                         r"fit_teachers|teacher_choices|chosen_recipes|distill_runs)\b"
                         r"|ResultsStore\(\s*\)")
    offenders = {p.name: writers.findall(p.read_text())
                 for p in (ROOT / "bench").glob("*.py") if writers.search(p.read_text())}
    assert offenders == {}
