"""Profiles and parameter validation, and the ``semisup`` command."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from semisup_utils import cli
from semisup_utils.book import notebook
from semisup_utils.study import profiles
from semisup_utils.study.profiles import PROFILES, ParameterError, resolve, validate
from semisup_utils.study.recipes import get_recipe
from semisup_utils.training.budget import Budget


# ----------------------------------------------------------------------------- profiles
def test_resolve_profiles():
    for name in PROFILES:
        params = resolve(name)
        assert params["profile"] == name
        assert {k: v for k, v in params.items() if k != "profile"} == PROFILES[name]
    assert {"smoke", "laptop", "reduced", "paper", "published"} <= set(PROFILES)


def test_default_is_the_laptop_profile_by_another_name():
    from semisup_utils.study.profiles import DEFAULT_PROFILE, sections

    assert DEFAULT_PROFILE == "laptop"
    params = resolve("default")
    assert params["profile"] == "laptop"
    assert {k: v for k, v in params.items() if k != "profile"} == PROFILES["laptop"]
    assert sections("default") == sections("laptop")
    with pytest.raises(ParameterError, match="laptop, .*default"):
        resolve("nosuch")


def test_the_laptop_profile_keeps_the_report_protocol_on_a_subset():
    """What makes it cheap is the subset, not a shorter protocol: Model A's budget (50 epochs
    over its M images) is the report's, so it learns as in the report."""
    laptop, paper = resolve("laptop"), resolve("paper")
    assert laptop["n_train"] == 5000 and laptop["n_test"] is None  # every test image
    assert (laptop["epochs"], laptop["batch_size"]) == (paper["epochs"], paper["batch_size"])
    assert laptop["executor"] == "processes" and laptop["train_missing"]
    assert max(laptop["M_list"]) < laptop["n_train"] and len(laptop["seeds"]) == 3


def test_resolve_applies_overrides():
    params = resolve("smoke", M=300, M_list=[50, 100], epochs=1, seeds=[3], seed=7,
                     weight=0.5, backbone="pca", method="logreg", models=["A", "C"],
                     input_size=64, device="cuda", n_train=None)
    assert params["M"] == 300 and params["M_list"] == [50, 100] and params["epochs"] == 1
    assert params["seeds"] == [3] and params["seed"] == 7 and params["weight"] == 0.5
    assert params["backbone"] == "pca" and params["method"] == "logreg"
    assert params["models"] == ["A", "C"] and params["input_size"] == 64
    assert params["device"] == "cuda"
    assert params["n_train"] == PROFILES["smoke"]["n_train"]  # None: the profile's value
    assert PROFILES["smoke"]["M"] == 500  # the profile itself is untouched


@pytest.mark.parametrize("profile, overrides, named", [
    ("smoke", {"M": 0}, "M=0"),
    ("smoke", {"M": -5}, "M=-5"),
    ("smoke", {"M": 2.5}, "M=2.5"),
    ("smoke", {"M": 2000}, "M=2000"),          # smoke uses 2000 training images
    ("default", {"M": 50000}, "M=50000"),
    ("smoke", {"M_list": [200, 0]}, "M_list[1]=0"),
    ("smoke", {"M_list": [200, "many"]}, "M_list[1]='many'"),
    ("smoke", {"M_list": "500"}, "M_list='500'"),
    ("smoke", {"M_list": []}, "M_list=[]"),
    ("smoke", {"M_list": [200, 200]}, "200 repeated"),
    ("smoke", {"seeds": [0, 1, 0]}, "0 repeated"),
    ("smoke", {"recipes": ["A", "A"]}, "'A' repeated"),
    ("smoke", {"M_list": [200, 5000]}, "M=5000"),
    ("smoke", {"models": ["A", "D"]}, "models[1]='D'"),
    ("smoke", {"method": "magic"}, "method='magic'"),
    ("smoke", {"method": "cnn"}, "method='cnn'"),  # C's labels, not a choice for B
    ("smoke", {"backbone": "alexnet"}, "backbone='alexnet'"),
    ("smoke", {"backbones": ["effnet-lite0", "x"]}, "backbones[1]='x'"),
    ("smoke", {"arch": "resnet"}, "arch='resnet'"),
    ("smoke", {"epochs": 0}, "epochs=0"),
    ("smoke", {"epochs": True}, "epochs=True"),
    ("smoke", {"batch_size": -1}, "batch_size=-1"),
    ("smoke", {"seed": -1}, "seed=-1"),
    ("smoke", {"seeds": [0, -2]}, "seeds[1]=-2"),
    ("smoke", {"weight": 0}, "weight=0"),
    ("smoke", {"weight": 1.5}, "weight=1.5"),
    ("smoke", {"input_size": 16}, "input_size=16"),
    ("smoke", {"n_train": 60000}, "n_train=60000"),
    ("smoke", {"device": "tpu"}, "device='tpu'"),
    ("smoke", {"colour": "red"}, "'colour'"),
    ("huge", {}, "profile='huge'"),
    ("smoke", {"augment": "cutmix"}, "augment='cutmix'"),
    ("smoke", {"distill_augments": ["report", "mixup"]}, "distill_augments[1]='mixup'"),
    ("smoke", {"distill_recipes": ["A", "teacher-x"]}, "distill_recipes[1]='teacher-x'"),
    ("smoke", {"distill_size": 8}, "distill_size=8"),
    ("smoke", {"distill_M_list": [500, 2000]}, "M=2000"),
])
def test_resolve_refuses(profile, overrides, named):
    with pytest.raises(ParameterError) as info:
        resolve(profile, **overrides)
    message = str(info.value)
    assert named in message
    assert "not allowed" in message or "unknown parameter" in message


def test_refusal_says_what_is_allowed():
    with pytest.raises(ParameterError, match="kmeans") as info:
        resolve("smoke", method="magic")
    assert "logreg" in str(info.value)
    with pytest.raises(ParameterError, match="smoke, reduced, laptop, paper"):
        resolve("huge")
    with pytest.raises(ParameterError, match="1..1999"):
        resolve("smoke", M=2000)
    with pytest.raises(ParameterError, match="known parameters: profile, n_train"):
        validate("colour", "red")


# ----------------------------------------------------------------------------- the CLI
def run_cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_abc_refuses_m_zero_before_loading(capsys, monkeypatch, tmp_path):
    from semisup_utils.data import dataset as data

    monkeypatch.setattr(data, "load_cifar10", lambda *a, **k: pytest.fail("data was loaded"))
    status, out, err = run_cli(capsys, "abc", "--m", 0, "--epochs", 1, "--device", "cpu",
                               "--results", tmp_path / "r", "--quiet")
    assert status == 2
    assert err.startswith("semisup: error:") and "M=0" in err and "1..49999" in err
    assert not (tmp_path / "r" / "runs.jsonl").exists()


def test_abc_refuses_m_beyond_the_data(capsys, tmp_path, tiny_python_folder):
    folder, _ = tiny_python_folder
    status, out, err = run_cli(capsys, "abc", "--m", 150, "--data", folder, "--epochs", 1,
                               "--device", "cpu", "--results", tmp_path / "r", "--quiet")
    assert status == 2
    assert err.startswith("semisup: error:") and "M=150" in err and "1..99" in err
    assert not (tmp_path / "r" / "runs.jsonl").exists()


@pytest.mark.parametrize("args, named", [
    (["--epochs", "0"], "epochs=0"),
    (["--weight", "0"], "weight=0"),
    (["--method", "magic"], "magic"),
    (["--backbone", "alexnet"], "alexnet"),
    (["--device", "foo"], "device='foo'"),
    (["--n-train", "0"], "n_train=0"),
    (["--n-test", "-3"], "n_test=-3"),
])
def test_abc_refuses_bad_protocol_before_loading_data(capsys, monkeypatch, args, named):
    from semisup_utils.data import dataset as data

    def no_loading(*a, **k):
        raise AssertionError("data loaded before the parameters were checked")

    monkeypatch.setattr(data, "load_cifar10", no_loading)
    status, _, err = run_cli(capsys, "abc", *args)
    assert status == 2 and named in err and "semisup: error:" in err


def test_abc_missing_data(capsys, tmp_path):
    missing = tmp_path / "no-such-copy"
    status, _, err = run_cli(capsys, "abc", "--m", 10, "--data", missing, "--epochs", 1)
    assert status == 2 and str(missing) in err


def test_abc_runs_and_resumes(capsys, monkeypatch, tmp_path, tiny_python_folder):
    folder, _ = tiny_python_folder
    argv = ["abc", "--m", 50, "--models", "A", "--epochs", 1, "--batch-size", 32,
            "--data", folder, "--results", tmp_path / "r", "--device", "cpu", "--quiet"]
    status, out, err = run_cli(capsys, *argv)
    assert status == 0, err
    assert "data: cifar-python-folder:" in out and "test_acc" in out
    rows = [json.loads(line) for line in (tmp_path / "r" / "runs.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["key"]["m"] == 50 and rows[0]["profile"] == "cli"

    from semisup_utils.study import runs

    def no_training(*a, **k):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(runs, "train", no_training)
    status, again, _ = run_cli(capsys, *argv)
    assert status == 0
    table = lambda text: [line for line in text.splitlines() if not line.startswith("total")]
    assert table(again) == table(out)


def test_list(capsys):
    status, out, _ = run_cli(capsys, "list")
    assert status == 0
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["profiles"].split(", ") == list(PROFILES)
    from semisup_utils.teachers.features import BACKBONES
    from semisup_utils.teachers.label_inference import METHODS

    assert lines["backbones"].split(", ") == list(BACKBONES)
    assert lines["methods"].split(", ") == list(METHODS)
    from semisup_utils.study.recipes import RECIPES

    assert lines["recipes (A, B, C are the report's models)"].split(", ") == list(RECIPES)
    assert "chapters" in lines and "teachers" in lines


def test_unknown_command_and_bad_value(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["abc", "--m", "many"])
    assert info.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_exit_status(tmp_path, tiny_python_folder):
    script = Path(sys.executable).parent / "semisup"
    if not script.exists():
        pytest.skip(f"console script not installed at {script} (pip install -e .)")
    folder, _ = tiny_python_folder
    result = subprocess.run([str(script), "abc", "--m", "0", "--data", str(folder),
                             "--epochs", "1", "--device", "cpu", "--quiet",
                             "--results", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "M=0" in result.stderr and "1..49999" in result.stderr


def test_compare_refuses_unknown_recipe_before_loading(capsys, monkeypatch):
    from semisup_utils.book import notebook

    monkeypatch.setattr(notebook, "load_cifar10", lambda *a, **k: pytest.fail("data loaded"))
    status, _, err = run_cli(capsys, "compare", "--profile", "smoke", "-p", "recipes",
                             "[A, magic]", "--quiet")
    assert status == 2 and "parameter recipes[1]='magic'" in err and "fixmatch" in err


def test_sweep_and_compare_check_only_the_m_list_they_read(capsys, monkeypatch):
    """`semisup sweep -p n_train 300 -p M_list '[100]'` is not refused for smoke's M (500) or
    its other lists, which a sweep does not read; its M_list is checked, by name."""
    from semisup_utils.book import notebook

    def stop(*args, **kwargs):
        raise FileNotFoundError("stopped before loading the data")

    monkeypatch.setattr(notebook, "load_cifar10", stop)
    for command in ("sweep", "compare"):
        status, _, err = run_cli(capsys, command, "--profile", "smoke", "-p", "n_train", "300",
                                 "-p", "M_list", "[100]", "--quiet")
        assert status == 2 and "stopped before loading the data" in err, err
        status, _, err = run_cli(capsys, command, "--profile", "smoke", "-p", "n_train", "300",
                                 "--quiet")
        assert status == 2 and "parameter M_list=[500, 1000] is not allowed" in err, err


def test_a_sweep_of_one_run_per_model_the_store_lacks_is_one_line(capsys, monkeypatch,
                                                                   tmp_path):
    """`semisup sweep --profile published` of one M and one seed the store lacks: the refusal
    naming the command (issue 35, item 11), as one line, not a traceback."""
    from types import SimpleNamespace

    from semisup_utils.book import notebook

    monkeypatch.setenv("SEMISUP_RESULTS", str(tmp_path / "results"))  # an empty store
    monkeypatch.setattr(notebook, "load_data", lambda params: SimpleNamespace(
        fingerprint="not-stored", n_train=50000))
    status, _, err = run_cli(capsys, "sweep", "--profile", "published", "-p", "M_list",
                             "[500]", "-p", "seeds", "[0]", "--quiet")
    assert status == 2, err
    assert err.startswith("semisup: error: 3 run(s) are not in the results store") and \
        "semisup sweep --profile published -p train_missing true" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_compare_trains_stores_and_rereads(capsys, monkeypatch, shared_data, tmp_path):
    from semisup_utils.study.store import ResultsStore

    monkeypatch.setenv("SEMISUP_RESULTS", str(tmp_path / "results"))  # an empty store

    args = ["compare", "--profile", "smoke", "-p", "M_list", "[200]", "-p", "seeds",
            "[0]", "-p", "recipes", "[A, ceiling]", "-p", "epochs", "1", "--quiet"]
    status, out, _ = run_cli(capsys, *args)
    assert status == 0 and "precision auto" in out and "(onecycle)" in out
    rows = ResultsStore().rows()
    assert sorted(r["name"] for r in rows) == ["A", "ceiling"]
    status, again, _ = run_cli(capsys, *args)  # stored: read, not retrained
    assert status == 0 and len(ResultsStore().rows()) == 2
    assert again.splitlines()[-2:] == out.splitlines()[-2:]


def test_profiles_are_studies_with_one_section_per_experiment():
    from semisup_utils.study.parameters import KEYS, REGISTRY
    from semisup_utils.study.profiles import SECTION_OF, STUDIES, sections

    assert set(SECTION_OF) == set(REGISTRY) - {"profile"}  # each in exactly one section
    for name, study in STUDIES.items():
        assert list(sections(name)) == ["data", "report", "embeddings", "labels", "screening",
                                        "sweep", "distill"]
        # each section names its parameters short (seeds); the flat view holds them by key
        flat = {KEYS[(s, n)]: v for s, section in study.items() for n, v in section.items()}
        assert flat == PROFILES[name]
        assert all(SECTION_OF[KEYS[(s, n)]] == s for s, values in study.items() for n in values)
    assert STUDIES["paper"]["sweep"]["seeds"] == PROFILES["paper"]["sweep_seeds"]
    assert sections("published")["data"]["train_missing"] is False


def test_a_chapter_refuses_a_parameter_papermill_injected_that_it_does_not_declare():
    """Plain papermill (`papermill ch.ipynb out.ipynb -p nosuch 3`) injects `nosuch = 3` in a
    cell after the parameters cell; the chapter's first call refuses it by name."""
    from semisup_utils.book import notebook
    from semisup_utils.study.profiles import ParameterError

    history = ["", 'profile = "smoke"\nM = None\nseed = None\n', "# Parameters\nnosuch = 3\n",
               "P = notebook.parameters(globals())"]
    namespace = {"In": history, "profile": "smoke", "M": None, "seed": None, "nosuch": 3,
                 "notebook": notebook}
    with pytest.raises(ParameterError, match=r"'nosuch'.*its parameters: M, profile, seed"):
        notebook.parameters(namespace)
    history[2] = "# Parameters\nM = 1000\n"
    namespace.pop("nosuch")
    namespace["M"] = 1000
    assert notebook.parameters(namespace)["M"] == 1000


def test_a_chapter_takes_the_run_options_and_checks_only_the_m_it_reads():
    """Under papermill too: `-p train_missing true -p embed_engine onnxruntime` reach any
    chapter (issue 35, item 12), and chapter 01's `-p n_train 100 -p M 30` is not refused for
    the profile's M_list, which it does not read (item 13); its own M still is."""
    from semisup_utils.book import notebook

    cell = 'profile = "smoke"\nM = None\nseed = None\nn_train = None\nn_test = None\n'
    injected = ("# Parameters\nprofile = 'smoke'\nn_train = 100\nM = 30\n"
                "train_missing = True\nembed_engine = 'onnxruntime'\n")
    history = ["", cell, injected, "P = notebook.parameters(globals())"]
    namespace = {"In": history, "profile": "smoke", "M": 30, "seed": None, "n_train": 100,
                 "n_test": None, "train_missing": True, "embed_engine": "onnxruntime"}
    P = notebook.parameters(namespace)
    assert (P["n_train"], P["M"], P["embed_engine"], P["train_missing"]) == (
        100, 30, "onnxruntime", True)
    assert set(P.declared) == {"profile", "M", "seed", "n_train", "n_test"}  # the data line
    namespace["M"] = 100
    with pytest.raises(ParameterError, match="M=100 is not allowed with n_train=100.*change M"):
        notebook.parameters(namespace)


def test_the_sweeps_augmentation_is_in_the_key_only_when_it_is_not_the_reports():
    from semisup_utils.book.notebook import distill_budgets, sweep_budget

    params = resolve("paper")
    assert params["augment"] == "report"
    plain = sweep_budget(params, 50000)
    assert "augment" not in plain.key()  # the stored sweep runs keep their keys
    cut = sweep_budget(resolve("paper", augment="crop-cutout"), 50000)
    assert cut.augment == "crop-cutout" and cut.key()["augment"] == "crop-cutout"
    assert {k: v for k, v in cut.key().items() if k != "augment"} == plain.key()
    budgets = distill_budgets(params, 50000)
    assert list(budgets) == params["distill_augments"]
    assert budgets["report"] == plain and budgets["crop-cutout"] == cut


def test_the_teachers_chapters_recipes_take_its_input_size():
    from semisup_utils.book.notebook import distill_recipes

    recipes = {r.name: r for r in distill_recipes(resolve("smoke"))}
    assert recipes["lite0-224flip-cal-soft"].views == (("effnet-lite0", 32, "flip"),)
    assert recipes["A"].views == get_recipe("A").views  # no teacher, nothing to resize
    assert resolve("published")["distill_size"] == 224


def test_screening_budget_follows_its_precision_and_keeps_the_published_key():
    """Chapters 8 and 11 build the screening budget in one place; the published profile's key
    is the one its runs were stored under (precision auto)."""
    laptop = notebook.parameters({"profile": "laptop"})
    published = notebook.parameters({"profile": "published"})
    assert notebook.screening_budget(laptop, 5000).precision == "fast"
    budget = notebook.screening_budget(published, 50000)
    assert budget.key() == Budget.epochs_of(3, 50000, batch_size=128).key()
    with pytest.raises(ParameterError, match="screening_precision"):
        notebook.parameters({"profile": "laptop", "screening_precision": "fp16"})
