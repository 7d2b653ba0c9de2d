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


# ----------------------------------------------------------------------------- names by section
def _kernel(chapter, injected: dict) -> dict:
    """The namespace a chapter's kernel holds when ``notebook.parameters`` is called after
    papermill injected ``injected`` (its history: the parameters cell, then papermill's)."""
    cell = "\n".join(parameters_cell(chapter))
    namespace = {name: None for name in declared(chapter)}
    namespace.update(profile="smoke", section=parameters.section_of(chapter), **injected)
    lines = "".join(f"{name} = {value!r}\n" for name, value in injected.items())
    namespace["In"] = ["", cell, "# Parameters\n" + lines, "P = notebook.parameters(globals())"]
    return namespace


def test_each_concept_has_one_name_in_every_section():
    """Seeds are `seeds`, input sizes `input_size`, ... in whichever section: no parameter's
    name carries its experiment's prefix (the 36 names of nine concepts before)."""
    shorts = {p.short for p in REGISTRY.values()}
    for prefix in ("sweep_", "distill_", "beyond_", "screening_", "report_", "budget_"):
        assert not [s for s in shorts if s.startswith(prefix)], prefix
    assert {"seeds", "M_list", "input_size", "epochs", "recipes", "precision"} <= shorts
    assert parameters.RENAMED["sweep_seeds"] == ("sweep", "seeds")
    assert parameters.RENAMED["beyond_size"] == ("screening", "input_size")
    assert parameters.key_of("seeds", "sweep") == "sweep_seeds"
    assert parameters.key_of("seeds", "distill") == "distill_seeds"
    assert parameters.key_of("epochs", "distill") == "sweep_epochs"  # built on the sweep's
    assert parameters.key_of("screening_M_list", "sweep") == "beyond_M_list"


@pytest.mark.parametrize("chapter", runner.chapters(), ids=lambda p: p.stem)
def test_no_old_name_changes_meaning_in_a_chapter(chapter):
    """A name a chapter took before sections named them, and still takes, means what it meant
    there: no short name stands in for another parameter the chapter reads."""
    names = parameters.names_of(chapter)
    reads = set(names.values())
    for name, key in names.items():
        assert not (name in REGISTRY and name in reads and key != name), \
            f"{chapter.stem}: {name} is now {key}, and was {name}"


def _renamed_in_chapters():
    return [(old, chapter) for old in sorted(parameters.RENAMED) for chapter in runner.chapters()
            if old in parameters.names_of(chapter).values()]


@pytest.mark.parametrize("old, chapter", _renamed_in_chapters(),
                         ids=lambda v: v if isinstance(v, str) else v.stem[:2])
def test_an_old_name_passed_to_a_chapter_is_taken_as_its_new_one_with_a_warning(old, chapter):
    """Papermill's `-p beyond_size 64` to chapter 8 still works: DeprecationWarning naming
    the new name (`input_size`), the same value under the same key (so the same runs); an old
    name that is the parameter's qualified name (`sweep_seeds`) is taken as it is."""
    import warnings

    new = {key: name for name, key in parameters.names_of(chapter).items()}[old]
    value = PROFILES["smoke"][old]
    if old == REGISTRY[old].qualified:  # its qualified name too (sweep_seeds): no warning
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            P = notebook.parameters(_kernel(chapter, {old: value}))
    else:
        with pytest.warns(DeprecationWarning, match=rf"parameter {old} is now {new}\b"):
            P = notebook.parameters(_kernel(chapter, {old: value}))
    assert P[old] == value and P.names[old] == new


def test_every_old_name_is_taken_by_every_command_with_a_warning():
    """`semisup compare/sweep/distill/teachers -p OLD ...` keep working: each old name is
    taken under its key, naming its new name as that command spells it."""
    for section in set(notebook.COMMAND_SECTIONS.values()):
        names = parameters.names_in(section)
        for old in parameters.RENAMED:
            new = parameters.name_in(old, section)
            if old == REGISTRY[old].qualified:  # its qualified name too: no warning
                assert parameters.respell({old: 1}, names, "here") == {new: 1}
                continue
            with pytest.warns(DeprecationWarning, match=rf"{old} is now {new}\b"):
                assert parameters.respell({old: 1}, names, "here") == {new: 1}
            assert names[new] == old


def test_a_chapter_given_a_parameter_by_its_old_and_new_name_is_refused():
    screening = runner.find_chapters(["08"])[0]
    with pytest.warns(DeprecationWarning, match="beyond_seeds is now seeds"), \
            pytest.raises(ParameterError, match=r"(beyond_seeds and seeds|seeds and "
                                                r"beyond_seeds) are both seeds"):
        notebook.parameters(_kernel(screening, {"seeds": [1], "beyond_seeds": [0]}))
    # by its short and its qualified name alike
    sweep = runner.find_chapters(["09"])[0]
    with pytest.raises(ParameterError, match="are both seeds"):
        notebook.parameters(_kernel(sweep, {"seeds": [1], "sweep_seeds": [0]}))
    # a name no chapter of that section reads stays unknown, naming the chapter's own
    with pytest.raises(ParameterError, match="'distill_seeds' for this chapter.*its "
                                             "parameters: .*recipes"):
        notebook.parameters(_kernel(sweep, {"distill_seeds": [0]}))


def test_the_runner_passes_old_names_to_papermill_by_their_new_ones(tmp_path):
    """`semisup run 08 -p beyond_size 64`: checked and handed to papermill as `input_size`
    (with a warning); `semisup run 09 -p sweep_seeds '[0]'` as `seeds`."""
    import warnings

    screening = runner.convert(runner.find_chapters(["08"])[0], tmp_path / "08.ipynb")
    with pytest.warns(DeprecationWarning, match="beyond_size is now input_size"):
        given = runner.check_parameters(screening, "smoke", {"beyond_size": 64})
    assert given == {"input_size": 64}
    with pytest.raises(ParameterError, match="both input_size"):
        runner.check_parameters(screening, "smoke", {"beyond_size": 64, "input_size": 32})
    sweep = runner.convert(runner.find_chapters(["09"])[0], tmp_path / "09.ipynb")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert runner.check_parameters(sweep, "smoke", {"sweep_seeds": [0]}) == {"seeds": [0]}
    with pytest.raises(ParameterError, match="unknown parameter 'section'"):
        runner.check_parameters(sweep, "smoke", {"section": "distill"})


def test_several_chapters_each_take_their_own_of_a_shared_short_name():
    """`semisup run -p M_list '[30, 60]' -p distill_M_list '[30]'`: M_list is each chapter's
    own list of M (the report's, the screening's, the teachers'), the qualified name the
    teachers chapter's alone."""
    given = {"M_list": [30, 60], "distill_M_list": [30], "screening_epochs": 2}
    own = {c.stem[:2]: runner._own(given, parameters.names_of(c)) for c in runner.chapters()}
    assert own["06"] == {"M_list": [30, 60]}
    assert own["08"] == {"M_list": [30, 60], "screening_epochs": 2}
    assert own["10"] == {"distill_M_list": [30]}
    assert own["01"] == {}
