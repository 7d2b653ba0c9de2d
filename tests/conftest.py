"""Shared fixtures for the unit tests.

At import time (before any test or nbval notebook runs) the cache and the results store are
pointed at a fresh temporary folder unless the caller set ``SEMISUP_CACHE`` /
``SEMISUP_RESULTS`` already, so a test run never writes to the user's cache or to the
repository's ``results/``. Kernels started by nbval inherit these variables.

Nothing here alters test items; under ``-m "not slow"`` (``make test-fast``) a test file marked
slow as a whole is not collected (:func:`pytest_ignore_collect`). For ``pytest --nbval`` on
``tests/nbval/*.ipynb`` it sets nbval's sanitizer file and current-environment kernel where the
command line does not (:func:`apply_nbval_defaults`), so the plain command compares as ``make
nbval`` does.
"""
from __future__ import annotations

import atexit
import io
import os
import pickle
import re
import shutil
import struct
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).absolute().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"

# ----------------------------------------------------------------------------- isolation
_unset = [name for name in ("SEMISUP_CACHE", "SEMISUP_RESULTS") if not os.environ.get(name)]
if _unset:
    _TMP_ROOT = tempfile.mkdtemp(prefix="semisup-tests-")
    atexit.register(shutil.rmtree, _TMP_ROOT, ignore_errors=True)
    for _name in _unset:
        os.environ[_name] = os.path.join(_TMP_ROOT, _name.split("_")[1].lower())
if SHARED_DATA.is_file():
    os.environ.setdefault("SEMISUP_DATA", str(SHARED_DATA))
# The tests train tiny networks: one thread avoids oversubscribing small machines. Only where
# the caller set no thread count: OMP_NUM_THREADS=2 (or any other kernel setting) must reach
# the kernels, since the suite is meant to pass under it too (docs/testing.md). nbval kernels
# inherit the variable.
THREADS_CHOSEN_BY_USER = "OMP_NUM_THREADS" in os.environ
if not THREADS_CHOSEN_BY_USER:
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass



# nbval's flags for the reference notebooks, applied when the command line gives none, so that
# `pytest tests/nbval/01_data.ipynb --nbval` runs as `make nbval` does (docs/testing.md).
NBVAL_SANITIZER = REPO_ROOT / "tests" / "nbval" / "sanitize.cfg"


def apply_nbval_defaults(option) -> None:
    """Set nbval 0.11's ``--nbval-sanitize-with tests/nbval/sanitize.cfg`` and
    ``--nbval-current-env`` on ``config.option`` unless the user chose otherwise: a sanitizer
    file of their own (or the deprecated ``--sanitize-with``), a kernel by name
    (``--nbval-kernel-name``) or the deprecated ``--current-env``. The sanitizer masks what
    varies between machines (memory addresses, a data path); the current environment is the
    one pytest runs in, whatever kernel the reference notebook names."""
    if getattr(option, "nbval_sanitize_with", None) is None and \
            not getattr(option, "sanitize_with", None):
        option.nbval_sanitize_with = str(NBVAL_SANITIZER)
    if not (getattr(option, "nbval_current_env", False)
            or getattr(option, "current_env", False)
            or getattr(option, "nbval_kernel_name", None)):
        option.nbval_current_env = True


def pytest_configure(config):
    """nbval compares cells tagged ``nbval-tolerance-<T>`` within T (tests/nbval_tolerance.py),
    with the project's sanitizer and the current environment's kernel by default."""
    from nbval_tolerance import install

    install()
    apply_nbval_defaults(config.option)


# A test file whose every test is slow says so once, at its top (module-level pytestmark).
WHOLE_FILE_SLOW = re.compile(r"^pytestmark = pytest\.mark\.slow$", re.MULTILINE)


def pytest_ignore_collect(collection_path, config):
    """``-m "not slow"`` would deselect every test of a file marked slow as a whole: it is not
    imported either, which saves the fast lane its imports (Ray, Keras: seconds each)."""
    if config.getoption("markexpr", "").replace("'", '"').strip() != "not slow":
        return None
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_") and \
            WHOLE_FILE_SLOW.search(collection_path.read_text()):
        return True
    return None


CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")


# ----------------------------------------------------------------------------- fake datasets
class _Py2Pickler(pickle._Pickler):
    """Pickles the way Python 2's cPickle wrote the original CIFAR-10 batches (protocol 2,
    byte strings as BINSTRING), so the tests read the real format, not a Python 3 variant."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_str(self, obj):
        self.save_bytes(obj.encode("latin-1"))

    dispatch[str] = save_str


def py2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    # the original was written by numpy 1.x, whose module was numpy.core
    return buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


class FakeCIFAR:
    """Small CIFAR-10-shaped datasets written in each source format the loader accepts."""

    BATCHES = [f"data_batch_{i}" for i in range(1, 6)]

    @staticmethod
    def arrays(per_batch: int = 20, n_test: int = 20, seed: int = 0) -> dict:
        """Random uint8 images; labels cycle through the ten classes (5 train batches)."""
        rng = np.random.default_rng(seed)
        n_train = 5 * per_batch
        return {
            "x_train": rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
            "y_train": (np.arange(n_train) * 7 + seed) % 10,
            "x_test": rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
            "y_test": (np.arange(n_test) * 3 + seed) % 10,
        }

    @staticmethod
    def batch_blob(x: np.ndarray, y: np.ndarray, name: str = "batch", protocol="py2") -> bytes:
        """One batch as the original stores it: (n, 3072) rows of R, G, B planes."""
        entry = {b"batch_label": name.encode(), b"labels": [int(v) for v in y],
                 b"data": np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(len(x), 3072),
                 b"filenames": [f"img_{i}.png".encode() for i in range(len(x))]}
        return py2_pickle(entry) if protocol == "py2" else pickle.dumps(entry, protocol=protocol)

    @classmethod
    def batch_blobs(cls, arrays: dict, protocol="py2") -> dict[str, bytes]:
        xs = np.array_split(arrays["x_train"], 5)
        ys = np.array_split(arrays["y_train"], 5)
        blobs = {name: cls.batch_blob(x, y, name, protocol)
                 for name, x, y in zip(cls.BATCHES, xs, ys)}
        blobs["test_batch"] = cls.batch_blob(arrays["x_test"], arrays["y_test"], "test", protocol)
        blobs["batches.meta"] = py2_pickle({b"label_names": [c.encode() for c in CLASSES]})
        return blobs

    @classmethod
    def write_python_folder(cls, folder: Path, arrays: dict, protocol="py2") -> Path:
        """``folder`` laid out as the original ``cifar-10-batches-py``."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, blob in cls.batch_blobs(arrays, protocol).items():
            (folder / name).write_bytes(blob)
        return folder

    @classmethod
    def write_python_tarball(cls, path: Path, arrays: dict) -> Path:
        """The original ``cifar-10-python.tar.gz`` (members under cifar-10-batches-py/)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(path, "w:gz") as tar:
            for name, blob in {**cls.batch_blobs(arrays), "readme.html": b"<html/>"}.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
        return path

    @staticmethod
    def encode(image: np.ndarray, fmt: str) -> bytes:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format={"png": "PNG", "jpg": "JPEG"}[fmt],
                                    **({"quality": 95} if fmt == "jpg" else {}))
        return buffer.getvalue()

    @classmethod
    def tree_files(cls, arrays: dict, fmt: str = "png", skip=()) -> dict[str, bytes]:
        """ImageFolder members ``split/class/NAME.fmt``; numbered 0, 5, 10, ... per class so
        that a lexicographic sort ('10' < '5') would get the order wrong."""
        files = {}
        for split in ("train", "test"):
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            for label, cls_name in enumerate(CLASSES):
                if (split, cls_name) in skip:
                    continue
                for j, index in enumerate(np.flatnonzero(y == label)):
                    files[f"{split}/{cls_name}/{5 * j}.{fmt}"] = cls.encode(x[index], fmt)
        return files

    @staticmethod
    def folder_order(arrays: dict) -> dict:
        """The arrays in the order an ImageFolder copy is read: by class, then by number."""
        out = {}
        for split in ("train", "test"):
            y = arrays[f"y_{split}"]
            order = np.concatenate([np.flatnonzero(y == c) for c in range(10)])
            out[f"x_{split}"] = arrays[f"x_{split}"][order]
            out[f"y_{split}"] = y[order]
        return out

    @classmethod
    def write_tree(cls, root: Path, arrays: dict, fmt: str = "png", skip=()) -> Path:
        for name, blob in cls.tree_files(arrays, fmt, skip).items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(blob)
        return root

    @classmethod
    def write_tree_tarball(cls, path: Path, arrays: dict, fmt: str = "png", skip=(),
                           prefix: str = "cifar10/", extra: dict | None = None) -> Path:
        return write_tar(path, {**cls.tree_files(arrays, fmt, skip), **(extra or {})}, prefix)


def write_tar(path: Path, files: dict[str, bytes], prefix: str = "") -> Path:
    """A .tar.gz holding each ``name: bytes`` of ``files`` as ``prefix + name``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


@pytest.fixture
def ctx(tmp_path):
    """A run context on the CPU with its own empty store and cache, quiet."""
    from semisup_utils.study.runs import Context
    from semisup_utils.study.store import ResultsStore

    return Context(store=ResultsStore(tmp_path / "results"), cache_dir=tmp_path / "cache",
                   device="cpu", profile="test", progress=False)


@pytest.fixture
def fake():
    """The :class:`FakeCIFAR` writers."""
    return FakeCIFAR


@pytest.fixture
def tiny_python_folder(tmp_path):
    """A 100/20-image dataset in the original python-batches layout: (folder, arrays)."""
    arrays = FakeCIFAR.arrays()
    return FakeCIFAR.write_python_folder(tmp_path / "cifar-10-batches-py", arrays), arrays


def synthetic_cifar(n_train: int = 300, n_test: int = 200, seed: int = 0):
    """A CIFAR10 of generated images whose mean colour depends on the class (learnable)."""
    from semisup_utils.data.dataset import CIFAR10, fingerprint_arrays

    rng = np.random.default_rng(seed)
    palette = rng.integers(30, 226, (10, 3))

    def make(n):
        y = np.arange(n) % 10
        rng.shuffle(y)
        noise = rng.normal(0, 25, (n, 32, 32, 3))
        x = np.clip(palette[y][:, None, None, :] + noise, 0, 255).astype(np.uint8)
        return x, y.astype(np.int64)

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    return CIFAR10(x_train, y_train, x_test, y_test, source=f"synthetic(seed={seed})",
                   fingerprint=fingerprint_arrays(x_train, y_train, x_test, y_test))


@pytest.fixture(scope="session")
def synthetic():
    """300 train / 200 test generated images (no files needed)."""
    return synthetic_cifar()


# ----------------------------------------------------------------------------- the real data
@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_file():
        pytest.skip(f"needs the JPEG copy of CIFAR-10 at {SHARED_DATA} (../shared beside the "
                    "repository); not present here")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cifar_real(shared_data):
    """All of the JPEG copy, decoded once per session (into the test run's cache folder)."""
    from semisup_utils.data.dataset import load_cifar10

    return load_cifar10(shared_data, download=False)


@pytest.fixture(scope="session")
def real_small(cifar_real):
    """A class-stratified 500 train / 200 test subset of the real images."""
    from semisup_utils.data.dataset import subsample

    return subsample(cifar_real, 500, 200, seed=0)
