"""Execute chapters: jupytext source -> notebook -> papermill, into ``book/``.

papermill cannot read jupytext ``.py`` files, so each chapter is converted first (keeping its
kernelspec, so papermill needs no ``-k``). Parameter names are checked against the chapter's
``parameters`` cell and values against :mod:`semisup_utils.study.profiles` before anything runs.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..study.parameters import RUN_OPTIONS, ParameterError, chapter_names, respell
from ..study.profiles import check_profile, resolve

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


class ChapterError(ValueError):
    pass


class _RunOptionsAreKnown(logging.Filter):
    """papermill warns of every parameter a chapter's parameters cell lacks; the run options
    are not declared there, and every chapter takes them (profiles.RUN_OPTIONS)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in {f"Passed unknown parameter: {name}"
                                           for name in RUN_OPTIONS}


logging.getLogger("papermill").addFilter(_RunOptionsAreKnown())


PATH_VARIABLES = ("SEMISUP_DATA", "SEMISUP_RESULTS", "SEMISUP_CACHE")


def absolute_paths(environ=os.environ) -> dict:
    """Make the relative paths in $SEMISUP_DATA/RESULTS/CACHE absolute, from the caller's folder.

    A chapter's kernel runs in the project root, so a relative path there would name another
    folder than the one the user meant (two stores, or data "missing"). Returns what changed."""
    changed = {}
    for name in PATH_VARIABLES:
        value = environ.get(name)
        if value and not os.path.isabs(os.path.expanduser(value)):
            environ[name] = changed[name] = str(Path(value).expanduser().resolve())
    return changed


def chapters(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """The chapter sources in reading order (``NN_name.py``)."""
    return sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.py"))


# pages that summarise what the chapters stored: executed after them, wherever they sit in the
# book (page one states the study's answer from the runs the teachers chapter trains)
SUMMARY_PAGES = ("00_abstract",)


def execution_order(paths) -> list[Path]:
    """``paths`` once each, in reading order, the summary pages last."""
    unique = sorted(dict.fromkeys(paths))
    return ([p for p in unique if p.stem not in SUMMARY_PAGES]
            + [p for p in unique if p.stem in SUMMARY_PAGES])


def find_chapters(names, notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """Chapters by name ('05_models_abc'), prefix ('05') or path, each once, in the order they
    execute (:func:`execution_order`); all when names is empty."""
    known = chapters(notebooks_dir)
    if not names:
        return execution_order(known)
    found = []
    for name in names:
        stem = Path(name).stem
        matches = [p for p in known if p.stem == stem or p.stem.split("_")[0] == stem]
        if len(matches) != 1:
            raise ChapterError(f"unknown chapter {name!r}; known chapters: "
                               f"{', '.join(p.stem for p in known)}")
        found.append(matches[0])
    return execution_order(found)


def convert(source: Path, output: Path) -> Path:
    """Write the jupytext source as an .ipynb with the python3 kernelspec."""
    import jupytext

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = KERNELSPEC
    notebook.metadata.setdefault("language_info", {"name": "python"})
    notebook.metadata.pop("jupytext", None)
    output.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, output, fmt="ipynb")
    return output


def chapter_parameters(notebook: Path) -> dict:
    """{name: key} of what a chapter takes (:func:`parameters.chapter_names`): the names its
    parameters cell declares, by its ``section``, and the run options."""
    import ast

    import papermill

    cell = papermill.inspect_notebook(str(notebook))
    section = cell.pop("section", None)
    section = ast.literal_eval(section["default"]) if section else None
    return chapter_names(list(cell), section)


def check_parameters(notebook: Path, profile: str, parameters: dict) -> dict:
    """The parameters by the chapter's names (an old name taken with a DeprecationWarning
    naming its new one); unknown names (listing the chapter's), a parameter given by two names
    and invalid values are refused, before running."""
    check_profile(profile)
    names = chapter_parameters(notebook)
    if "profile" not in names:
        raise ChapterError(f"{notebook.name} has no 'parameters' cell with a profile")
    given = respell(parameters, names, notebook.stem)
    keys = {key: name for name, key in names.items()}
    resolve(profile, reads=keys, labels=keys,
            **{names[k]: v for k, v in given.items() if k != "profile"})
    return given


def execute(chapter: Path, profile: str = "default", parameters: dict | None = None,
            output_dir: Path | str = PROJECT_ROOT / "book", work_dir: Path | None = None,
            progress: bool = True) -> tuple[Path, float]:
    """Convert and execute one chapter; returns the executed notebook and its wall seconds."""
    import papermill

    parameters = dict(parameters or {})
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="semisup-run-") as tmp:
            return execute(chapter, profile, parameters, output_dir, Path(tmp), progress)
    source_nb = convert(chapter, work_dir / f"{chapter.stem}.ipynb")
    parameters = check_parameters(source_nb, profile, parameters)
    absolute_paths()
    output = output_dir / f"{chapter.stem}.ipynb"
    # executed into a temporary file, moved into place only when the whole chapter ran: an
    # interrupted or failed run never replaces the last good chapter of the book
    partial = work_dir / f"{chapter.stem}.executing.ipynb"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(str(source_nb), str(partial),
                                   parameters={"profile": profile, **parameters},
                                   cwd=str(PROJECT_ROOT), progress_bar=progress,
                                   report_mode=False)
    except BaseException as error:  # a failed cell, a timeout, Ctrl-C
        keep_failed(partial, chapter.stem, output, error)
        raise
    seconds = time.perf_counter() - start
    hide_parameter_cells(partial)
    install(partial, output)
    export_figures(output, output_dir / "figures")
    return output, seconds


def install(executed: Path, output: Path) -> None:
    """Put the executed notebook in place atomically: copied to a temporary file in the output
    folder, then renamed over the old page. A full disk or a cut-off copy leaves the old page
    whole; the error names the page."""
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".ipynb.tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as target, open(executed, "rb") as source:
            shutil.copyfileobj(source, target)
            target.flush()
            os.fsync(target.fileno())
        os.replace(tmp, output)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise ChapterError(f"cannot write {output} ({error.strerror or error}); the page there "
                           "is unchanged: free space in that folder or pass another "
                           "--output-dir") from error


def keep_failed(partial: Path, stem: str, output: Path, error: BaseException) -> None:
    """Keep what a failed chapter executed, under a new unique name (never through a link or
    over another run's file), and say where in the error; failing to keep it never hides
    the chapter's own error."""
    if not partial.exists():
        return
    try:
        fd, kept = tempfile.mkstemp(prefix=f"semisup-failed-{stem}-", suffix=".ipynb")
        with os.fdopen(fd, "wb") as target, open(partial, "rb") as source:
            shutil.copyfileobj(source, target)
        note = f"{stem} did not finish; {output} is unchanged; the partial notebook is kept at " \
               f"{kept}"
    except OSError as problem:
        note = f"{stem} did not finish; {output} is unchanged (the partial notebook could not " \
               f"be kept: {problem})"
    if hasattr(error, "add_note"):
        error.add_note(note)


FIGURE_TAG = "figure-"  # a cell tagged "figure-NAME" has its figure kept as figures/NAME.png


def export_figures(notebook_path: Path, folder: Path) -> list[Path]:
    """Write the PNG of every cell tagged ``figure-NAME`` to ``folder/NAME.png``: the figures
    the README shows are the book's own, rendered with it (``book/figures/``)."""
    import base64

    import nbformat

    written = []
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        names = [t[len(FIGURE_TAG):] for t in cell.metadata.get("tags", [])
                 if t.startswith(FIGURE_TAG)]
        images = [o["data"]["image/png"] for o in cell.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        for name in names:
            if images:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{name}.png"
                path.write_bytes(base64.b64decode(images[-1]))
                written.append(path)
    return written


# the cells papermill reads and writes: the chapter's defaults ("None": take the profile's) and
# what this execution was given. The page's data line states the values in force instead
# (notebook.data_note), so the book leaves both cells out; the notebook keeps them.
PARAMETER_TAGS = ("parameters", "injected-parameters")


def hide_parameter_cells(path: Path) -> None:
    """Leave the parameters cells out of the rendered book (myst-nb's ``remove-cell`` tag)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if any(t in tags for t in PARAMETER_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(notebook, path)


def parse_value(text: str):
    """'1000' -> 1000, '[500, 5000]' -> list, 'kmeans' -> 'kmeans', 'null' -> None."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def run(names, profile: str | None, parameters: dict, output_dir, data: str | None = None,
        progress: bool = True) -> list[tuple[Path, float]]:
    profile, parameters = profile_from(profile, parameters)
    if data is not None:
        os.environ["SEMISUP_DATA"] = str(Path(data).expanduser().resolve())
    absolute_paths()
    selected = find_chapters(names)
    if resolve(profile, **{k: v for k, v in parameters.items() if k == "train_missing"}
               )["train_missing"]:
        from ..study.store import ResultsStore

        ResultsStore().check_writable()  # before any chapter trains, not after
    with tempfile.TemporaryDirectory(prefix="semisup-run-") as tmp:
        return _run(selected, profile, parameters, output_dir, Path(tmp), progress)


def profile_from(profile: str | None, parameters: dict) -> tuple[str, dict]:
    """The profile to run, whether it came as ``--profile X`` or as ``-p profile X``, and the
    other parameters. ``-p profile X`` gets the same checks as ``--profile X`` (it used to reach
    the chapters unchecked, the checks done against the default profile); the two disagreeing is
    refused. None and no ``-p profile``: the default profile."""
    parameters = dict(parameters)
    if "profile" in parameters:
        given = parameters.pop("profile")
        if not isinstance(given, str):
            raise ParameterError(f"parameter profile={given!r} is not allowed: expected a "
                                 "profile's name")
        if profile is not None and profile != given:
            raise ParameterError(f"--profile {profile} and -p profile {given} disagree; give "
                                 "the profile once")
        profile = given
    return check_profile(profile if profile is not None else "default"), parameters


def _run(selected, profile, parameters, output_dir, work_dir, progress):
    # validate every chapter's parameters before running any of them
    known = {chapter: chapter_parameters(convert(chapter, work_dir / f"{chapter.stem}.ipynb"))
             for chapter in selected}
    for chapter in selected:
        own = parameters if len(selected) == 1 else _own(parameters, known[chapter])
        check_parameters(work_dir / f"{chapter.stem}.ipynb", profile, own)
    if len(selected) > 1:
        everywhere = set().union(*known.values())
        unknown = [n for n in parameters
                   if not any(_own({n: None}, names) for names in known.values())]
        if unknown:
            raise ParameterError(f"unknown parameter(s) {', '.join(map(repr, unknown))}; "
                                 f"the chapters' parameters: {', '.join(sorted(everywhere))}")
    done = []
    for chapter in selected:
        own = _own(parameters, known[chapter])
        output, seconds = execute(chapter, profile, own, output_dir, work_dir, progress)
        print(f"executed {chapter.stem} ({profile}) in {seconds:.1f} s -> {output}")
        done.append((output, seconds))
    return done


def _own(parameters: dict, names: dict) -> dict:
    """The parameters one chapter of several is given: those it takes ({name: key}), by
    their names, their qualified names or the keys they had before sections named them. Where
    it is given one by its short name (`M_list`, which chapters of other sections read as
    theirs) and by its qualified name (`distill_M_list`), the qualified one is its."""
    from ..study.parameters import REGISTRY, qualified_key

    def key(name):
        return names.get(name) or qualified_key(name) or name

    own = {k: v for k, v in parameters.items() if key(k) in names.values()}
    for name, value in list(own.items()):
        qualified = REGISTRY[key(name)].qualified if key(name) in REGISTRY else name
        if qualified != name and qualified in own:
            del own[name]
    return own
