"""The ``semisup`` command: execute chapters, run Models A/B/C, compute the chapters' grids
(``sweep``, ``compare``, ``teachers``, ``distill``: built by the chapters' own builders), check
the store, list what is known."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_run(args) -> int:
    from .book.chapters import run, parse_value

    parameters = {name: parse_value(value) for name, value in args.parameter}
    run(args.chapters, args.profile, parameters, args.output_dir, data=args.data,
        progress=not args.quiet)
    return 0


def _cmd_abc(args) -> int:
    import time

    from .book.notebook import report_budget, report_recipes
    from .data.dataset import load_cifar10, subsample
    from .study.executors import run_grid
    from .study.profiles import validate
    from .study.runs import Context, plan
    from .study.store import ResultsStore

    validate("M", args.m)  # refuse bad values before loading anything
    validate("seed", args.seed)
    for name in ("n_train", "n_test"):  # 0 would silently mean "all of them"
        if getattr(args, name) is not None:
            validate(name, getattr(args, name))
    # Models A, B and C built by the chapters' own builders, from these options
    params = {name: validate(name, value) for name, value in {
        "device": args.device, "models": args.models, "method": args.method,
        "backbone": args.backbone, "input_size": args.input_size, "weight": args.weight,
        "epochs": args.epochs, "batch_size": args.batch_size, "arch": args.arch,
        "report_precision": "auto"}.items()}
    budget, recipes = report_budget(params), report_recipes(params)
    store = ResultsStore(args.results)
    store.check_writable()  # before the data and the training, not after
    data = load_cifar10(args.data)
    if args.n_train or args.n_test:
        data = subsample(data, args.n_train, args.n_test, seed=0)
    ctx = Context(store=store, device=args.device, profile="cli", progress=not args.quiet)
    start = time.perf_counter()
    frame = run_grid(data, plan([args.m], [args.seed], recipes, budget), ctx)
    table = frame[["recipe", "m", "seed", "amount", "teacher", "views", "label_acc", "test_acc",
                   "wall_s", "device"]].rename(columns={"recipe": "model", "amount": "epochs"})
    print(f"data: {data.source}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"total wall time {time.perf_counter() - start:.0f} s (stored runs are not retrained)")
    return 0


def _check_store(params: dict) -> None:
    """Refuse an unwritable results store before loading data or training (not after)."""
    from .study.store import ResultsStore

    if params.get("train_missing", True):
        ResultsStore().check_writable()


def _cmd_store(args) -> int:
    """``semisup store check [--repair]``: the lines of the results store (runs.jsonl and
    labels.jsonl) that are not usable rows (every command warns about them and skips them);
    --repair moves them to a quarantine file beside each. Exit 1 when such lines remain."""
    from .study.label_runs import LABELS_FILE
    from .study.store import ResultsStore

    store = ResultsStore(args.results)
    if args.store_command == "merge":
        source = Path(args.source)
        if not source.is_dir():
            print(f"semisup: error: {source} is not a folder; give the results folder that "
                  "holds runs.jsonl and labels.jsonl", file=sys.stderr)
            return 2
        for filename in ("runs.jsonl", LABELS_FILE):
            here, there = ResultsStore(store.directory, filename), ResultsStore(source, filename)
            if there.path.exists():
                added = here.merge(there)
                print(f"{here.path}: {added} of {len(there.rows())} row(s) of {there.path} "
                      "added (the others were here already)")
        return 0
    if args.store_command == "migrate":
        migrated, backup = store.migrate()
        print(f"{store.path}: {migrated} row(s) migrated to the current schema"
              + (f"; the old file is kept as {backup}" if backup else "; nothing to do"))
        return 0
    status = 0
    for filename in ("runs.jsonl", LABELS_FILE):
        status = max(status, _check_file(ResultsStore(store.directory, filename), args.repair))
    return status


def _check_file(store, repair_it: bool) -> int:
    """``semisup store check`` for one file: its unusable lines (file:line: why: the line),
    moved to its quarantine file with ``repair_it``; 1 when some remain."""
    import warnings

    from .study.store import check, repair

    if not store.path.exists():
        return 0
    bad, quarantine = repair(store) if repair_it else (check(store), None)
    for number, problem, line in bad:
        shown = line if len(line) <= 80 else line[:77] + "..."
        print(f"{store.path}:{number}: {problem}: {shown}")
    with warnings.catch_warnings():  # the lines were just listed
        warnings.simplefilter("ignore")
        rows = len(store.rows())
    if not bad:
        print(f"{store.path}: {rows} rows, every line a usable row")
        return 0
    if quarantine is not None:
        print(f"moved {len(bad)} line(s) from {store.path} to {quarantine} ({rows} rows "
              "kept); their runs count as missing")
        return 0
    print(f"{store.path}: {rows} rows and {len(bad)} line(s) that are not usable rows (their "
          "runs count as missing); `semisup store check --repair` moves them to "
          f"{store.path.name}.quarantine", file=sys.stderr)
    return 1


def _parameters(args, declared=(), section=None):
    """The profile's parameters with the command's ``-p`` overrides (and ``--executor``), by
    the names ``section`` gives them (an old name taken with a DeprecationWarning naming its
    new one), validated before any data is loaded. ``declared``: the keys of the parameters
    that cut the command's grid (only its values of M are checked against n_train; a missing
    run's refusal names this command first where its grid holds the run)."""
    from .book.chapters import parse_value
    from .book.notebook import Parameters
    from .study.parameters import M_PARAMETERS, names_in, respell
    from .study.profiles import resolve

    from .book.notebook import COMMAND_SECTIONS

    names = names_in(section or COMMAND_SECTIONS.get(args.command, "report"))
    overrides = respell({name: parse_value(value) for name, value in args.parameter}, names,
                        f"semisup {args.command}")
    if getattr(args, "executor", None):
        overrides["executor"] = args.executor
    labels = {key: name for name, key in names.items()}
    params = resolve(args.profile, reads=[n for n in declared if n in M_PARAMETERS],
                     labels=labels, **{names[n]: v for n, v in overrides.items()})
    return Parameters(params, declared={key: labels[key] for key in declared})


def _grid(args, runs_of, declared) -> int:
    """Run a grid built from the profile by ``runs_of(params, data)``; print its rows."""
    from .book.notebook import context, load_data

    params = _parameters(args, declared)
    _check_store(params)
    data = load_data(params)  # all of it, or the profile's subset; $SEMISUP_DATA
    return _run_and_print(args, params, data, runs_of(params, data),
                          context(params, progress=not args.quiet))


def _run_and_print(args, params, data, runs, ctx, by=("m", "recipe")) -> int:
    """Train the grid's missing runs with the command's executor, workers and threads (the
    local executor: this process, with ``--threads`` torch threads); print test accuracy
    per ``by``; 1 when runs failed (the others are stored)."""
    from .study.executors import SweepError, run_grid
    from .study.store import rows_frame

    threads = getattr(args, "threads", None)
    if threads and params["executor"] == "local":
        import torch

        torch.set_num_threads(threads)  # the runs train in this process
    try:
        frame = run_grid(data, runs, ctx, executor=params["executor"],
                         workers=getattr(args, "workers", None), threads=threads or 1,
                         address=getattr(args, "address", None))
        failed = None
    except SweepError as error:
        frame, failed = rows_frame(error.rows), error
    if len(frame):
        print(f"budget: {runs[0].budget.describe()}")
        frame["test accuracy (%)"] = 100 * frame["test_acc"]
        frame["m"] = frame["m"].map(lambda m: "all" if m == 0 else m)  # the ceiling: every M
        if "augment" in by:  # stored only where it is not the report's
            frame["augment"] = frame.get("augment", "report")
            frame["augment"] = frame["augment"].fillna("report")
        summary = frame.groupby(list(by), sort=False)["test accuracy (%)"].agg(
            ["mean", "std", "count"]).rename(columns={"count": "seeds"})
        print(summary.to_string(float_format=lambda v: f"{v:.1f}"))
    if failed:
        print(f"semisup: error: {failed}", file=sys.stderr)
        return 1
    return 0


def _cmd_sweep(args) -> int:
    """The report's grid (M_list x seeds x models, the report's protocol) into the store."""
    from .book.notebook import report_runs

    return _grid(args, lambda params, data: report_runs(params), ("M_list", "seeds", "models"))


def _cmd_compare(args) -> int:
    """Chapter 9's sweep (recipes x M x seeds at one budget of steps) into the store."""
    from .book.notebook import sweep_runs

    return _grid(args, lambda params, data: sweep_runs(params, data.n_train),
                 ("M_list", "sweep_seeds", "sweep_recipes"))


# what a teacher study or the teachers chapter's grid is cut by
TEACHER_GRID = ("distill_M_list", "teacher_seeds", "teacher_sizes", "teacher_methods",
                "teacher_concat_methods", "teacher_backbones", "distill_size",
                "teacher_validation")
DISTILL_GRID = ("distill_M_list", "distill_seeds", "distill_recipes", "distill_augments")


def _cmd_teachers(args) -> int:
    """Chapter 10's held-out teacher study into the label store (``findings.teacher_choice``,
    what the chapter calls): every candidate of the profile fitted at each M and teacher seed
    on the known images less a held-out share, stored as it lands (a rerun resumes); per M,
    every candidate's scores and the choice."""
    from .book import findings, notebook
    from .study.teacher_eval import teacher_choices

    params = _parameters(args, TEACHER_GRID)
    _check_store(params)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    data = notebook.load_data(params)
    ctx = notebook.context(params, progress=not args.quiet)
    studies = []
    for m in params["distill_M_list"]:  # one M at a time: each table printed as it is done
        at_m = {**params, "distill_M_list": [m]}
        candidates, study, choice = findings.teacher_choice(data, at_m, ctx, read_only=False)
        studies.append(study)
        print(f"\nM={m}, teacher seeds {params['teacher_seeds']}, "
              f"{params['teacher_validation']:g} of the known images held out: {len(candidates)} "
              "candidates; accuracy and ECE in %, seconds (mean over the seeds)")
        if len(choice):
            print(findings.candidates_table(choice).to_string(
                float_format=lambda v: f"{v:.1f}"))
        for among, other in teacher_choices(study).items():
            picked = other.loc[other["chosen"], "teacher"]
            print(f"chosen among {among}: {picked.iloc[0] if len(picked) else 'none'}")
        if study.attrs["missing"]:
            print(f"{len(study.attrs['missing'])} fits are not stored and this profile "
                  f"computes nothing; `{notebook.teachers_command(params)}` computes them")
    if args.csv and studies:
        import pandas as pd

        pd.concat(studies, ignore_index=True).to_csv(args.csv, index=False)
    return 0


def _cmd_distill(args) -> int:
    """Chapter 10's students into the store: its grid (``notebook.distill_runs``: the
    profile's distill recipes x augmentations x M x seeds at its budget) and the students
    of the teachers chosen on held-out images (``--among``; the choice read from the label
    store, which `semisup teachers` fills), their teachers fitted and cached first
    (``label_runs.fit_teachers``; ``--teachers-only``: nothing else)."""
    from .base.device import cuda_mps
    from .book import notebook
    from .study.label_runs import fit_teachers
    from .study.runs import run_key
    from .study.store import run_id

    params = _parameters(args, DISTILL_GRID)
    _check_store(params)
    if args.teachers_only and not params["train_missing"]:
        raise ValueError(f"--teachers-only fits teachers, and profile {params['profile']!r} "
                         "computes nothing (train_missing=False): add -p train_missing true")
    if args.threads:  # the teacher fits here, and the local executor's training
        import torch

        torch.set_num_threads(args.threads)
    data = notebook.load_data(params)
    ctx = notebook.context(params, progress=not args.quiet)
    runs = notebook.distill_runs(params, data.n_train)
    among = [name for name in args.among if name != "none"]
    if among:
        runs += _chosen_runs(data, params, ctx, among)
    runs = list({run_id(run_key(data, run)): run for run in runs}.values())
    if ctx.train_missing:
        teachers = fit_teachers(data, runs, ctx, workers=args.teacher_workers,
                                threads=args.threads or 1)
        if len(teachers):
            print(teachers.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.teachers_only:
        return 0
    with cuda_mps(args.mps) as mps:
        if args.mps:
            print("CUDA MPS " + ("started for the training processes" if mps else
                                 "not started (no nvidia-cuda-mps-control, or it failed)"))
        return _run_and_print(args, params, data, runs, ctx, by=("augment", "m", "recipe"))


def _chosen_runs(data, params, ctx, among) -> list:
    """The students of the teachers chosen on held-out images, ``among`` every fit and/or
    the C=1 fits (``teacher_eval.teacher_choices``), from the teacher study as stored."""
    from .book import findings, notebook
    from .study.teacher_eval import teacher_choices

    candidates, study, _ = findings.teacher_choice(data, params, ctx)  # read, never fitted
    if study.attrs["missing"]:
        print(f"note: {len(study.attrs['missing'])} teacher fits are not stored; the choice "
              f"reads those stored (`{notebook.teachers_command(params)}` computes them)")
    choices, runs = teacher_choices(study), []
    for name in among:
        if name not in choices:
            print(f"no choice among {name} (the study stored lacks such fits, or others)")
            continue
        choice = choices[name]
        per_m = findings.chosen_student_runs(params, data.n_train, choice, candidates)
        for m in params["distill_M_list"]:
            pick = choice.loc[choice["chosen"] & (choice["M"] == m), "teacher"]
            print(f"chosen among {name}, M={m}: "
                  f"{pick.iloc[0] if len(pick) else 'no teacher stored'}")
            runs += per_m.get(m, [])
    return runs


def _cmd_list(args) -> int:
    from .book.chapters import chapters
    from .study.profiles import PROFILES
    from .study.recipes import RECIPES
    from .teachers.features import BACKBONES
    from .teachers.label_inference import METHODS
    from .teachers.teachers import TEACHERS
    from .training.cnn import ARCHITECTURES

    print("chapters:", ", ".join(p.stem for p in chapters()))
    print("profiles:", ", ".join(PROFILES))
    print("teachers:", ", ".join(TEACHERS))
    print("methods:", ", ".join(METHODS))
    print("backbones:", ", ".join(BACKBONES))
    print("architectures:", ", ".join(ARCHITECTURES))
    print("recipes (A, B, C are the report's models):", ", ".join(RECIPES))
    print("parameters: `semisup params [CHAPTER] [--profile P]`")
    return 0


def _cmd_params(args) -> int:
    """Every parameter (or a chapter's: those its parameters cell declares, and the run
    options every chapter takes) with the profile's value, its meaning and what it allows."""
    from .book.chapters import chapters, find_chapters
    from .study.parameters import REGISTRY, chapters_reading, names_of, section_of, table
    from .study.profiles import resolve

    values = resolve(args.profile)
    if args.chapter:
        chapter = find_chapters([args.chapter])[0]
        names = {key: name for name, key in names_of(chapter).items()}
        print(f"{chapter.stem} (section {section_of(chapter)}: its names short, another "
              f"section's qualified by it), profile {values['profile']!r} (`semisup run "
              f"{chapter.stem[:2]} -p NAME VALUE` overrides one):")
        print(table([key for key in REGISTRY if key in names], values, names=names))
    else:
        print(f"every parameter by its name in its section (in another section's chapter: "
              f"section_name, e.g. sweep_seeds), profile {values['profile']!r}:")
        print(table(list(REGISTRY), values, reads=chapters_reading(chapters())))
    return 0


def _cmd_findings(args) -> int:
    """The study's answer from the results store, as page one states it; ``--readme FILE``
    writes it between the file's findings markers instead of printing it."""
    from pathlib import Path

    from .book import findings, notebook
    from .study.profiles import resolve

    params = resolve(args.profile)
    data = notebook.load_data(params)
    frame = findings.headline(data, params, notebook.context(params))
    steps = next(iter(notebook.distill_budgets(params, data.n_train).values())).amount
    block = findings.readme_block(frame, steps, args.profile)
    if args.readme is None:
        print(block)
        return 0
    path = Path(args.readme)
    path.write_text(findings.replace_block(path.read_text(encoding="utf-8"), block),
                    encoding="utf-8")
    print(f"{path}: findings rewritten from the store (profile {args.profile!r})")
    return 0


def _profile_options(parser, example: str = "", default: str | None = "default",
                     more: str = "") -> None:
    """``--profile`` and ``-p NAME VALUE``, the same on every command that runs a study."""
    parser.add_argument("--profile", default=default,
                        help="laptop (the default), smoke, reduced, paper or published" + more)
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="override one parameter, by its name in the command's section "
                             "(`semisup params`; YAML value)"
                             + (f", e.g. {example}" if example else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semisup", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute chapters with papermill into book/")
    run.add_argument("chapters", nargs="*", help="e.g. 05_models_abc or 05; all when omitted")
    _profile_options(run, default=None, more="; or -p profile X")
    run.add_argument("--output-dir", default=None, help="where executed notebooks go (book/)")
    run.add_argument("--data", default=None, help="CIFAR-10 copy (else $SEMISUP_DATA)")
    run.add_argument("--quiet", action="store_true")
    run.set_defaults(func=_cmd_run)

    abc = sub.add_parser("abc", help="Models A, B and C at one M, printed as a table")
    abc.add_argument("--m", type=int, default=5000)
    abc.add_argument("--seed", type=int, default=0)
    abc.add_argument("--models", nargs="+", default=["A", "B", "C"])
    abc.add_argument("--epochs", type=int, default=50)
    abc.add_argument("--batch-size", type=int, default=128)
    abc.add_argument("--weight", type=float, default=0.1)
    abc.add_argument("--method", default="kmeans")
    abc.add_argument("--backbone", default="effnet-lite0")
    abc.add_argument("--input-size", type=int, default=32)
    abc.add_argument("--arch", default="report")
    abc.add_argument("--device", default=None)
    abc.add_argument("--data", default=None)
    abc.add_argument("--results", default=None, help="results folder (else results/)")
    abc.add_argument("--n-train", type=int, default=None, help="use a subset (quick checks)")
    abc.add_argument("--n-test", type=int, default=None)
    abc.add_argument("--quiet", action="store_true")
    abc.set_defaults(func=_cmd_abc)

    swp = sub.add_parser("sweep", help="the profile's sweep over M and seeds, into the store")
    _profile_options(swp)
    swp.add_argument("--executor", choices=["local", "processes", "ray"], default=None,
                     help="local, processes (a pool on this machine, one one-thread run "
                     "per core; the laptop profile's) or ray (one Ray task per missing run)")
    swp.add_argument("--workers", type=int, default=None,
                     help="processes: how many runs side by side (default: one per core)")
    swp.add_argument("--threads", type=int, default=None,
                     help="torch threads per run (default 1)")
    swp.add_argument("--address", default=None,
                     help="Ray cluster address (else $RAY_ADDRESS, else a local Ray)")
    swp.add_argument("--quiet", action="store_true")
    swp.set_defaults(func=_cmd_sweep)

    cmp = sub.add_parser("compare", help="chapter 9's sweep of recipes over M and seeds at "
                         "one budget, into the store")
    _profile_options(cmp, "-p M_list '[500]' -p seeds '[0]'")
    cmp.add_argument("--executor", choices=["local", "processes", "ray"], default=None)
    cmp.add_argument("--workers", type=int, default=None)
    cmp.add_argument("--threads", type=int, default=None, help="torch threads per run")
    cmp.add_argument("--address", default=None)
    cmp.add_argument("--quiet", action="store_true")
    cmp.set_defaults(func=_cmd_compare)

    tch = sub.add_parser("teachers", help="chapter 10's held-out teacher study (the "
                         "profile's candidates x M x seeds) into the label store; prints "
                         "each candidate's scores and the choice")
    _profile_options(tch, "-p M_list '[500]' -p teacher_seeds '[0]' "
                     "-p embed_engine onnxruntime")
    tch.add_argument("--threads", type=int, default=None,
                     help="torch threads (beside other jobs: 1, with OMP_NUM_THREADS=1)")
    tch.add_argument("--csv", default=None, help="also write the study's rows to this file")
    tch.add_argument("--quiet", action="store_true")
    tch.set_defaults(func=_cmd_teachers)

    dst = sub.add_parser("distill", help="chapter 10's students (distill recipes x "
                         "augmentations x M x seeds at its budget, and the chosen teachers' "
                         "students) into the store, their teachers fitted first")
    _profile_options(dst, "-p M_list '[500]' -p seeds '[0]'")
    dst.add_argument("--among", nargs="+", default=["every fit"],
                     choices=["every fit", "C=1 fits", "none"],
                     help="whose chosen teachers' students: the choice among every fit (the "
                     "chapter's), among the C=1 fits, or none (the fixed grid alone)")
    dst.add_argument("--teachers-only", action="store_true",
                     help="fit and cache the planned students' teachers (each stored as a "
                     "label run with its test accuracy) and train nothing: fit here, carry "
                     "the label cache to the machine that trains")
    dst.add_argument("--teacher-workers", type=int, default=1,
                     help="processes fitting teachers side by side (one (M, seed) each)")
    dst.add_argument("--executor", choices=["local", "processes", "ray"], default=None,
                     help="how the students train (default: the profile's)")
    dst.add_argument("--workers", type=int, default=None,
                     help="processes: how many runs side by side (default: one per core)")
    dst.add_argument("--threads", type=int, default=None,
                     help="torch threads per training process (and per teacher fit)")
    dst.add_argument("--address", default=None, help="Ray cluster address")
    dst.add_argument("--mps", action="store_true",
                     help="one GPU shared by the training processes: start the CUDA MPS "
                     "daemon for them (stopped after)")
    dst.add_argument("--quiet", action="store_true")
    dst.set_defaults(func=_cmd_distill)

    sto = sub.add_parser("store", help="check (and repair) the results store")
    sto_sub = sto.add_subparsers(dest="store_command", required=True)
    chk = sto_sub.add_parser("check", help="report lines of runs.jsonl and labels.jsonl that "
                             "are not usable rows (cut short, a newer schema, an invalid "
                             "result); --repair moves them to a quarantine file")
    chk.add_argument("--repair", action="store_true",
                     help="move them to runs.jsonl.quarantine (labels.jsonl.quarantine) "
                     "beside the store")
    chk.add_argument("--results", default=None,
                     help="results folder (else $SEMISUP_RESULTS, else results/)")
    chk.set_defaults(func=_cmd_store)
    mig = sto_sub.add_parser("migrate", help="rewrite rows of an older schema in the current "
                             "one, keeping a backup (numbers unchanged)")
    mig.add_argument("--results", default=None, help="results folder (else $SEMISUP_RESULTS "
                     "or results/)")
    mig.set_defaults(func=_cmd_store)
    mrg = sto_sub.add_parser("merge", help="add the rows of another results folder (runs and "
                             "label runs computed elsewhere) that this store lacks")
    mrg.add_argument("source", help="the other results folder")
    mrg.add_argument("--results", default=None, help="results folder (else $SEMISUP_RESULTS "
                     "or results/)")
    mrg.set_defaults(func=_cmd_store)

    fnd = sub.add_parser("findings", help="the study's answer (page one's numbers) from the "
                         "results store; --readme FILE writes it into the README")
    fnd.add_argument("--profile", default="published", help="whose runs (default: published)")
    fnd.add_argument("--readme", default=None, help="a file with <!-- findings:start --> and "
                     "<!-- findings:end --> lines (the README)")
    fnd.set_defaults(func=_cmd_findings)

    lst = sub.add_parser("list", help="chapters, profiles, models, methods, backbones")
    lst.set_defaults(func=_cmd_list)

    prm = sub.add_parser("params", help="the parameters (of one chapter, or all): the "
                         "profile's value, meaning, allowed values, the chapters that read them")
    prm.add_argument("chapter", nargs="?", default=None, help="e.g. 05 or 05_models_abc")
    prm.add_argument("--profile", default="default", help="whose values (default: laptop)")
    prm.set_defaults(func=_cmd_params)
    return parser


def _os_error_line(error: OSError) -> str:
    """One line naming the path and the fix. The store's own errors (StoreWriteError) already
    say both; any other OSError (an output folder, the data cache's download) is named here."""
    from .study.store import StoreWriteError

    if isinstance(error, StoreWriteError) or not error.filename:
        return str(error)
    return (f"cannot use {error.filename} ({error.strerror or error}). Fix: make it writable "
            "or free space on its disk, or point the command elsewhere (SEMISUP_RESULTS for the "
            "results store, SEMISUP_CACHE for the cache, --output-dir for executed chapters)")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "output_dir", "unset") is None:
        from .book.chapters import PROJECT_ROOT
        args.output_dir = PROJECT_ROOT / "book"
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as error:
        print(f"semisup: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a store, cache or output folder that cannot be written
        print(f"semisup: error: {_os_error_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:
        # a profile that trains nothing; a backbone whose weights are not installed
        if type(error).__name__ in ("MissingRunError", "BackboneUnavailableError"):
            print(f"semisup: error: {error}", file=sys.stderr)
            return 2
        if type(error).__name__ != "PapermillExecutionError":
            raise
        # the useful line first, not after papermill's traceback of the whole cell
        print(f"semisup: error: a chapter failed in cell {error.exec_count}: {error.ename}: "
              f"{error.evalue}", *getattr(error, "__notes__", []), sep="\n", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
