"""Every chapter's missing runs name the command that computes them (issue 33, item 3).

At the published profile (train_missing false) on data the store lacks, each grid a chapter
trains is refused (one M and one seed) or left out with a warning (more), naming a
``semisup`` command; that command, parsed as the CLI parses it and built by the CLI's own
builder, plans exactly the missing runs' keys. Nothing trains: an empty store, 300 synthetic
images."""
from __future__ import annotations

import re
import shlex
import warnings
from dataclasses import replace

import pytest

from semisup_utils import cli
from semisup_utils.book import notebook
from semisup_utils.study.executors import compare, run_grid
from semisup_utils.study.runs import MissingRunError, MissingRunWarning, Run, plan, run_key
from semisup_utils.study.store import ResultsStore

# the CLI's grid commands: the parameters that cut their grid and the builder they call
BUILDERS = {
    cli._cmd_sweep: (("M_list", "seeds", "models"), lambda p, n: notebook.report_runs(p)),
    cli._cmd_compare: (("M_list", "sweep_seeds", "sweep_recipes"), notebook.sweep_runs),
    cli._cmd_distill: (cli.DISTILL_GRID, notebook.distill_runs),
}


def chapter(declared, **values):
    """A chapter's parameters at the published profile on 300 images: ``declared`` as its
    parameters cell declares them (None: the profile's), ``values`` given."""
    given = {name: None for name in declared}
    given.update(profile="published", n_train=300, n_test=200, **values)
    return notebook.parameters(given)


def refusal(data, P, grid, tmp_path) -> str:
    """The command named for ``grid``'s runs, all missing: from the refusal of a grid of one M
    and seed, else from the warning of the runs left out."""
    reader = replace(notebook.context(P), store=ResultsStore(tmp_path / "results"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run_grid(data, grid, reader)
            message = next(str(w.message) for w in caught
                           if issubclass(w.category, MissingRunWarning))
        except MissingRunError as error:
            message = str(error)
    assert reader.store.rows() == []  # nothing trained
    return re.search(r"`(semisup [^`]+)`", message).group(1)


def planned_keys(data, command: str) -> set[str]:
    """The keys of the grid ``command`` computes, parsed and built as the CLI does."""
    args = cli.build_parser().parse_args(shlex.split(command)[1:])
    declared, build = BUILDERS[args.func]
    params = cli._parameters(args, declared)
    assert params["train_missing"] is True and params["profile"] == "published"
    return {str(run_key(data, run)) for run in build(params, data.n_train)}


def keys(data, grid: list[Run]) -> set[str]:
    return {str(run_key(data, run)) for run in grid}


@pytest.mark.parametrize("ms, seeds", [([100], [0]), ([50, 100], [0, 1])])
def test_the_reports_grid_names_semisup_sweep(synthetic, tmp_path, ms, seeds):
    """Chapters 5 (one M and seed: refused) and 6 (a sweep: left out, warned)."""
    P = chapter(["M_list", "seeds", "models", "epochs"], M_list=ms, seeds=seeds)
    grid = notebook.report_runs(P)
    named = refusal(synthetic, P, grid, tmp_path)
    assert named.startswith("semisup sweep --profile published -p train_missing true"), named
    assert planned_keys(synthetic, named) == keys(synthetic, grid)


def test_chapter_8s_screening_names_compare_at_its_budget(synthetic, tmp_path):
    """Chapter 8's screening grid has no command of its own: ``semisup compare`` with the
    screening budget's passes and precision computes it."""
    P = chapter(["screening_M_list", "screening_seeds", "screening_recipes",
                 "screening_epochs", "screening_precision", "screening_input_size",
                 "batch_size", "backbone"],
                screening_M_list=[50, 100], screening_epochs=2, screening_precision="fp32")
    budget = notebook.screening_budget(P, synthetic.n_train)
    grid = plan(P["beyond_M_list"], P["beyond_seeds"], notebook.screening_recipes(P), budget)
    named = refusal(synthetic, P, grid, tmp_path)
    assert named.startswith("semisup compare"), named
    # compare takes the sweep's names short (`semisup params`): epochs, precision
    assert "-p epochs 2" in named and "-p precision fp32" in named, named
    assert planned_keys(synthetic, named) == keys(synthetic, grid)


@pytest.mark.parametrize("ms", [[100], [50, 100]])
def test_chapter_9s_sweep_and_schedule_comparison_name_compare(synthetic, tmp_path, ms):
    """Chapter 9's sweep, and its schedule comparison (Model A and the ceiling at
    ``schedule_epochs``, a constant rate and the profile's schedule): each budget's command."""
    P = chapter(["M_list", "beyond_M_list", "schedule_epochs", "sweep_recipes", "sweep_seeds",
                 "sweep_epochs", "beyond_size", "batch_size", "arch", "precision", "schedule"],
                M_list=ms, beyond_M_list=ms, sweep_seeds=[0], schedule_epochs=2,
                sweep_epochs=3, schedule="onecycle")
    sweep = notebook.sweep_runs(P, synthetic.n_train)
    named = refusal(synthetic, P, sweep, tmp_path)
    assert named.startswith("semisup compare"), named
    assert "-p epochs 2" not in named and "-p schedule constant" not in named, named
    assert planned_keys(synthetic, named) == keys(synthetic, sweep)

    screen = notebook.sweep_budget({**P, "sweep_epochs": P["schedule_epochs"]},
                                   synthetic.n_train)
    for budget, schedule in ((replace(screen, schedule="constant"), "constant"),
                             (screen, None)):
        grid = plan(ms, [0], ["A", "ceiling"], budget)
        named = refusal(synthetic, P, grid, tmp_path)
        assert named.startswith("semisup compare"), named
        assert "-p epochs 2" in named, named
        assert ("-p schedule constant" in named) == (schedule == "constant"), named
        assert planned_keys(synthetic, named) == keys(synthetic, grid)


def test_chapter_10s_students_name_distill(synthetic, tmp_path):
    """Chapter 10's students, one compare per augmentation (as the chapter runs them)."""
    P = chapter(["distill_M_list", "distill_seeds", "distill_recipes", "distill_augments"],
                distill_M_list=[50, 100], distill_seeds=[0])
    budgets = notebook.distill_budgets(P, synthetic.n_train)
    for budget in budgets.values():
        grid = plan(P["distill_M_list"], P["distill_seeds"], notebook.distill_recipes(P),
                    budget)
        named = refusal(synthetic, P, grid, tmp_path)
        assert named.startswith("semisup distill --among none"), named
        assert keys(synthetic, grid) <= planned_keys(synthetic, named)


def test_a_chapters_compare_call_warns_with_the_command(synthetic, tmp_path):
    """``executors.compare`` (what chapters 8-10 call) passes the warning through."""
    P = chapter(["M_list", "sweep_seeds", "sweep_recipes"], M_list=[50, 100])
    reader = replace(notebook.context(P), store=ResultsStore(tmp_path / "results"))
    with pytest.warns(MissingRunWarning, match=r"`semisup compare --profile published"):
        compare(synthetic, [50, 100], P["sweep_seeds"], notebook.sweep_recipes(P),
                notebook.sweep_budget(P, synthetic.n_train), reader)
