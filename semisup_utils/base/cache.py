"""On-disk cache of numpy arrays that knows what it was made from.

Every entry is an uncompressed ``.npz`` (fast to read back) beside a JSON
sidecar holding the key it was computed from and the sha256 of the ``.npz``.
A load checks both, so a truncated, corrupt or stale entry is reported and
rebuilt instead of being used in silence.

A cache that cannot be written (read-only, full disk, a file where a folder should be) is not
an error: the computed arrays are returned as usual, one warning says the cache is not being
written and how to fix it, and the next run recomputes. Expensive work is never lost to it.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

CACHE_ENV = "SEMISUP_CACHE"


class CacheWarning(UserWarning):
    """A cache entry was unusable and is being rebuilt."""


def default_cache_dir() -> Path:
    """``$SEMISUP_CACHE`` or ``~/.cache/semisup``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "semisup"))


def key_digest(key: dict) -> str:
    """A short, stable name for a key dict."""
    blob = json.dumps(key, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ArrayCache:
    """Arrays stored under ``root/kind/<digest>.npz`` with a verified sidecar."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()

    def paths(self, kind: str, key: dict) -> tuple[Path, Path]:
        stem = self.root / kind / key_digest(key)
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    def load(self, kind: str, key: dict) -> dict[str, np.ndarray] | None:
        """The stored arrays, or None when absent; a bad entry warns and is removed."""
        data_path, meta_path = self.paths(kind, key)
        if not data_path.exists() and not meta_path.exists():
            return None
        problem = None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("key") != json.loads(json.dumps(key, default=str)):
                problem = "it was made from a different key (stale)"
            elif file_sha256(data_path) != meta.get("sha256"):
                problem = "its checksum does not match (truncated or corrupt)"
            else:
                with np.load(data_path, allow_pickle=False) as stored:
                    return {name: stored[name] for name in stored.files}
        except (OSError, ValueError, json.JSONDecodeError) as error:
            problem = f"it cannot be read ({error})"
        warnings.warn(
            f"cache entry {data_path} is unusable: {problem}; recomputing it",
            CacheWarning,
            stacklevel=2,
        )
        try:
            data_path.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
        except OSError:  # a read-only cache: recompute anyway; the save will say it cannot write
            pass
        return None

    def save(self, kind: str, key: dict, arrays: dict[str, np.ndarray]) -> Path | None:
        """Store the arrays; None (and one warning per cache folder) when it cannot be written,
        so that what was just computed is still used."""
        try:
            return self._save(kind, key, arrays)
        except OSError as error:
            _warn_unwritable(self.root, error)
            for path in self.paths(kind, key):  # no half entry left behind
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass
            return None

    def _save(self, kind: str, key: dict, arrays: dict[str, np.ndarray]) -> Path:
        data_path, meta_path = self.paths(kind, key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_path.parent, suffix=".npz.tmp")
        os.close(fd)
        try:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            sha = file_sha256(Path(tmp))
            os.replace(tmp, data_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        meta = {"key": key, "sha256": sha, "arrays": sorted(arrays)}
        atomic_write_bytes(meta_path, json.dumps(meta, indent=1, default=str).encode())
        return data_path

    def get_or_compute(
        self, kind: str, key: dict, compute: Callable[[], dict[str, np.ndarray]]
    ) -> dict[str, np.ndarray]:
        stored = self.load(kind, key)
        if stored is not None:
            return stored
        arrays = compute()
        self.save(kind, key, arrays)
        return arrays


_UNWRITABLE_WARNED: set[str] = set()


def _warn_unwritable(root: Path, error: OSError) -> None:
    """Warn once per cache folder and process that it cannot be written, naming the fix."""
    if str(root) in _UNWRITABLE_WARNED:
        return
    _UNWRITABLE_WARNED.add(str(root))
    reason = error.strerror or str(error)
    where = error.filename or root
    warnings.warn(
        f"cannot write to the cache {root} ({reason}: {where}); going on without caching "
        f"(what is computed now is recomputed next time). Fix: free space or make it writable, "
        f"or set {CACHE_ENV} to a writable folder",
        CacheWarning, stacklevel=3)
