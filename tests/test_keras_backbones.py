"""The report's three Keras backbones (VGG16, VGG19, EfficientNetV2B2; the `keras` extra),
built offline with ``weights=None``: the embeddings' shapes, the report's preprocessing (each
application's own ``preprocess_input`` on 0-255 RGB pixels), K-means on the features, and the
Keras backends accepted (torch, where KERAS_BACKEND is unset; tensorflow where it is installed).
The module runs on the backend KERAS_BACKEND names: `KERAS_BACKEND=tensorflow pytest
tests/test_keras_backbones.py` where TensorFlow is installed (docs/testing.md). The ImageNet
weights themselves download on first use and are not tested here."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from conftest import synthetic_cifar
from semisup_utils.teachers import features as feat
from semisup_utils.teachers.features import BACKBONES, Backbone, BackboneUnavailableError, embed
from semisup_utils.teachers.label_inference import kmeans_known, label_quality

pytestmark = pytest.mark.slow

os.environ.setdefault("KERAS_BACKEND", "torch")  # what semisup_utils.teachers.features sets, first
# Keras writes its config where KERAS_HOME points (~/.keras): the tests' own cache folder
os.environ.setdefault("KERAS_HOME", os.path.join(os.environ["SEMISUP_CACHE"], "keras"))
keras = pytest.importorskip("keras", reason="the keras extra: pip install -e '.[keras]'")

WIDTH = {"VGG16": 512, "VGG19": 512, "EfficientNetV2B2": 1408}
MODULES = {"VGG16": "vgg16", "VGG19": "vgg19", "EfficientNetV2B2": "efficientnet_v2"}


def offline(monkeypatch, name: str) -> str:
    """Registers ``keras-<name>`` with ``weights=None`` (random, no download); its name."""
    backbone = f"keras-{name}"
    monkeypatch.setitem(BACKBONES, backbone, Backbone(
        backbone, feat._keras(name, weights=None), BACKBONES[backbone].preprocessing, "test"))
    return backbone


def reference(name: str, images: np.ndarray, seed: int) -> np.ndarray:
    """The report's way, in Keras alone: the application at the same random weights, its own
    preprocess_input on the float RGB pixels, average pooling."""
    keras.utils.set_random_seed(seed)
    model = getattr(keras.applications, name)(include_top=False, weights=None, pooling="avg",
                                              input_shape=images.shape[1:])
    module = getattr(keras.applications, MODULES[name])
    out = model(module.preprocess_input(images.astype(np.float32)), training=False)
    return np.asarray(keras.ops.convert_to_numpy(out))


@pytest.mark.parametrize("name", list(WIDTH))
def test_keras_backbones_embed_as_the_report_preprocessed(name, monkeypatch, tmp_path):
    backbone = offline(monkeypatch, name)
    images = synthetic_cifar(n_train=6, n_test=1).x_train
    keras.utils.set_random_seed(0)
    features = embed(images, backbone, 32, batch_size=4, device="cpu", cache_dir=tmp_path,
                     progress=False)
    assert features.shape == (6, WIDTH[name]) and features.dtype == np.float32
    assert np.isfinite(features).all() and features.std(0).max() > 0
    np.testing.assert_allclose(features, reference(name, images, seed=0), rtol=1e-4, atol=1e-4)


def test_vgg_preprocessing_is_caffe_style(monkeypatch, tmp_path):
    """The report's VGG input: BGR with the ImageNet means subtracted, not scaled pixels. An
    image at the means' colour preprocesses to zeros, so its features are the network's at a
    zero input."""
    backbone = offline(monkeypatch, "VGG16")
    mean_bgr = np.array([103.939, 116.779, 123.68])
    image = np.broadcast_to(mean_bgr[::-1], (1, 32, 32, 3)).round().astype(np.uint8)
    keras.utils.set_random_seed(1)
    at_means = embed(image, backbone, 32, device="cpu", cache_dir=tmp_path, progress=False)
    keras.utils.set_random_seed(1)
    model = keras.applications.VGG16(include_top=False, weights=None, pooling="avg",
                                     input_shape=(32, 32, 3))
    residue = (image[0, 0, 0][::-1] - mean_bgr).astype(np.float32)  # rounding of the pixels
    zero = keras.ops.convert_to_numpy(model(np.broadcast_to(residue, (1, 32, 32, 3)).copy(),
                                            training=False))
    np.testing.assert_allclose(at_means, zero, rtol=1e-4, atol=1e-5)


def test_kmeans_on_keras_features_finds_the_classes(monkeypatch, tmp_path):
    """The report's Model B on a Keras backbone: K-means fitted on the known images' VGG16
    features labels the unknown ones (here of random weights, on images whose colour gives
    their class: far above chance)."""
    backbone = offline(monkeypatch, "VGG16")
    data = synthetic_cifar(n_train=200, n_test=10)
    keras.utils.set_random_seed(0)
    features = embed(data.x_train, backbone, 32, device="cpu", cache_dir=tmp_path,
                     progress=False)
    known = np.arange(0, 200, 2)
    inferred = kmeans_known(features, known, data.y_train[known], seed=0)
    report = label_quality(inferred, data.y_train)
    assert report["n_inferred"] == 100 and report["accuracy"] > 0.5


def test_the_tensorflow_path_gives_the_torch_path_s_features(monkeypatch, tmp_path):
    """Keras on TensorFlow hands back its own tensors: the module goes through numpy there.
    That path, taken on the torch backend here, gives the same features."""
    backbone = offline(monkeypatch, "VGG19")
    images = synthetic_cifar(n_train=4, n_test=1).x_train
    keras.utils.set_random_seed(0)
    plain = embed(images, backbone, 32, device="cpu", cache_dir=tmp_path / "a", progress=False)
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    keras.utils.set_random_seed(0)
    model = BACKBONES[backbone].build(32)
    assert model.backend == "tensorflow"
    with torch.inference_mode():
        through_numpy = model(torch.from_numpy(images).permute(0, 3, 1, 2).float())
    assert isinstance(through_numpy, torch.Tensor)
    np.testing.assert_allclose(through_numpy.numpy(), plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_torch_and_tensorflow_backends_are_accepted(backend, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    assert feat._import_keras("VGG16") is keras


@pytest.mark.parametrize("backend", ["jax", "numpy", "openvino"])
def test_other_backends_are_refused_naming_the_ones_that_work(backend, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    with pytest.raises(BackboneUnavailableError,
                       match=f"torch or tensorflow, and Keras runs on {backend}: set KERAS_BACKEND"):
        feat._import_keras("VGG16")
