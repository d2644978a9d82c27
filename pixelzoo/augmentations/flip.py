"""`flip`: mirror images left-right (or, if asked, upside down).

Cartoon faces are near-symmetric, but their hair partings, smirks and lighting are not; a mirror
doubles the layouts a model sees at no cost. Half the images by default (`p: 0.5`). An upside-down
face is not a face, so `vertical` is opt-in, for data where up and down do not matter.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from pixelzoo.augmentations.base import Augmentation, AugmentationConfig


def flip(images: np.ndarray, direction: str = "horizontal") -> np.ndarray:
    """Mirror (B, C, H, W) `images` left-right ('horizontal') or top-bottom ('vertical')."""
    axis = {"horizontal": 3, "vertical": 2}[direction]
    return np.ascontiguousarray(np.flip(images, axis=axis))


class FlipAugmentation(Augmentation):
    """A mirror image, with probability p."""

    class Config(AugmentationConfig):
        p: float = Field(0.5, ge=0, le=1, description="probability of mirroring each image")
        direction: Literal["horizontal", "vertical"] = "horizontal"

    config: Config

    def transform(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return flip(images, self.config.direction)
