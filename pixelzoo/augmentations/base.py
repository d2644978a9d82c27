"""The augmentation interface every augmentation plugin implements.

An augmentation is a class with a nested `Config` (an `AugmentationConfig`, so every one has `p`,
the probability that it touches a given image) and a `transform(images, rng)` method that
changes a uint8 (k, C, H, W) batch and returns one of the same shape and dtype. `__call__` picks
the images with probability `p` and leaves the rest as they were. Parameters are drawn from the
numpy generator it is given, so an augmentation is deterministic given that generator. It is
built with the dataset's channel count where known and refuses counts it cannot handle (a hue
rotation needs RGB). This module is not for the built-ins' maths: each lives in its own module.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from pixelzoo.config import PartConfig
from pixelzoo.errors import PixelzooError


class AugmentationConfig(PartConfig):
    """Options every augmentation accepts; subclasses add their own."""

    p: float = Field(1.0, ge=0, le=1, description="probability of changing each image")


class Augmentation:
    """Base class for augmentation plugins."""

    Config: ClassVar[type[AugmentationConfig]] = AugmentationConfig
    # Channel counts this augmentation handles; None: any.
    supported_channels: ClassVar[tuple[int, ...] | None] = None

    def __init__(self, config: AugmentationConfig, *, channels: int | None = None):
        self.config = config
        # Where the recipe names it, for error messages; `build_augmentations` sets it.
        self.label = f"augmentation {type(self).__name__}"
        if channels is not None:
            self.check_channels(channels)

    def check_channels(self, channels: int) -> None:
        ok = self.supported_channels
        if ok is not None and channels not in ok:
            raise PixelzooError(
                f"{self.label}: needs images with {' or '.join(map(str, ok))} channels, and "
                f"this dataset's have {channels}; remove it from the recipe's augment")

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """uint8 (B, C, H, W) -> a new uint8 (B, C, H, W) array; `images` is left untouched."""
        self.check_channels(images.shape[1])
        # Always one draw per image (even at p = 1), so what follows in the stream depends on
        # the batch size only.
        chosen = np.flatnonzero(rng.random(len(images)) < self.config.p)
        out = images.copy()
        if len(chosen):
            changed = self.transform(images[chosen], rng)
            if changed.shape != (len(chosen), *images.shape[1:]) or changed.dtype != np.uint8:
                raise ValueError(f"{type(self).__name__}.transform returned {changed.dtype} "
                                 f"{changed.shape} for {images[chosen].shape} uint8 images")
            out[chosen] = changed
        return out

    def transform(self, images: np.ndarray, rng: np.random.Generator
                  ) -> np.ndarray:  # pragma: no cover - interface
        """Change every image of uint8 (k, C, H, W) `images`; same shape and dtype back."""
        raise NotImplementedError
