"""`hue`: rotate every colour of an image round the colour wheel by one random angle.

A yellow face, a green one and a blue one are the same drawing; a model that has seen only
`toon`'s skin tones fills holes with them. A hue rotation keeps each pixel's brightest and
darkest channel values (HSV value and chroma) and moves only its hue, so greys (white, black,
outlines) stay exactly as they were and every value stays in 0..255 without clipping. RGB only.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from pixelzoo.augmentations.base import Augmentation, AugmentationConfig


def rotate_hue(images: np.ndarray, degrees: np.ndarray | float) -> np.ndarray:
    """Rotate the hue of uint8 (B, 3, H, W) RGB `images` by `degrees` (one per image, or one
    for all); uint8 (B, 3, H, W) back. Greys are unchanged; per pixel, max and min are kept."""
    x = images.astype(np.float64)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    hi, lo = x.max(axis=1), x.min(axis=1)
    chroma = hi - lo
    safe = np.where(chroma > 0, chroma, 1.0)
    # Hue in sextants, [0, 6): which channel is largest says which third of the wheel.
    hue = np.where(hi == r, ((g - b) / safe) % 6,
                   np.where(hi == g, (b - r) / safe + 2, (r - g) / safe + 4))
    turn = np.broadcast_to(np.asarray(degrees, dtype=np.float64), (len(images),))
    hue = (hue + turn[:, None, None] / 60.0) % 6
    # The inverse: each channel is lo + chroma * a piecewise-linear bump of the hue, and at
    # every hue one bump is 1 and another 0, so hi and lo come back exactly.
    bumps = np.stack([np.abs(hue - 3) - 1, 2 - np.abs(hue - 2), 2 - np.abs(hue - 4)], axis=1)
    out = lo[:, None] + chroma[:, None] * np.clip(bumps, 0.0, 1.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class HueAugmentation(Augmentation):
    """Hue rotation by a uniform random angle in [-degrees, degrees] per image."""

    class Config(AugmentationConfig):
        degrees: float = Field(180.0, ge=0, le=180,
                               description="largest rotation either way (180: any hue)")

    config: Config
    supported_channels = (3,)

    def transform(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        d = self.config.degrees
        return rotate_hue(images, rng.uniform(-d, d, size=len(images)))
