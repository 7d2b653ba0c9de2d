"""A reader's own labelled image folder: any class names, 2+ classes, any size or mode."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import write_tar
from semisup_utils.data import CLASSES, DataError, load_cifar10, split_known, subsample

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
    from semisup_utils.budget import Budget
    from semisup_utils.runs import Context, Run, execute
    from semisup_utils.labels import infer_labels, label_report, probabilities
    from semisup_utils.store import ResultsStore

    data = load_cifar10(write_tarball(tmp_path / "s.tar.gz", own_dataset()),
                        cache_dir=tmp_path / "cache", download=False)
    known, _ = split_known(data.y_train, 15, 0)
    brightness = data.x_train.reshape(len(data.x_train), -1).mean(1, keepdims=True)
    guess = infer_labels("kmeans", brightness, known, data.y_train[known], n_classes=3)
    assert probabilities(guess).shape == (45, 3)
    assert label_report(guess, data.y_train)["confusion"].shape == (3, 3)
    assert label_report(guess, data.y_train)["accuracy"] > 0.9  # brightness separates them
    ctx = Context(store=ResultsStore(tmp_path / "results"), cache_dir=tmp_path / "cache",
                  device="cpu", progress=False)
    budget = Budget.report(2, batch_size=16)
    rows = [execute(data, Run(15, 0, name, budget), ctx) for name in ("A", "C")]
    assert rows[1]["n_inferred"] == 45
    assert rows[0]["key"]["data"] == data.fingerprint
    from semisup_utils.cache import ArrayCache
    from semisup_utils.runs import _model_from_arrays, run_key

    weights = ArrayCache(tmp_path / "cache").load("models", run_key(data, Run(15, 0, "A", budget)))
    assert _model_from_arrays(weights, "report", "cpu")[-1].out_features == 3


def test_every_chapter_runs_at_smoke_on_a_dataset_that_is_not_cifar(tmp_path, monkeypatch):
    """The done-when of the own-data issue: the smoke profile runs every chapter on it."""
    from semisup_utils import runner

    tarball = write_tarball(tmp_path / "shapes.tar.gz",
                            own_dataset(per_class_train=40, per_class_test=10))
    monkeypatch.setenv("SEMISUP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SEMISUP_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SEMISUP_DATA", str(tarball))  # restored afterwards, unlike run(data=)
    small = {"M": 30, "M_list": [30, 60], "beyond_M_list": [30, 60],  # 40 images per class
             "distill_M_list": [30]}
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
