"""Loading CIFAR-10 from each accepted source format, the decoded-array cache, refusals, and
the known/unknown split."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from conftest import write_tar

from semisup_utils.data import dataset as data_mod
from semisup_utils.data.dataset import (CLASSES, DataError, DataNotFoundError, check_m,
                                        load_cifar10, split_known, subsample)


def load(path, tmp_path):
    return load_cifar10(path, cache_dir=tmp_path / "cache", download=False)


def assert_arrays(loaded, expected, exact=True):
    for split in ("train", "test"):
        x, y = getattr(loaded, f"x_{split}"), getattr(loaded, f"y_{split}")
        assert x.dtype == np.uint8 and x.shape == expected[f"x_{split}"].shape
        assert x.shape[1:] == (32, 32, 3)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, expected[f"y_{split}"])
        if exact:
            np.testing.assert_array_equal(x, expected[f"x_{split}"])


# ----------------------------------------------------------------------------- formats
def test_python_batches_folder(tmp_path, fake):
    arrays = fake.arrays(per_batch=20, n_test=30)
    folder = fake.write_python_folder(tmp_path / "cifar-10-batches-py", arrays)
    loaded = load(folder, tmp_path)
    assert loaded.n_train == 100 and len(loaded.y_test) == 30
    # batches are read in order 1..5 and the (3, 32, 32) planes become (32, 32, 3)
    assert_arrays(loaded, arrays)
    assert loaded.source.startswith("cifar-python-folder:")
    assert loaded.classes == CLASSES


def test_pixel_layout_of_python_batches(tmp_path, fake):
    arrays = fake.arrays()
    folder = fake.write_python_folder(tmp_path / "b", arrays)
    raw = pickle.loads((folder / "data_batch_1").read_bytes(), encoding="bytes")[b"data"]
    loaded = load(folder, tmp_path)
    # a row holds 1024 red, then 1024 green, then 1024 blue values, row-major
    i, r, c, ch = 3, 5, 17, 2
    assert loaded.x_train[i, r, c, ch] == raw[i, ch * 1024 + r * 32 + c]


def test_folder_holding_the_batches_folder(tmp_path, fake):
    arrays = fake.arrays()
    fake.write_python_folder(tmp_path / "downloads" / "cifar-10-batches-py", arrays)
    assert_arrays(load(tmp_path / "downloads", tmp_path), arrays)


def test_python3_pickled_batches_are_read(tmp_path, fake):
    arrays = fake.arrays(seed=3)
    folder = fake.write_python_folder(tmp_path / "b", arrays, protocol=4)
    assert_arrays(load(folder, tmp_path), arrays)


def test_original_tarball(tmp_path, fake):
    arrays = fake.arrays(per_batch=12, n_test=15)
    path = fake.write_python_tarball(tmp_path / "cifar-10-python.tar.gz", arrays)
    loaded = load(path, tmp_path)
    assert_arrays(loaded, arrays)
    assert loaded.source.startswith("cifar-python-tarball:")


def test_original_tarball_missing_a_batch(tmp_path, fake):
    import io
    import tarfile

    blobs = fake.batch_blobs(fake.arrays())
    del blobs["data_batch_4"]
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in blobs.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(DataError, match="data_batch_4"):
        load(path, tmp_path)


def test_imagefolder_png(tmp_path, fake):
    arrays = fake.arrays(per_batch=6, n_test=20, seed=1)  # 3 train images per class
    root = fake.write_tree(tmp_path / "tree", arrays, "png")
    loaded = load(root, tmp_path)
    # label = index of the class folder in CLASSES; within a class, files in numeric order
    expected = fake.folder_order(arrays)
    assert_arrays(loaded, expected)
    assert list(np.bincount(loaded.y_train)) == [3] * 10
    assert loaded.source.startswith("imagefolder:")


def test_imagefolder_jpeg(tmp_path, fake):
    arrays = fake.arrays(per_batch=4, n_test=10, seed=2)
    # JPEG is lossy: use flat colours, which it keeps nearly exactly
    for split in ("train", "test"):
        x = arrays[f"x_{split}"]
        x[:] = x[:, :1, :1, :]
    root = fake.write_tree(tmp_path / "tree", arrays, "jpg")
    loaded = load(root, tmp_path)
    expected = fake.folder_order(arrays)
    assert_arrays(loaded, expected, exact=False)
    for split in ("train", "test"):
        diff = np.abs(getattr(loaded, f"x_{split}").astype(int) - expected[f"x_{split}"])
        assert diff.max() <= 4


def test_imagefolder_tarball(tmp_path, fake):
    arrays = fake.arrays(per_batch=4, n_test=10, seed=4)
    path = fake.write_tree_tarball(tmp_path / "copy.tar.gz", arrays, "png",
                                   extra={"README.md": b"not an image"})
    loaded = load(path, tmp_path)
    assert_arrays(loaded, fake.folder_order(arrays))
    assert loaded.source.startswith("imagefolder-tarball:")
    # the same tree without a top folder reads the same
    flat = fake.write_tree_tarball(tmp_path / "flat.tar.gz", arrays, "png", prefix="")
    assert_arrays(load(flat, tmp_path), fake.folder_order(arrays))


def test_fingerprint_depends_on_content(tmp_path, fake):
    a = load(fake.write_python_folder(tmp_path / "a", fake.arrays(seed=0)), tmp_path)
    b = load(fake.write_python_folder(tmp_path / "b", fake.arrays(seed=1)), tmp_path)
    a2 = load(fake.write_python_tarball(tmp_path / "a.tar.gz", fake.arrays(seed=0)), tmp_path)
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == a2.fingerprint  # same images, other container


@pytest.mark.slow
def test_real_jpeg_copy(cifar_real, shared_data):
    """The JPEG copy beside the project: every image, ten balanced classes."""
    assert cifar_real.x_train.shape == (50000, 32, 32, 3) and cifar_real.x_train.dtype == np.uint8
    assert cifar_real.x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(cifar_real.y_train).tolist() == [5000] * 10
    assert np.bincount(cifar_real.y_test).tolist() == [1000] * 10
    # class folders in CLASSES order, so labels come in blocks 0, 1, ..., 9
    assert np.all(np.diff(cifar_real.y_train) >= 0)
    assert cifar_real.source == f"imagefolder-tarball:{shared_data.resolve()}"
    assert 20 < cifar_real.x_train[:1000].mean() < 235  # real pictures, not blank


# ----------------------------------------------------------------------------- the cache
def test_second_load_comes_from_cache(tmp_path, fake, monkeypatch):
    arrays = fake.arrays()
    path = fake.write_python_tarball(tmp_path / "c.tar.gz", arrays)
    first = load(path, tmp_path)
    assert len(list((tmp_path / "cache" / "data").glob("*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("the source was decoded again instead of read from the cache")

    monkeypatch.setattr(data_mod, "_detect_and_read", no_decoding)
    second = load(path, tmp_path)
    assert_arrays(second, arrays)
    assert second.fingerprint == first.fingerprint and second.source == first.source


def test_cache_follows_the_cache_env(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("SEMISUP_CACHE", str(tmp_path / "envcache"))
    folder = fake.write_python_folder(tmp_path / "b", fake.arrays())
    load_cifar10(folder, download=False)
    assert list((tmp_path / "envcache" / "data").glob("*.npz"))


def test_changed_tarball_is_read_again(tmp_path, fake):
    path = fake.write_python_tarball(tmp_path / "c.tar.gz", fake.arrays(seed=0))
    load(path, tmp_path)
    new = fake.arrays(seed=5)
    fake.write_python_tarball(path, new)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert_arrays(load(path, tmp_path), new)


def test_file_changed_inside_a_folder_is_read_again(tmp_path, fake):
    """Rewriting a batch in place leaves the folder's own mtime alone; the cache must still
    notice (a stale entry is never used in silence)."""
    folder = fake.write_python_folder(tmp_path / "b", fake.arrays(seed=0))
    load(folder, tmp_path)
    new = fake.arrays(seed=6)
    blob = fake.batch_blobs(new)["test_batch"]
    target = folder / "test_batch"
    target.write_bytes(blob)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(load(folder, tmp_path).x_test, new["x_test"])


# ----------------------------------------------------------------------------- where from
def test_semisup_data_is_honoured(tmp_path, fake, monkeypatch):
    arrays = fake.arrays(seed=7)
    folder = fake.write_python_folder(tmp_path / "env" / "cifar-10-batches-py", arrays)
    monkeypatch.setenv("SEMISUP_DATA", str(folder))
    loaded = load_cifar10(cache_dir=tmp_path / "cache", download=False)
    assert_arrays(loaded, arrays)
    assert str(folder.resolve()) in loaded.source


def test_explicit_path_wins_over_env(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("SEMISUP_DATA", str(tmp_path / "does-not-exist"))
    arrays = fake.arrays(seed=8)
    folder = fake.write_python_folder(tmp_path / "b", arrays)
    assert_arrays(load(folder, tmp_path), arrays)


def test_nothing_given_and_no_download(tmp_path, monkeypatch):
    monkeypatch.delenv("SEMISUP_DATA", raising=False)
    with pytest.raises(DataNotFoundError) as info:
        load_cifar10(cache_dir=tmp_path / "cache", download=False)
    message = str(info.value)
    assert "SEMISUP_DATA" in message
    assert "Tried" in message and "download disabled" in message
    assert "cifar-10-batches-py" in message  # says what a copy may be


def test_failed_download_is_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("SEMISUP_DATA", raising=False)

    def offline(root):
        raise OSError("network is unreachable")

    monkeypatch.setattr(data_mod, "_download", offline)
    with pytest.raises(DataNotFoundError, match="network is unreachable"):
        load_cifar10(cache_dir=tmp_path / "cache", download=True)


# ----------------------------------------------------------------------------- refusals
def test_missing_path(tmp_path):
    path = tmp_path / "nowhere" / "cifar.tar.gz"
    with pytest.raises(DataError) as info:
        load(path, tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert "cifar-10-batches-py" in message and "ImageFolder" in message and ".tar.gz" in message


def test_folder_that_is_not_cifar(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="neither CIFAR-10 python batches"):
        load(tmp_path / "junk", tmp_path)


def test_tarball_with_a_missing_class_folder(tmp_path, fake):
    arrays = fake.arrays(per_batch=4, n_test=10)
    path = fake.write_tree_tarball(tmp_path / "copy.tar.gz", arrays, "png",
                                   skip={("train", "truck")})
    with pytest.raises(DataError) as info:
        load(path, tmp_path)
    assert "truck" in str(info.value) and "train" in str(info.value)
    assert not list((tmp_path / "cache").rglob("*.npz"))


def test_image_of_another_size_is_resized_and_said(tmp_path, fake):
    arrays = fake.arrays(per_batch=4, n_test=10)
    root = fake.write_tree(tmp_path / "tree", arrays, "png")
    from PIL import Image

    Image.new("RGB", (31, 32), (200, 10, 10)).save(root / "test" / "cat" / "5.png")
    data = load(root, tmp_path)
    assert data.x_test.shape[1:] == (32, 32, 3) and data.is_cifar10
    assert data.conversion == "1 of 31 images converted to 32x32 RGB, from 31x32 RGB (1)"
    cat = data.x_test[data.y_test == 3]
    assert (cat[..., 0] == 200).all(axis=(1, 2)).sum() == 1  # the red one, resized


def test_undecodable_image(tmp_path, fake):
    root = fake.write_tree(tmp_path / "tree", fake.arrays(per_batch=4, n_test=10), "png")
    (root / "train" / "dog" / "0.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="dog/0.png"):
        load(root, tmp_path)


def test_truncated_tarball(tmp_path, fake):
    arrays = fake.arrays(per_batch=20, n_test=20)  # noise images: the archive barely shrinks
    path = fake.write_tree_tarball(tmp_path / "copy.tar.gz", arrays, "png")
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError) as info:
        load(path, tmp_path)
    assert str(path) in str(info.value)
    assert "truncated or corrupt" in str(info.value)
    assert not list((tmp_path / "cache").rglob("*.npz"))


def test_not_an_archive(tmp_path):
    path = tmp_path / "cifar.tar.gz"
    path.write_bytes(b"this is not a tar archive at all" * 20)
    with pytest.raises(DataError, match="not a readable tar archive"):
        load(path, tmp_path)


def test_labels_outside_0_to_9(tmp_path, fake):
    arrays = fake.arrays()
    arrays["y_test"][0] = 10
    folder = fake.write_python_folder(tmp_path / "b", arrays)
    with pytest.raises(DataError, match="labels outside 0..9"):
        load(folder, tmp_path)


class Custom:
    pass


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("payload", ["os.system", "custom", "reduce"])
def test_restricted_unpickler_refuses_globals(tmp_path, fake, payload):
    arrays = fake.arrays()
    folder = fake.write_python_folder(tmp_path / "b", arrays, protocol=4)
    marker = tmp_path / "pwned"
    extra = {"os.system": os.system, "custom": Custom(), "reduce": Evil(marker)}[payload]
    entry = {b"data": np.zeros((20, 3072), np.uint8), b"labels": [0] * 20, b"extra": extra}
    (folder / "data_batch_3").write_bytes(pickle.dumps(entry, protocol=4))
    with pytest.raises(DataError, match="refusing to unpickle") as info:
        load(folder, tmp_path)
    assert {"os.system": "system", "custom": "Custom", "reduce": "system"}[payload] \
        in str(info.value)
    assert not marker.exists()


# ----------------------------------------------------------------------------- broken batches
def _broken_batches():
    """(what, bytes of the broken batch, words the error must hold)."""
    rng = np.random.default_rng(5)
    good = np.zeros((20, 3072), np.uint8)
    return {
        "empty": (b"", "is empty"),
        "text": (b"<html>404 Not Found</html>\n", "does not unpickle"),
        "random bytes": (rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
                         "does not unpickle"),
        "pickled list": (pickle.dumps([1, 2, 3]), "holds a list"),
        "dict without labels": (pickle.dumps({b"data": good}), "lacks b'labels'"),
        "dict with str keys": (pickle.dumps({"data": good, "labels": [0] * 20}),
                               "lacks b'data', b'labels'"),
        "rows of the wrong size": (pickle.dumps({b"data": np.zeros((20, 3000), np.uint8),
                                                 b"labels": [0] * 20}), "(20, 3000)"),
        "float pixels": (pickle.dumps({b"data": good.astype(np.float32), b"labels": [0] * 20}),
                         "float32"),
        "fewer labels than images": (pickle.dumps({b"data": good, b"labels": [0] * 19}),
                                     "expected 20 whole numbers"),
        "text labels": (pickle.dumps({b"data": good, b"labels": ["cat"] * 20}),
                        "expected 20 whole numbers"),
    }


@pytest.mark.parametrize("what", list(_broken_batches()))
def test_broken_batch_in_a_folder_names_the_file_and_the_problem(tmp_path, fake, what):
    """Every way a batch can be broken is one DataError that names the file and what is wrong
    (not a pickle/numpy traceback), and says how to fix it."""
    blob, words = _broken_batches()[what]
    folder = fake.write_python_folder(tmp_path / "cifar-10-batches-py", fake.arrays())
    (folder / "data_batch_2").write_bytes(blob)
    with pytest.raises(DataError) as info:
        load(folder, tmp_path)
    message = str(info.value)
    assert str(folder / "data_batch_2") in message
    assert words in message and "fetch the original" in message


@pytest.mark.parametrize("what", ["empty", "random bytes", "dict without labels"])
def test_broken_batch_in_the_tarball_names_the_member(tmp_path, fake, what):
    """The same for the original tarball: the error names the archive and the member."""
    blob, words = _broken_batches()[what]
    blobs = fake.batch_blobs(fake.arrays())
    blobs["test_batch"] = blob
    path = write_tar(tmp_path / "cifar-10-python.tar.gz", blobs, prefix="cifar-10-batches-py/")
    with pytest.raises(DataError) as info:
        load(path, tmp_path)
    assert f"{path}:cifar-10-batches-py/test_batch" in str(info.value)
    assert words in str(info.value)


def test_unreadable_batch_names_the_file(tmp_path, fake):
    """A batch that cannot be opened (here: a folder in its place) is named too."""
    folder = fake.write_python_folder(tmp_path / "cifar-10-batches-py", fake.arrays())
    (folder / "data_batch_5").unlink()
    (folder / "data_batch_5").mkdir()
    with pytest.raises(DataError, match=r"data_batch_5 cannot be read"):
        load(folder, tmp_path)


# ----------------------------------------------------------------------------- subsets
def test_subsample_is_stratified_and_seeded(fake):
    from semisup_utils.data.dataset import CIFAR10

    arrays = fake.arrays(per_batch=40, n_test=50)  # 200 train, 20 per class
    full = CIFAR10(**arrays, source="fake", fingerprint="abc")
    small = subsample(full, 50, 20, seed=1)
    assert small.n_train == 50 and len(small.y_test) == 20
    assert np.bincount(small.y_train, minlength=10).tolist() == [5] * 10
    again = subsample(full, 50, 20, seed=1)
    other = subsample(full, 50, 20, seed=2)
    np.testing.assert_array_equal(small.x_train, again.x_train)
    assert not np.array_equal(small.x_train, other.x_train)
    assert small.fingerprint not in (full.fingerprint, other.fingerprint)
    assert subsample(full, None, None) is full
    with pytest.raises(ValueError, match=r"at least one per class \(10 classes\)"):
        subsample(full, 5, None)


# ----------------------------------------------------------------------------- split_known
LABELS = np.repeat(np.arange(10), 30)  # 300 labels, 30 per class


def test_split_sizes_disjoint_and_covering():
    known, unknown = split_known(LABELS, 60, seed=0)
    assert len(known) == 60 and len(unknown) == 240
    assert not set(known) & set(unknown)
    assert np.array_equal(np.sort(np.concatenate([known, unknown])), np.arange(300))
    assert np.all(np.diff(known) > 0) and np.all(np.diff(unknown) > 0)


def test_split_is_seeded():
    a, _ = split_known(LABELS, 60, seed=0)
    b, _ = split_known(LABELS, 60, seed=0)
    c, _ = split_known(LABELS, 60, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_stratified_split_balances_classes():
    known, _ = split_known(LABELS, 60, seed=3, stratify=True)
    assert np.bincount(LABELS[known], minlength=10).tolist() == [6] * 10
    again, _ = split_known(LABELS, 60, seed=3, stratify=True)
    np.testing.assert_array_equal(known, again)
    with pytest.raises(ValueError, match="M >= 10"):
        split_known(LABELS, 5, seed=0, stratify=True)


@pytest.mark.parametrize("m", [0, 300, -3, 2.5, 301, True, "10"])
def test_split_refuses_bad_m(m):
    with pytest.raises(ValueError) as info:
        split_known(LABELS, m, seed=0)
    message = str(info.value)
    assert f"M={m!r}" in message or f"M={m}" in message
    assert "1..299" in message


def test_check_m_accepts_whole_numbers():
    assert check_m(5, 10) == 5
    assert check_m(np.int64(9), 10) == 9
    assert check_m(4.0, 10) == 4 and isinstance(check_m(4.0, 10), int)
    assert check_m(1, 2) == 1


# ----------------------------------------------------------------------------- validation split
def test_validation_split_of_the_known_images():
    from semisup_utils.data.dataset import split_known, validation_split

    labels = np.repeat(np.arange(10), 100)
    known, unknown = split_known(labels, 500, seed=0)
    fit, val = validation_split(labels, known, 0.2, seed=0)
    assert len(val) == 100 and len(fit) == 400
    assert not set(fit) & set(val) and sorted(np.concatenate([fit, val])) == sorted(known)
    assert not set(val) & set(unknown)  # carved from the known images only
    assert (np.diff(fit) > 0).all() and (np.diff(val) > 0).all()
    # stratified: each class keeps its share of the known images, to within one image
    share = np.bincount(labels[known], minlength=10) * 0.2
    assert (np.abs(np.bincount(labels[val], minlength=10) - share) <= 1).all()
    again = validation_split(labels, known, 100, seed=0)
    assert np.array_equal(again[1], val)  # a count or a fraction, same split
    other = validation_split(labels, known, 100, seed=1)
    assert not np.array_equal(other[1], val)


def test_validation_split_falls_back_to_random_when_m_is_too_small():
    from semisup_utils.data.dataset import validation_split

    labels = np.repeat(np.arange(10), 10)
    known = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 11])  # most classes once
    fit, val = validation_split(labels, known, 3, seed=0)
    assert len(val) == 3 and len(fit) == 9
    with pytest.raises(ValueError, match="stratified"):
        validation_split(labels, known, 3, seed=0, stratify=True)
    for size in (0, 12, 1.0, 0.0):
        with pytest.raises(ValueError, match="size"):
            validation_split(labels, known, size, seed=0)
