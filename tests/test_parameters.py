"""The parameter registry (issue 33, item 2): every name a chapter or command takes is
registered once, with its meaning, allowed values and section; the chapters, the profiles and
the docs agree with it; ``semisup params`` prints it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from semisup_utils import cli
from semisup_utils.book import chapters as runner, notebook
from semisup_utils.study import parameters
from semisup_utils.study.parameters import (REGISTRY, RUN_OPTIONS, SECTIONS, declared,
                                      parameters_cell)
from semisup_utils.study.profiles import PROFILES, STUDIES, ParameterError, resolve

ROOT = Path(__file__).resolve().parents[1]


def test_every_entry_says_its_meaning_what_it_allows_and_its_section():
    for name, parameter in REGISTRY.items():
        assert parameter.name == name
        assert parameter.section in (None, *SECTIONS), name
        assert parameter.meaning and "\n" not in parameter.meaning, name
        assert parameter.allowed and "\n" not in parameter.allowed, name


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_a_chapters_parameters_are_registered_and_documented_there_only(chapter):
    """Every name a parameters cell declares is registered and read by that chapter; the
    cell carries no comment of its own on a name's line (the registry is the documentation:
    `semisup params NN`), so the two cannot disagree."""
    names = declared(chapter)
    assert names[0] == "profile" and len(names) == len(set(names))
    assert parameters.section_of(chapter) in SECTIONS
    keys = parameters.names_of(chapter)  # raises on a name that is no parameter there
    assert len(set(keys.values())) == len(keys), f"{chapter.stem} names a parameter twice"
    reads = parameters.chapters_reading([chapter])
    assert all(chapter.stem in reads[keys[name]] for name in names)
    for line in parameters_cell(chapter):
        if "=" in line.split("#")[0]:
            assert "#" not in line, f"{chapter.stem}: {line!r} documents a parameter in place"
    assert any("semisup params" in line for line in parameters_cell(chapter))


def test_chapters_reading_derives_from_the_parameters_cells():
    reads = parameters.chapters_reading(runner.chapters())
    assert reads["sweep_recipes"] == ["09_beyond_sweep", "11_conclusions"]
    assert reads["teacher_validation"] == ["10_teachers"]
    every = [p.stem for p in runner.chapters()]
    assert all(reads[name] == every for name in RUN_OPTIONS)
    assert reads["profile"] == every


def test_docs_pass_only_registered_parameters():
    """README and docs/ list no parameters of their own (they point to `semisup params`); every
    `-p NAME` they show is a registered name, so a renamed parameter cannot linger there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "semisup params" in readme
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for name in re.findall(r"(?<![\w-])-p ([A-Za-z_]\w*) ", path.read_text("utf-8")):
            assert name in parameters.names_in("report") or any(
                name in parameters.names_in(s) for s in SECTIONS), \
                f"{path.name}: -p {name} is not a parameter"
            assert name not in parameters.RENAMED, f"{path.name}: -p {name} is an old name"


@pytest.mark.parametrize("profile", list(STUDIES))
def test_every_profile_value_is_allowed_by_the_registry_and_builds(profile):
    values = PROFILES[profile]
    assert set(values) == set(REGISTRY) - {"profile"}
    for name, value in values.items():
        REGISTRY[name].check(name, value)  # raises on a value the registry does not allow
    params = resolve(profile)  # the builders the chapters call accept every section
    n = params["n_train"] or 50000
    assert notebook.report_runs(params) and notebook.screening_recipes(params)
    assert notebook.screening_budget(params, n) and notebook.sweep_recipes(params)
    assert notebook.distill_runs(params, n)


def test_a_value_outside_the_allowed_is_refused_naming_it():
    with pytest.raises(ParameterError, match=r"ema=1\b.*\[0, 1\)"):
        resolve("smoke", ema=1)
    with pytest.raises(ParameterError, match="precision='fp8'.*bf16"):
        resolve("smoke", precision="fp8")


def test_ema_is_the_sweeps_and_keeps_every_stored_key():
    """0 (every profile's) keeps the keys the store was computed under; another decay is in the
    sweep's and the teachers' students' budgets (and their keys), not the report's."""
    params = resolve("paper")
    assert all(PROFILES[p]["ema"] == 0.0 for p in PROFILES)
    assert "ema" not in notebook.sweep_budget(params, 50000).key()
    averaged = resolve("paper", ema=0.999)
    assert notebook.sweep_budget(averaged, 50000).key()["ema"] == 0.999
    assert all(b.ema == 0.999 for b in notebook.distill_budgets(averaged, 50000).values())
    assert notebook.report_budget(averaged) == notebook.report_budget(params)


def test_params_prints_a_chapters_parameters_with_the_profiles_values(capsys):
    assert cli.main(["params", "05", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    names = re.findall(r"^  (\w+) = ", out, flags=re.M)
    assert set(names) == set(declared(runner.find_chapters(["05"])[0])) | set(RUN_OPTIONS)
    assert cli.main(["params", "09", "--profile", "smoke"]) == 0
    out09 = capsys.readouterr().out
    assert f"  seeds = {PROFILES['smoke']['sweep_seeds']!r}" in out09
    assert "  screening_M_list = " in out09 and "sweep_seeds" not in out09.split("formerly")[0]
    assert f"  epochs = {PROFILES['smoke']['epochs']!r}" in out
    assert REGISTRY["weight"].meaning in out.replace("\n      ", " ")
    assert cli.main(["params"]) == 0
    every = capsys.readouterr().out
    assert set(re.findall(r"^  (\w+) = ", every, flags=re.M)) == \
        {p.short for p in REGISTRY.values()}
    assert "taken by chapters 10" in every.replace("\n      ", " ")
    assert cli.main(["params", "99"]) == 2
    assert "unknown chapter '99'" in capsys.readouterr().err


def test_abc_builds_the_report_models_with_the_chapters_builder(monkeypatch, capsys):
    """`semisup abc` plans the recipes and budget notebook.report_recipes/report_budget build
    (one builder; it re-implemented them before)."""
    from semisup_utils.study import executors

    seen = {}

    def stop(data, runs, ctx, **kwargs):
        seen["runs"] = runs
        raise FileNotFoundError("stopped")

    monkeypatch.setattr(executors, "run_grid", stop)
    monkeypatch.setattr("semisup_utils.data.dataset.load_cifar10", lambda *a, **k: object())
    argv = ["abc", "--m", "500", "--models", "A", "B", "C", "--method", "logreg",
            "--input-size", "64", "--weight", "0.3", "--epochs", "7", "--quiet"]
    assert cli.main(argv) == 2
    params = {**resolve("smoke"), "method": "logreg", "input_size": 64, "weight": 0.3,
              "epochs": 7, "batch_size": 128, "backbone": "effnet-lite0",
              "report_precision": "auto"}
    expected = notebook.report_runs(params, ms=[500], seeds=[0])
    assert [(r.recipe, r.budget) for r in seen["runs"]] == \
        [(r.recipe, r.budget) for r in expected]
