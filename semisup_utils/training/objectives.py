"""Training objectives beyond the supervised loss: terms :func:`semisup_utils.training.train.train`
adds to each step's weighted cross-entropy, so that the loop itself stays short.

:class:`FixMatch` (Sohn et al., 2020): each step also draws ``ratio`` x batch unlabeled images,
labels them with the model's own prediction on a weakly augmented view where its confidence
reaches ``threshold``, and learns those labels on a strongly augmented view, weighted
``weight``. A step then runs three batches forward and two backward instead of one each.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F


class FixMatch:
    def __init__(self, unlabeled: np.ndarray, threshold: float = 0.95, weight: float = 1.0,
                 ratio: int = 1):
        if len(unlabeled) == 0:
            raise ValueError("unlabeled=: no images; give no objective to train without "
                             "consistency")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, np.integer)) or ratio <= 0:
            raise ValueError(f"ratio={ratio!r}: must be a positive whole number")
        self.unlabeled, self.threshold, self.weight, self.ratio = unlabeled, threshold, weight, \
            ratio

    def start(self, device: torch.device, seed: int, memory_format) -> None:
        """Before the first step: the images go to the device, the draws are seeded."""
        from .train import _to_device_images

        self._images = _to_device_images(self.unlabeled, device)
        self._draws = torch.Generator(device=device).manual_seed(seed + 1)
        self._format = memory_format

    def extra_inputs(self, model, batch: int, generator: torch.Generator,
                     amp: bool) -> torch.Tensor:
        """The strong views to append to the labelled batch (one forward pass for both); the
        pseudo-labels come from the weak views, without gradient."""
        from .train import augment_batch, strong_augment

        device = self._images.device
        pick = torch.randint(0, len(self._images), (self.ratio * batch,), generator=self._draws,
                             device=device)
        u = self._images[pick].float().div_(255)
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            guess = model(augment_batch(u, generator)).float().softmax(1)
        self._confidence, self._pseudo = guess.max(1)
        return strong_augment(u, generator).contiguous(memory_format=self._format)

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        """The weighted consistency term of the strong views' logits."""
        kept = self._confidence >= self.threshold
        return self.weight * (F.cross_entropy(logits, self._pseudo, reduction="none")
                              * kept).mean()
