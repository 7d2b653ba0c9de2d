"""The results store: one JSON line per finished run, appended atomically under a lock.

A row is written only after its run finished, in one ``write`` of one line under an
exclusive file lock, then fsync'ed; a reader skips (and reports) a line cut short by a crash.
Two processes appending at once lose nothing and duplicate nothing: the check for an existing
row and the append happen under the same lock.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from filelock import FileLock

RESULTS_ENV = "SEMISUP_RESULTS"


def default_results_dir() -> Path:
    """``$SEMISUP_RESULTS``, else the project's ``results/`` folder."""
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    return Path(__file__).resolve().parents[1] / "results"


def run_id(key: dict) -> str:
    """The identity of a run: its key fields as canonical JSON."""
    return json.dumps(key, sort_keys=True, default=str)


class ResultsStore:
    """``results/runs.jsonl``: rows keyed by the fields that define a run."""

    def __init__(self, directory: Path | str | None = None, filename: str = "runs.jsonl"):
        self.directory = Path(directory) if directory is not None else default_results_dir()
        self.path = self.directory / filename
        self._lock = FileLock(str(self.path) + ".lock")

    def rows(self) -> list[dict]:
        if not self.path.exists():
            return []
        rows = []
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    warnings.warn(f"{self.path}:{number} is not a complete row (a run "
                                  "interrupted while writing?); skipping it", stacklevel=2)
                    continue
                if not isinstance(row, dict) or not isinstance(row.get("key"), dict):
                    warnings.warn(f"{self.path}:{number} is JSON but not a run's row (no 'key' "
                                  "object); skipping it", stacklevel=2)
                    continue
                rows.append(row)
        return rows

    def find(self, key: dict) -> dict | None:
        wanted = run_id(key)
        for row in self.rows():
            if run_id(row["key"]) == wanted:
                return row
        return None

    def add(self, key: dict, result: dict) -> dict:
        """Append ``{"key": key, **result}`` unless a row with this key exists; returns the row."""
        row = {"key": key, **result}
        line = json.dumps(row, sort_keys=True, default=str) + "\n"
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            existing = self.find(key)
            if existing is not None:
                return existing
            # a crash mid-line would leave a partial row: make sure we start on a fresh line
            needs_newline = False
            if self.path.exists() and self.path.stat().st_size:
                with open(self.path, "rb") as handle:
                    handle.seek(-1, os.SEEK_END)
                    needs_newline = handle.read(1) != b"\n"
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(("\n" if needs_newline else "") + line)
                handle.flush()
                os.fsync(handle.fileno())
        # the row as a later read gives it (same field order and types), fresh or resumed
        return json.loads(line)

    def frame(self):
        """All rows as a pandas DataFrame, key fields flattened into columns."""
        return rows_frame(self.rows())


def rows_frame(rows: list[dict]):
    """Store rows as a flat DataFrame (key fields become columns)."""
    import pandas as pd

    return pd.DataFrame([{**row["key"], **{k: v for k, v in row.items() if k != "key"}}
                         for row in rows])
