"""ArrayCache: roundtrip, and a stale, corrupt, truncated or half-written entry is never used."""
from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np
import pytest

from semisup_utils.base import cache as cache_mod
from semisup_utils.base.cache import ArrayCache, CacheWarning, default_cache_dir, key_digest

KEY = {"fingerprint": "abc", "backbone": "x", "input_size": 32}


def arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {"features": rng.normal(size=(50, 7)).astype(np.float32),
            "labels": rng.integers(0, 10, 50), "name": np.array("effnet"),
            "seconds": np.array(1.5)}


class Counter:
    def __init__(self, seed=0):
        self.calls, self.seed = 0, seed

    def __call__(self):
        self.calls += 1
        return arrays(self.seed)


def assert_same(a, b):
    assert set(a) == set(b)
    for name in a:
        assert a[name].dtype == b[name].dtype
        np.testing.assert_array_equal(a[name], b[name])


def test_roundtrip(tmp_path):
    cache = ArrayCache(tmp_path)
    assert cache.load("embeddings", KEY) is None
    path = cache.save("embeddings", KEY, arrays())
    assert path.parent == tmp_path / "embeddings" and path.name == key_digest(KEY) + ".npz"
    assert_same(cache.load("embeddings", KEY), arrays())
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["key"] == KEY and len(meta["sha256"]) == 64


def test_key_digest_is_stable_and_order_free():
    assert key_digest({"a": 1, "b": 2}) == key_digest({"b": 2, "a": 1})
    assert key_digest({"a": 1}) != key_digest({"a": 2})


def test_kinds_and_keys_are_separate(tmp_path):
    cache = ArrayCache(tmp_path)
    cache.save("embeddings", KEY, arrays(0))
    assert cache.load("models", KEY) is None
    assert cache.load("embeddings", {**KEY, "input_size": 64}) is None


def test_get_or_compute_computes_once(tmp_path):
    cache, compute = ArrayCache(tmp_path), Counter()
    first = cache.get_or_compute("k", KEY, compute)
    second = cache.get_or_compute("k", KEY, compute)
    assert compute.calls == 1
    assert_same(first, second)


def test_default_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMISUP_CACHE", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    ArrayCache().save("k", KEY, arrays())
    assert (tmp_path / "here" / "k" / (key_digest(KEY) + ".npz")).exists()


def test_stale_entry_is_detected(tmp_path):
    """Files under a key's name whose sidecar records another key are not used."""
    cache = ArrayCache(tmp_path)
    other = {**KEY, "fingerprint": "old"}
    cache.save("k", other, arrays(1))
    for src, dst in zip(cache.paths("k", other), cache.paths("k", KEY)):
        shutil.copy(src, dst)
    with pytest.warns(CacheWarning, match="stale"):
        assert cache.load("k", KEY) is None
    assert not any(p.exists() for p in cache.paths("k", KEY))  # the bad entry is removed
    assert cache.load("k", other) is not None  # the other entry is untouched


def corrupt(path):
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))


def truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def drop_sidecar(path):
    path.with_suffix(".json").unlink()


def garble_sidecar(path):
    path.with_suffix(".json").write_text("{not json")


def drop_data(path):
    path.unlink()


@pytest.mark.parametrize("damage, reason", [
    (corrupt, "checksum"), (truncate, "checksum"), (drop_sidecar, "cannot be read"),
    (garble_sidecar, "cannot be read"), (drop_data, "cannot be read"),
])
def test_damaged_entry_is_recomputed(tmp_path, damage, reason):
    cache, compute = ArrayCache(tmp_path), Counter(seed=2)
    cache.get_or_compute("k", KEY, compute)
    data_path, _ = cache.paths("k", KEY)
    damage(data_path)
    with pytest.warns(CacheWarning, match=reason):
        again = cache.get_or_compute("k", KEY, compute)
    assert compute.calls == 2
    assert_same(again, arrays(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt entry is good
        assert_same(cache.get_or_compute("k", KEY, compute), arrays(2))
    assert compute.calls == 2


def test_failed_save_leaves_nothing_half_written(tmp_path, monkeypatch):
    cache = ArrayCache(tmp_path)

    def dies_midway(handle, **arrays):
        handle.write(b"PK\x03\x04 half an npz")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(cache_mod.np, "savez", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        cache.save("k", KEY, arrays())
    assert list((tmp_path / "k").iterdir()) == []
    assert cache.load("k", KEY) is None


def test_failed_sidecar_write_warns_and_leaves_no_half_entry(tmp_path, monkeypatch):
    """A sidecar that cannot be written (disk full) is a warning, not an error: the arrays are
    returned, and no .npz without its sidecar is left to be reported as corrupt later."""
    cache, compute = ArrayCache(tmp_path), Counter()

    def fails(path, data):
        raise OSError(28, "No space left on device", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(cache_mod, "atomic_write_bytes", fails)
        with pytest.warns(CacheWarning, match="No space left on device"):
            assert_same(cache.get_or_compute("k", KEY, compute), arrays())
    assert list((tmp_path / "k").iterdir()) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing half-written to complain about
        cache.get_or_compute("k", KEY, compute)
    assert compute.calls == 2


# ----------------------------------------------------------------------------- unwritable caches
def test_unwritable_cache_warns_once_and_goes_on_uncached(tmp_path):
    """A cache folder that cannot be made (here a file stands where a folder should be): every
    result is still returned, one warning names the folder and the fix, and nothing raises."""
    (tmp_path / "file").write_text("not a folder")
    root = tmp_path / "file" / "cache"
    cache, compute = ArrayCache(root), Counter()
    with pytest.warns(CacheWarning) as caught:
        for kind in ("embeddings", "labels", "models"):
            assert_same(cache.get_or_compute(kind, KEY, compute), arrays())
    messages = [str(w.message) for w in caught if "cannot write" in str(w.message)]
    assert len(messages) == 1
    assert str(root) in messages[0] and "SEMISUP_CACHE" in messages[0]
    assert compute.calls == 3


def test_full_disk_while_saving_returns_the_arrays(tmp_path, monkeypatch):
    """ENOSPC in the middle of writing the .npz: the computed arrays are used, the cache keeps
    no partial file."""
    cache, compute = ArrayCache(tmp_path / "c"), Counter()

    def full(handle, **arrays):
        handle.write(b"PK\x03\x04 part of an npz")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_mod.np, "savez", full)
    with pytest.warns(CacheWarning, match="cannot write to the cache .*No space left"):
        assert_same(cache.get_or_compute("k", KEY, compute), arrays())
    assert list((tmp_path / "c" / "k").iterdir()) == []


def test_corrupt_entry_in_a_read_only_cache_is_recomputed(tmp_path, monkeypatch):
    """A damaged entry in a read-only cache can neither be removed nor replaced: it is
    reported, recomputed and the result used, without an OSError."""
    import pathlib

    cache, compute = ArrayCache(tmp_path), Counter()
    cache.get_or_compute("k", KEY, compute)
    data_path, meta_path = cache.paths("k", KEY)
    data_path.write_bytes(data_path.read_bytes()[:100])  # truncated

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system", str(tmp_path))

    monkeypatch.setattr(pathlib.Path, "unlink", read_only)
    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", read_only)
    with pytest.warns(CacheWarning) as caught:
        assert_same(cache.get_or_compute("k", KEY, Counter(seed=1)), arrays(1))
    text = " | ".join(str(w.message) for w in caught)
    assert "checksum does not match" in text and "Read-only file system" in text
    assert data_path.exists() and meta_path.exists()  # left as they were: it is read-only


def test_decoded_data_loads_with_an_unwritable_cache(tmp_path, fake):
    """The data loader (the first thing every chapter does) works with an unusable cache."""
    from semisup_utils.data.dataset import load_cifar10

    (tmp_path / "file").write_text("")
    folder = fake.write_python_folder(tmp_path / "b", fake.arrays())
    with pytest.warns(CacheWarning, match="cannot write to the cache"):
        data = load_cifar10(folder, cache_dir=tmp_path / "file" / "cache", download=False)
    assert data.n_train == 100


def test_atomic_write_bytes_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "file.json"
    cache_mod.atomic_write_bytes(target, b"one")
    assert target.read_bytes() == b"one"

    def broken_fsync(fd):
        raise OSError("io error")

    monkeypatch.setattr(cache_mod.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        cache_mod.atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"one"
    assert sorted(os.listdir(target.parent)) == ["file.json"]
