"""A reader's own labelled image folder: any class names, 2+ classes, any size or mode."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import write_tar
from semisup_utils.data.dataset import CLASSES, DataError, load_cifar10, split_known, subsample

SHAPES = ("circle", "square", "triangle")


def own_dataset(per_class_train=20, per_class_test=6, classes=SHAPES, size=28, mode="L",
                skip=(), seed=0) -> dict[str, bytes]:
    """ImageFolder members ``split/class/N.png``: noisy images whose mean brightness depends on
    the class (so a network can learn them, and PCA needs many components), in the given size
    and PIL mode."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    files = {}
    for split, per_class in (("train", per_class_train), ("test", per_class_test)):
        for label, name in enumerate(classes):
            if (split, name) in skip:
                continue
            for i in range(per_class):
                level = 90 + 80 * label / max(len(classes) - 1, 1)
                pixels = np.clip(rng.normal(level, 40, (size, size, 3)), 0, 255).astype(np.uint8)
                image = Image.fromarray(pixels).convert(mode)
                buffer = io.BytesIO()
                image.save(buffer, format="PNG")
                files[f"{split}/{name}/{i}.png"] = buffer.getvalue()
    return files


def write_tarball(path: Path, files: dict[str, bytes]) -> Path:
    return write_tar(path, files, prefix="mydata/")


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, blob in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob)
    return root


def test_three_grey_classes_become_32x32_rgb(tmp_path):
    data = load_cifar10(write_tarball(tmp_path / "shapes.tar.gz", own_dataset()),
                        cache_dir=tmp_path / "cache", download=False)
    assert data.classes == SHAPES and data.n_classes == 3 and not data.is_cifar10
    assert data.x_train.shape == (60, 32, 32, 3) and data.x_test.shape == (18, 32, 32, 3)
    assert np.bincount(data.y_train).tolist() == [20, 20, 20]
    assert "78 of 78 images converted to 32x32 RGB, from 28x28 L (78)" == data.conversion
    assert data.chance == pytest.approx(100 / 3)
    # grey in, grey out: the three channels are equal, and brightness still follows the class
    assert (data.x_train[..., 0] == data.x_train[..., 2]).all()
    means = [data.x_train[data.y_train == c].mean() for c in range(3)]
    assert means == sorted(means)


def test_rgba_and_larger_images_are_converted_and_counted(tmp_path):
    files = own_dataset(size=64, mode="RGBA", classes=("a", "b"))
    data = load_cifar10(write_tree(tmp_path / "tree", files), cache_dir=tmp_path / "cache",
                        download=False)
    assert data.x_train.shape[1:] == (32, 32, 3) and data.classes == ("a", "b")
    assert "from 64x64 RGBA" in data.conversion


def test_other_names_for_ten_classes_sort_and_get_their_own_fingerprint(tmp_path):
    names = tuple(f"kind{i}" for i in range(10))
    files = own_dataset(per_class_train=3, per_class_test=2, classes=names, size=32,
                        mode="RGB")
    data = load_cifar10(write_tree(tmp_path / "a", files), cache_dir=tmp_path / "c1",
                        download=False)
    assert data.classes == names and data.conversion == ""
    # the same pixels filed under CIFAR-10's names: CIFAR-10 order and another fingerprint
    renamed = {k.replace(f"/kind{i}/", f"/{CLASSES[i]}/"): v for k, v in files.items()
               for i in range(10) if f"/kind{i}/" in k}
    cifar = load_cifar10(write_tree(tmp_path / "b", renamed), cache_dir=tmp_path / "c2",
                         download=False)
    assert cifar.is_cifar10 and cifar.classes == CLASSES
    assert np.array_equal(cifar.x_train, data.x_train)
    assert cifar.fingerprint != data.fingerprint


def test_class_missing_from_one_split_is_refused_by_name(tmp_path):
    files = own_dataset(skip=[("test", "square")])
    with pytest.raises(DataError, match=r"square \(no images in test/\)"):
        load_cifar10(write_tarball(tmp_path / "d.tar.gz", files), cache_dir=tmp_path / "c",
                     download=False)


def test_one_class_is_not_a_classification_problem(tmp_path):
    files = own_dataset(classes=("only",))
    with pytest.raises(DataError, match="at least two"):
        load_cifar10(write_tree(tmp_path / "t", files), cache_dir=tmp_path / "c",
                     download=False)


def test_a_tarball_in_another_layout_says_what_it_found(tmp_path):
    files = {k.replace("train/", "training/").replace("test/", "testing/"): v
             for k, v in own_dataset(per_class_train=2, per_class_test=1).items()}
    with pytest.raises(DataError) as error:
        load_cifar10(write_tarball(tmp_path / "x.tar.gz", files), cache_dir=tmp_path / "c",
                     download=False)
    message = str(error.value)
    assert "found 9 files, 9 of them images" in message and "mydata" in message
    assert "train/<class>/" in message


def test_too_few_images_per_class(tmp_path):
    files = own_dataset(per_class_train=20, per_class_test=6)
    files = {k: v for k, v in files.items()
             if not (k.startswith("train/circle/") and int(Path(k).stem) >= 2)}
    data = load_cifar10(write_tree(tmp_path / "t", files), cache_dir=tmp_path / "c",
                        download=False)
    with pytest.raises(ValueError, match="'circle' has 2"):
        subsample(data, 30, None)
    with pytest.raises(ValueError, match="one per class"):
        subsample(data, 2, None)
    with pytest.raises(ValueError, match="M >= 3"):
        split_known(data.y_train, 2, 0, stratify=True)


def test_downstream_follows_the_number_of_classes(tmp_path):
    from semisup_utils.study.runs import Context, Run, execute
    from semisup_utils.study.store import ResultsStore
    from semisup_utils.teachers.label_inference import fit_method, label_quality, probabilities
    from semisup_utils.training.budget import Budget

    data = load_cifar10(write_tarball(tmp_path / "s.tar.gz", own_dataset()),
                        cache_dir=tmp_path / "cache", download=False)
    known, _ = split_known(data.y_train, 15, 0)
    brightness = data.x_train.reshape(len(data.x_train), -1).mean(1, keepdims=True)
    guess = fit_method("kmeans", brightness, known, data.y_train[known], n_classes=3)
    assert probabilities(guess).shape == (45, 3)
    assert label_quality(guess, data.y_train)["confusion"].shape == (3, 3)
    assert label_quality(guess, data.y_train)["accuracy"] > 0.9  # brightness separates them
    ctx = Context(store=ResultsStore(tmp_path / "results"), cache_dir=tmp_path / "cache",
                  device="cpu", progress=False)
    budget = Budget.report(2, batch_size=16)
    rows = [execute(data, Run(15, 0, name, budget), ctx) for name in ("A", "C")]
    assert rows[1]["n_inferred"] == 45
    assert rows[0]["key"]["data"] == data.fingerprint
    from semisup_utils.base.cache import ArrayCache
    from semisup_utils.study.runs import _model_from_arrays, run_key

    weights = ArrayCache(tmp_path / "cache").load("models", run_key(data, Run(15, 0, "A", budget)))
    assert _model_from_arrays(weights, "report", "cpu")[-1].out_features == 3


@pytest.mark.slow
def test_every_chapter_runs_at_smoke_on_a_dataset_that_is_not_cifar(tmp_path, monkeypatch):
    """The done-when of the own-data issue: the smoke profile runs every chapter on it."""
    from semisup_utils.book import chapters as runner

    tarball = write_tarball(tmp_path / "shapes.tar.gz",
                            own_dataset(per_class_train=40, per_class_test=10))
    monkeypatch.setenv("SEMISUP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SEMISUP_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SEMISUP_DATA", str(tarball))  # restored afterwards, unlike run(data=)
    small = {"M": 30, "M_list": [30, 60], "screening_M_list": [30, 60],  # 40 images a class
             "distill_M_list": [30]}  # chapter 10's (its M_list): the qualified name wins
    done = runner.run([], "smoke", small, tmp_path / "book", progress=False)
    assert len(done) == len(runner.chapters())
    def outputs_text(path):
        """Every output's text, lines joined (the data line wraps at the page's width)."""
        parts = []
        for cell in json.loads(path.read_text())["cells"]:
            for out in cell.get("outputs", []):
                for value in [out.get("text", ""), out.get("traceback", ""),
                              *out.get("data", {}).values()]:
                    parts.append("".join(value) if isinstance(value, list) else str(value))
        return " ".join(" ".join(parts).split())

    text = {path.stem: outputs_text(path) for path, _ in done}
    for stem, cells in text.items():
        assert "Traceback" not in cells, stem
    assert "Not CIFAR-10: 3 classes (circle, square, triangle)" in text["01_data"]
    assert "converted to 32x32 RGB, from 28x28 L" in text["05_models_abc"]
    assert "report's test accuracy" not in text["05_models_abc"]
    assert "Chance: 33.3% (3 classes)" in text["03_clustering"]


# ----------------------------------------------------------------------------- issue 35: 5, 6, 15
def _encoded(image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def deep_dataset(images, classes=("a", "b"), per_class=(4, 2)) -> dict[str, bytes]:
    """``split/class/N.ext`` members from ``images(split, label, i) -> (bytes, ext)``."""
    files = {}
    for split, count in zip(("train", "test"), per_class):
        for label, name in enumerate(classes):
            for i in range(count):
                blob, ext = images(split, label, i)
                files[f"{split}/{name}/{i}.{ext}"] = blob
    return files


def test_sixteen_bit_images_are_scaled_to_8_bits_not_clipped(tmp_path):
    """A 16-bit grey PNG (PIL mode I;16), a big-endian 16-bit TIFF (I;16B) and a 32-bit
    integer TIFF of 16-bit values (I) read as value >> 8, as torchvision's to_dtype scales."""
    from PIL import Image

    rng = np.random.default_rng(1)
    values = {}

    def images(split, label, i):
        pixels = rng.integers(0, 65536, (32, 32)).astype(np.uint16)
        values[(split, label, i)] = pixels
        if i % 3 == 0:
            return _encoded(Image.fromarray(pixels), "PNG"), "png"
        if i % 3 == 1:
            return _encoded(Image.fromarray(pixels.astype(">u2")), "TIFF"), "tif"
        return _encoded(Image.fromarray(pixels.astype(np.int32), "I"), "TIFF"), "tiff"

    data = load_cifar10(write_tree(tmp_path / "t", deep_dataset(images, per_class=(3, 3))),
                        cache_dir=tmp_path / "c", download=False)
    expected = np.stack([(values[("train", label, i)] >> 8).astype(np.uint8)
                         for label in (0, 1) for i in range(3)])
    assert np.array_equal(data.x_train[..., 0], expected)
    assert (data.x_train == 255).mean() < 0.01  # was 99.6% white, clipped
    assert "from 32x32 I;16 scaled from 16 to 8 bits (4)" in data.conversion
    assert "32x32 I;16B scaled from 16 to 8 bits (4)" in data.conversion
    assert "32x32 I scaled from 16 to 8 bits (4)" in data.conversion


def test_float_images_in_0_1_are_scaled_and_others_refused_by_name(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(2)
    unit = {}

    def images(split, label, i):
        pixels = rng.random((32, 32)).astype(np.float32)
        unit[(split, label, i)] = pixels
        return _encoded(Image.fromarray(pixels, "F"), "TIFF"), "tif"

    files = deep_dataset(images)
    data = load_cifar10(write_tree(tmp_path / "t", files), cache_dir=tmp_path / "c",
                        download=False)
    assert np.array_equal(data.x_train[0, ..., 0],
                          np.round(unit[("train", 0, 0)] * 255).astype(np.uint8))
    assert len(np.unique(data.x_train)) > 200  # was 0 everywhere
    assert "32x32 F scaled from [0, 1] to 8 bits (12)" in data.conversion

    files["train/b/1.tif"] = _encoded(Image.fromarray(np.full((32, 32), 700, np.float32), "F"),
                                      "TIFF")
    with pytest.raises(DataError, match=r"train/b/1\.tif: a float image \(PIL mode F\) with "
                                        r"values from 700 to 700.*\[0, 1\]"):
        load_cifar10(write_tree(tmp_path / "t2", files), cache_dir=tmp_path / "c",
                     download=False)


def test_integer_image_beyond_16_bits_is_refused_by_name(tmp_path):
    from PIL import Image

    grey = _encoded(Image.new("L", (32, 32), 100), "PNG")
    files = deep_dataset(lambda split, label, i: (grey, "png"))
    files["test/a/deep.tif"] = _encoded(Image.fromarray(np.full((8, 8), 70000, np.int32), "I"),
                                        "TIFF")
    with pytest.raises(DataError, match=r"test/a/deep\.tif: a I image with values from 70000"):
        load_cifar10(write_tree(tmp_path / "t", files), cache_dir=tmp_path / "c",
                     download=False)


def nested(files: dict[str, bytes]) -> dict[str, bytes]:
    """The same images, most of them moved into sub-folders (two levels) of their class."""
    moved = {}
    for name, blob in files.items():
        split, cls, file = name.split("/")
        i = int(Path(file).stem)
        sub = "" if i < 2 else "x/" if i % 2 else "y/deeper/"
        moved[f"{split}/{cls}/{sub}{file}"] = blob
    return moved


@pytest.mark.parametrize("source", ["folder", "tarball"])
def test_images_in_sub_folders_of_a_class_are_read(tmp_path, source):
    """As torchvision's ImageFolder finds them: every image at any depth below its class."""
    flat = own_dataset(per_class_train=10, per_class_test=3, classes=("a", "b"), size=32,
                       mode="RGB")
    deep = nested(flat)
    write = write_tree if source == "folder" else write_tarball
    target = tmp_path / ("t" if source == "folder" else "t.tar.gz")
    data = load_cifar10(write(target, deep), cache_dir=tmp_path / "c", download=False)
    assert data.n_train == 20 and len(data.y_test) == 6  # was 4 and 4: only the top level
    assert np.bincount(data.y_train).tolist() == [10, 10] and data.skipped == ""
    assert sorted(map(bytes, data.x_train)) == sorted(
        map(bytes, load_cifar10(write_tree(tmp_path / "flat", flat), cache_dir=tmp_path / "c",
                                download=False).x_train))


def test_netpbm_images_are_read_and_an_all_ppm_set_loads(tmp_path):
    """GTSRB's .ppm (and .pgm, .pbm, .pnm, upper case too) are read, as torchvision reads them."""
    from PIL import Image

    rng = np.random.default_rng(3)
    kinds = [("PPM", "ppm", "RGB"), ("PPM", "pgm", "L"), ("PNG", "png", "RGB"),
             ("PPM", "PPM", "RGB")]

    def images(split, label, i):
        fmt, ext, mode = kinds[i]
        pixels = rng.integers(0, 256, (40, 30, 3)).astype(np.uint8)
        return _encoded(Image.fromarray(pixels).convert(mode), fmt), ext

    data = load_cifar10(write_tree(tmp_path / "mixed", deep_dataset(images)),
                        cache_dir=tmp_path / "c", download=False)
    assert data.n_train == 8 and data.skipped == ""  # was 2: the .png alone

    def ppm(split, label, i):
        return _encoded(Image.fromarray(rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)),
                        "PPM"), "ppm"

    gtsrb = deep_dataset(ppm, classes=("00000", "00001", "00002"))
    data = load_cifar10(write_tarball(tmp_path / "gtsrb.tar.gz", gtsrb),
                        cache_dir=tmp_path / "c", download=False)  # was "0 class folder(s)"
    assert data.classes == ("00000", "00001", "00002") and data.n_train == 12


def test_extensions_read_include_torchvisions_imagefolder(tmp_path):
    from torchvision.datasets.folder import IMG_EXTENSIONS

    from semisup_utils.data.dataset import IMAGE_EXTENSIONS

    assert set(IMG_EXTENSIONS) <= set(IMAGE_EXTENSIONS)


def test_files_left_out_are_counted_and_named_at_every_load(tmp_path):
    files = own_dataset(per_class_train=3, per_class_test=2, classes=("a", "b"))
    files.update({"train/a/notes.txt": b"x", "train/a/sub/more.txt": b"x",
                  "train/b/Thumbs.db": b"x", "train/a/.DS_Store": b"x",
                  "train/b/._0.png": b"x", "test/loose.png": files["test/a/0.png"]})
    root = write_tree(tmp_path / "t", files)
    for attempt in range(2):  # decoded, then from the cache
        with pytest.warns(UserWarning) as caught:
            data = load_cifar10(root, cache_dir=tmp_path / "c", download=False)
        message = " ".join(str(w.message) for w in caught)
        assert data.n_train == 6
        assert "skipped 6 file(s) under train/ and test/: 3 of a type not read (.txt 2, .db 1)" \
            in message, message
        assert "2 hidden" in message and "1 outside a class folder of test/" in message
        assert "train/a/notes.txt" in message and "train/a/.DS_Store" in message
        assert ".ppm" in message and data.skipped in message


def test_class_folders_of_unread_files_are_refused_saying_what_was_skipped(tmp_path):
    files = {f"{split}/{cls}/{i}.xyz": b"x" for split in ("train", "test")
             for cls in ("a", "b") for i in range(2)}
    with pytest.raises(DataError, match=r"0 class folder\(s\) with images.*skipped 8 file\(s\)"
                                        r".*\(\.xyz 8\)"):
        load_cifar10(write_tarball(tmp_path / "x.tar.gz", files), cache_dir=tmp_path / "c",
                     download=False)


def test_two_datasets_in_one_tarball_are_refused(tmp_path):
    files = own_dataset(per_class_train=2, per_class_test=1, classes=("a", "b"))
    both = {f"{top}/{name}": blob for top in ("one", "two") for name, blob in files.items()}
    with pytest.raises(DataError, match=r"several datasets .*one/, two/"):
        load_cifar10(write_tar(tmp_path / "x.tar.gz", both), cache_dir=tmp_path / "c",
                     download=False)


def test_a_broken_link_is_named(tmp_path):
    root = write_tree(tmp_path / "t", own_dataset(per_class_train=2, per_class_test=1,
                                                 classes=("a", "b")))
    (root / "train/a/gone.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(DataError, match=r"cannot read image .*train/a/gone\.png"):
        load_cifar10(root, cache_dir=tmp_path / "c", download=False)


def _non_ascii_dataset(tmp_path):
    """A folder and a GNU tarball (names stored as raw UTF-8 bytes, as GNU tar does) of class
    folders 'été' and 'hiver' whose files have non-ASCII names, one of them not UTF-8."""
    import os
    import tarfile

    files = own_dataset(per_class_train=3, per_class_test=2, classes=("été", "hiver"))
    files = {name.replace("/0.png", "/é0.png"): blob for name, blob in files.items()}
    root = tmp_path / "données"
    for name, blob in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob)
    latin1 = os.path.join(os.fsencode(root / "train" / "hiver"), b"caf\xe9.png")
    with open(latin1, "wb") as handle:  # a name that is not UTF-8 (Latin-1)
        handle.write(files["train/hiver/1.png"])
    tarball = tmp_path / "données.tar.gz"
    with tarfile.open(tarball, "w:gz", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tar:
        tar.add(root, arcname="données")
    return root, tarball


def test_non_ascii_names_load_alike_under_the_c_locale(tmp_path):
    """Under LC_ALL=C PYTHONUTF8=0 (an ASCII file system encoding) a non-ASCII file name gave
    a UnicodeEncodeError naming no file; now both sources load, with the fingerprint and class
    names a UTF-8 locale gives."""
    import os
    import subprocess
    import sys

    root, tarball = _non_ascii_dataset(tmp_path)
    here = load_cifar10(root, cache_dir=tmp_path / "c", download=False)
    assert here.classes == ("hiver", "été") and here.n_train == 7
    script = ("import sys; from semisup_utils.data.dataset import load_cifar10\n"
              "for path in sys.argv[2:]:\n"
              "    d = load_cifar10(path, cache_dir=sys.argv[1], download=False)\n"
              "    print(ascii((sys.getfilesystemencoding(), d.n_train, d.fingerprint, d.classes, "
              "d.source)))\n")
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "LANG": "C",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "c2"), str(root),
                           str(tarball)], env=env, capture_output=True, text=True,
                          errors="replace", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split("\n")
    for line, kind, path in zip(lines, ("imagefolder", "imagefolder-tarball"), (root, tarball)):
        assert line == ascii(("ascii", 7, here.fingerprint, here.classes, f"{kind}:{path}"))


def test_a_class_folder_name_that_is_not_utf8_is_refused_by_name(tmp_path):
    import os

    root = write_tree(tmp_path / "t", own_dataset(per_class_train=2, per_class_test=1,
                                                 classes=("a", "b")))
    for split in ("train", "test"):
        os.rename(root / split / "b", os.path.join(os.fsencode(root / split), b"caf\xe9"))
    with pytest.raises(DataError, match="class folder 'train/caf\ufffd' has a name that is not "
                                        "UTF-8"):
        load_cifar10(root, cache_dir=tmp_path / "c", download=False)
