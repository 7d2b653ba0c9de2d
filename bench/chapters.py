"""End-to-end wall time of each chapter under a profile, cold and warm.

Cold: a fresh temporary SEMISUP_CACHE and SEMISUP_RESULTS (data decoded, embeddings computed,
every model trained). Warm: the same chapters again with the same folders (everything read
back). Seconds are the runner's own (papermill execution, kernel start included).

By default each chapter goes through semisup_utils.book.chapters.execute with a temporary work
folder: it is what runner.run calls per chapter, but runner.run converts the chapters into the
project's build/ folder, which a `semisup run` or `make book` running at the same time also
writes and reads. --use-run calls runner.run itself (and so writes build/).

    python bench/chapters.py --profile smoke --chapters 01 05
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import _common
import pandas as pd

from semisup_utils.book import chapters as runner


def run_once(names, profile, out: Path, use_run: bool, progress: bool) -> dict[str, float]:
    if use_run:
        return {path.stem: seconds
                for path, seconds in runner.run(names, profile, {}, output_dir=out,
                                                progress=progress)}
    seconds = {}
    for chapter in runner.find_chapters(names):
        _, seconds[chapter.stem] = runner.execute(chapter, profile, {}, output_dir=out,
                                                  work_dir=out / "build", progress=progress)
        print(f"  {chapter.stem}: {seconds[chapter.stem]:.1f} s", flush=True)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--chapters", nargs="*", default=[],
                        help="names or prefixes, e.g. 01 05 (default: every chapter)")
    parser.add_argument("--use-run", action="store_true",
                        help="call runner.run (converts into the project's build/ folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--progress", action="store_true", help="papermill progress bars")
    args = _common.add_common_args(parser, devices=False).parse_args(argv)
    _common.apply_common_args(args)
    _common.print_machine(f"chapters end to end, profile {args.profile}")

    names = [c.stem for c in runner.find_chapters(args.chapters)]
    tmp = Path(tempfile.mkdtemp(prefix="semisup-bench-chapters-"))
    saved = {k: os.environ.get(k) for k in ("SEMISUP_CACHE", "SEMISUP_RESULTS")}
    os.environ["SEMISUP_CACHE"] = str(tmp / "cache")      # kernels inherit these
    os.environ["SEMISUP_RESULTS"] = str(tmp / "results")
    print(f"chapters: {', '.join(names)}; data: {os.environ.get('SEMISUP_DATA', 'unset')}; "
          f"cache and results under {tmp}\n")
    try:
        runs = {}
        for label in ("cold", "warm"):
            print(f"{label} run:", flush=True)
            start = time.perf_counter()
            runs[label] = run_once(names, args.profile, tmp / label, args.use_run, args.progress)
            runs[label + " wall"] = time.perf_counter() - start
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    frame = pd.DataFrame({"chapter": names, "cold s": [runs["cold"][n] for n in names],
                          "warm s": [runs["warm"][n] for n in names]})
    frame.loc[len(frame)] = ["total", frame["cold s"].sum(), frame["warm s"].sum()]
    frame["warm / cold"] = (frame["warm s"] / frame["cold s"]).map("{:.0%}".format)
    print()
    _common.print_table(f"chapter wall time, profile {args.profile} (runner's seconds)", frame,
                        "{:,.1f}")
    print(f"wall time with conversion and parameter checks: cold {runs['cold wall']:.1f} s, "
          f"warm {runs['warm wall']:.1f} s")
    return frame


if __name__ == "__main__":
    main()
