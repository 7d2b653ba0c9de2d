"""The results store: one JSON line per finished run, appended atomically under a lock.

A row is written only after its run finished, in one ``write`` of one line under an
exclusive file lock, then fsync'ed; a reader skips (and reports) a line cut short by a crash.
Two processes appending at once lose nothing and duplicate nothing: the check for an existing
row and the append happen under the same lock. The file is read once into an index by run id
and read again only when it changed, so a grid of hundreds of runs costs one read.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path

from filelock import FileLock, Timeout

from .schema import RowError, checked_row

RESULTS_ENV = "SEMISUP_RESULTS"
REPAIR_HINT = ("Fix: `semisup store check --repair` moves such lines to a quarantine file "
               "beside the store")
QUARANTINE_SUFFIX = ".quarantine"


def default_results_dir() -> Path:
    """``$SEMISUP_RESULTS``, else the project's ``results/`` folder."""
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    return Path(__file__).resolve().parents[2] / "results"


def run_id(key: dict) -> str:
    """The identity of a run: its key fields as canonical JSON."""
    return json.dumps(key, sort_keys=True, default=str)


def flat(row: dict) -> dict:
    """A row's fields in one namespace: the key's (recipe and budget fields included), the
    recipe's name as ``recipe``, and the results."""
    key = row["key"]
    out = {k: v for k, v in key.items() if k not in ("recipe", "budget")}
    out.update(key.get("recipe", {}))
    out.update(key.get("budget", {}))
    out.update({k: v for k, v in row.items() if k != "key"})
    out["recipe"] = row.get("name")
    return out


class ResultsStore:
    """``results/runs.jsonl``: rows keyed by the fields that define a run."""

    def __init__(self, directory: Path | str | None = None, filename: str = "runs.jsonl"):
        self.directory = Path(directory) if directory is not None else default_results_dir()
        self.path = self.directory / filename
        self._lock = FileLock(str(self.path) + ".lock")
        self._stamp = None
        self._rows: list[dict] = []
        self._index: dict[str, dict] = {}
        self.old_rows = 0  # rows of an older schema, migrated when read

    # ------------------------------------------------------------------ reading
    def _read(self) -> list[dict]:
        rows, old = [], 0
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                row, problem, migrated = parse_line(line)
                if problem:
                    warnings.warn(f"{self.path}:{number}: {problem}; skipping it (its run "
                                  f"counts as missing). {REPAIR_HINT}", stacklevel=3)
                elif row is not None:
                    rows.append(row)
                    old += migrated
        if old:
            warnings.warn(f"{self.path}: {old} row(s) of an older schema (or with a longer "
                          "history than rows now keep) were migrated as they were read; "
                          "`semisup store migrate` rewrites the file once (a backup is kept)",
                          stacklevel=3)
        self.old_rows = old
        return rows

    def _refresh(self) -> None:
        """Re-read the file when it changed since the last read (size and mtime)."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        self._rows = self._read() if stamp is not None else []
        self._index = {run_id(row["key"]): row for row in self._rows}
        self._stamp = stamp

    def rows(self) -> list[dict]:
        self._refresh()
        return list(self._rows)

    def find(self, key: dict) -> dict | None:
        self._refresh()
        return self._index.get(run_id(key))

    def query(self, **criteria) -> list[dict]:
        """Rows whose fields (see :func:`flat`) equal every criterion, e.g.
        ``store.query(recipe="A", m=500, policy="epochs")``; a list value matches any of its
        items."""
        def matches(fields):
            for name, wanted in criteria.items():
                value = fields.get(name)
                if isinstance(wanted, (list, tuple, set)) and not isinstance(value, list):
                    if value not in wanted:
                        return False
                elif value != wanted:
                    return False
            return True

        return [row for row in self.rows() if matches(flat(row))]

    # ------------------------------------------------------------------ writing
    def add(self, key: dict, result: dict) -> dict:
        """Append ``{"key": key, **result}`` unless a row with this key exists; returns the row."""
        row = {"key": key, **result}
        line = json.dumps(row, sort_keys=True, default=str) + "\n"
        _, problem, _ = parse_line(line)
        if problem:  # it would be skipped when read: refuse it now, with the reason
            raise ValueError(f"not storing a row whose {problem} (key {run_id(key)})")
        with _writing(self, line), self._lock:
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

    def merge(self, other: "ResultsStore") -> int:
        """Append every row of ``other`` (e.g. a store filled on another machine) whose key
        is not here yet, each under the lock like any row; returns how many were added. A
        row whose key is here already is kept as it is here (runs are never overwritten)."""
        added = 0
        for row in other.rows():
            key = row["key"]
            if self.find(key) is None:
                self.add(key, {k: v for k, v in row.items() if k != "key"})
                added += 1
        return added

    def migrate(self) -> tuple[int, Path | None]:
        """Rewrite the file with every row under the current schema, keeping the old file as
        ``runs.jsonl.bak-<UTC time>``; returns (rows migrated, backup path or None). A line
        this code cannot use (see :func:`parse_line`) is kept as it is, in its place, for
        ``semisup store check --repair`` to quarantine."""
        with self._lock:
            if not self.path.exists():
                return 0, None
            lines = _raw_lines(self)
            parsed = [parse_line(line.decode("utf-8", errors="replace")) for line in lines]
            migrated = sum(was_migrated for _, _, was_migrated in parsed)
            if not migrated:
                return 0, None
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
            backup = self.path.with_name(f"{self.path.name}.bak-{stamp}")
            shutil.copy2(self.path, backup)
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "wb") as handle:
                for line, (row, _, was_migrated) in zip(lines, parsed):
                    if was_migrated:
                        line = (json.dumps(row, sort_keys=True, default=str) + "\n").encode()
                    handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            self._stamp = None
            self.old_rows = 0
        return migrated, backup

    def frame(self):
        """All rows as a pandas DataFrame, key fields flattened into columns."""
        return rows_frame(self.rows())

    def check_writable(self, min_free_bytes: int = 1 << 20) -> None:
        """Refuse, before any training, a store whose row could not be written afterwards
        (folder not creatable, read-only, lock file not creatable, disk full): one
        :class:`StoreWriteError` naming the path and the fix, instead of an OSError once the
        work is done. Writes nothing that a later read would see."""
        probe = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            try:
                with self._lock.acquire(timeout=5):  # the lock file can be made
                    pass
            except Timeout:  # held by another writer: it exists, and appends are short
                pass
            if self.path.exists():
                with open(self.path, "a", encoding="utf-8"):
                    pass
            else:
                fd, probe = tempfile.mkstemp(dir=self.directory, prefix=".write-check-")
                os.close(fd)
            free = shutil.disk_usage(self.directory).free
            if free < min_free_bytes:
                raise OSError(errno.ENOSPC, f"only {free:,} bytes free", str(self.directory))
        except OSError as error:
            raise StoreWriteError(_cannot_write(self, error) + "; nothing was trained") from error
        finally:
            if probe:
                Path(probe).unlink(missing_ok=True)


def rows_frame(rows: list[dict]):
    """Store rows as a flat DataFrame (see :func:`flat`): one column per key, recipe, budget
    and result field; ``recipe`` is the recipe's name."""
    import pandas as pd

    return pd.DataFrame([flat(row) for row in rows])


# ----------------------------------------------------------------------------- write failures
class StoreWriteError(OSError):
    """The results store cannot be written; the message names the path and the fix."""


UNSAVED_ROWS = Path(tempfile.gettempdir()) / "semisup-unsaved-rows.jsonl"


def _cannot_write(store: ResultsStore, error: OSError) -> str:
    reason = error.strerror or str(error)
    where = error.filename or store.path
    return (f"cannot write the results store {store.path} ({reason}: {where}). Fix: make "
            f"{store.directory} writable or free space on its disk, or set {RESULTS_ENV} (or "
            f"`semisup abc --results`) to a "
            f"writable folder (e.g. {RESULTS_ENV}=$HOME/semisup-results)")


@contextlib.contextmanager
def _writing(store: ResultsStore, line: str | None):
    """Around a write: the folder made first, and a write that fails (read-only, no lock
    file, disk full) raised as one StoreWriteError; a finished run's row (``line``) is kept in
    UNSAVED_ROWS (when that can be written) so the work is not lost."""
    try:
        store.directory.mkdir(parents=True, exist_ok=True)
        yield
    except OSError as error:
        if isinstance(error, StoreWriteError):
            raise
        message = _cannot_write(store, error)
        if line is not None:
            try:
                with open(UNSAVED_ROWS, "a", encoding="utf-8") as handle:
                    handle.write(line)
                message += (f". The finished run's row was kept in {UNSAVED_ROWS}: append it "
                            f"to {store.path} once that can be written")
            except OSError:
                pass
        raise StoreWriteError(message) from error


# ----------------------------------------------------------------------------- check, repair
def parse_line(text: str) -> tuple[dict | None, str | None, bool]:
    """``(row, problem, migrated)`` for one line of the store: the row under the current
    schema, or why this code cannot use the line (not JSON, not a row, a newer schema, an
    invalid result ...: :func:`schema.checked_row`); ``(None, None, False)`` for a blank line.
    Every reader and ``semisup store check`` judge a line by this one function."""
    if not text.strip():
        return None, None, False
    try:
        row = json.loads(text)
    except json.JSONDecodeError:
        return None, "not JSON (cut short by an interrupted write?)", False
    try:
        row, migrated = checked_row(row)
    except RowError as error:
        return None, str(error), False
    return row, None, migrated


def line_problem(text: str) -> str | None:
    """Why one line of the store is not a row this code can use (None when it is one)."""
    return parse_line(text)[1]


def quarantine_path(store: ResultsStore) -> Path:
    """Where ``repair`` moves the lines it takes out: ``runs.jsonl.quarantine`` beside it."""
    return store.path.with_name(store.path.name + QUARANTINE_SUFFIX)


def _raw_lines(store: ResultsStore) -> list[bytes]:
    """The file's lines as bytes, each ending in a newline (so they are copied verbatim)."""
    lines = store.path.read_bytes().splitlines(keepends=True)
    return [line if line.endswith(b"\n") else line + b"\n" for line in lines]


def check(store: ResultsStore) -> list[tuple[int, str, str]]:
    """(line number, problem, the line) for every line that is not a row this code can use."""
    if not store.path.exists():
        return []
    out = []
    for number, raw in enumerate(_raw_lines(store), 1):
        line = raw.decode("utf-8", errors="replace")
        if problem := line_problem(line):
            out.append((number, problem, line.rstrip("\n")))
    return out


def repair(store: ResultsStore) -> tuple[list[tuple[int, str, str]], Path | None]:
    """Move the lines that are not usable rows to the quarantine file beside the store
    (:func:`quarantine_path`, appended and fsync'ed first, each line as it was), then rewrite
    the store without them in one rename, under its lock: nothing is deleted, and a crash
    leaves a line in both files at worst, never in neither. Returns the moved lines and the
    quarantine file (None when nothing needed moving)."""
    from ..base.cache import atomic_write_bytes

    with _writing(store, None), store._lock:
        bad = check(store)
        if not bad:
            return [], None
        moved = {number for number, _, _ in bad}
        lines = _raw_lines(store)
        quarantine = quarantine_path(store)
        with open(quarantine, "ab") as handle:
            handle.write(b"".join(lines[number - 1] for number in sorted(moved)))
            handle.flush()
            os.fsync(handle.fileno())
        kept = [line for number, line in enumerate(lines, 1)
                if number not in moved and line.strip()]
        mode = stat.S_IMODE(store.path.stat().st_mode)
        atomic_write_bytes(store.path, b"".join(kept))
        os.chmod(store.path, mode)  # the temporary file was made private (0600)
        store._stamp = None
    return bad, quarantine
