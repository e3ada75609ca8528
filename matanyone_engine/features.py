"""Per-frame image feature cache: the image encoder runs once per frame for all objects, and
the features are dropped after the step (the cache holds at most one frame)."""
from __future__ import annotations

import torch

from .network import ImageFeatures, MatAnyoneNet


class FrameFeatures:
    def __init__(self, network: MatAnyoneNet):
        self.network = network
        self._image: torch.Tensor | None = None
        self._features: ImageFeatures | None = None

    def get(self, padded_image: torch.Tensor) -> ImageFeatures:
        """Features of the current padded frame (1,3,Hp,Wp), computed on first use."""
        if self._features is None or self._image is not padded_image:
            self._features = self.network.encode_image(padded_image)
            self._image = padded_image
        return self._features

    def drop(self) -> None:
        self._image = None
        self._features = None

    @property
    def cached_frames(self) -> int:
        return 0 if self._features is None else 1
