"""`color_jitter`: random brightness, contrast, saturation and per-channel gain (palette tint).

Where `hue` turns the colour wheel, this stretches and tints it: darker and lighter faces,
washed-out and vivid ones, a warm or a cold cast over the whole picture. Each image draws one
factor of each kind, uniformly in [1 - x, 1 + x] for the option's x (0 turns that kind off).
Order: channel gains, then saturation (a blend with each pixel's own grey), contrast (about the
image's mean grey), brightness; values are clipped to 0..255. Channel gains apply to any channel
count; saturation and contrast need RGB and are skipped on other counts.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from pixelzoo.augmentations.base import Augmentation, AugmentationConfig

# ITU-R BT.601 luma weights: the "grey" a pixel is pulled towards when desaturated.
_LUMA = np.array([0.299, 0.587, 0.114])


def jitter_colors(images: np.ndarray, *, brightness: np.ndarray | None = None,
                  contrast: np.ndarray | None = None, saturation: np.ndarray | None = None,
                  gains: np.ndarray | None = None) -> np.ndarray:
    """Apply per-image factors ((B,) each, `gains` (B, C)) to uint8 (B, C, H, W) `images`."""
    x = images.astype(np.float64)
    if gains is not None:
        x = x * np.asarray(gains, dtype=np.float64)[:, :, None, None]
    if x.shape[1] == 3 and (saturation is not None or contrast is not None):
        if saturation is not None:
            grey = np.einsum("bchw,c->bhw", x, _LUMA)[:, None]
            x = grey + (x - grey) * np.asarray(saturation, dtype=np.float64)[:, None, None, None]
        if contrast is not None:
            mean = np.einsum("bchw,c->b", x, _LUMA) / (x.shape[2] * x.shape[3])
            mean = mean[:, None, None, None]
            x = mean + (x - mean) * np.asarray(contrast, dtype=np.float64)[:, None, None, None]
    if brightness is not None:
        x = x * np.asarray(brightness, dtype=np.float64)[:, None, None, None]
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


class ColorJitterAugmentation(Augmentation):
    """Random brightness, contrast, saturation and channel gains per image."""

    class Config(AugmentationConfig):
        brightness: float = Field(0.25, ge=0, lt=1, description="brightness factor spread")
        contrast: float = Field(0.25, ge=0, lt=1, description="contrast factor spread (RGB)")
        saturation: float = Field(0.5, ge=0, le=1, description="saturation factor spread (RGB)")
        channel_gain: float = Field(0.15, ge=0, lt=1,
                                    description="per-channel gain spread: a colour cast")

    config: Config

    def transform(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c, n = self.config, len(images)

        def factors(spread: float, *shape: int) -> np.ndarray | None:
            # Always drawn, so turning one option off does not reshuffle the others' draws.
            f = rng.uniform(1 - spread, 1 + spread, size=(n, *shape))
            return f if spread > 0 else None

        gains = factors(c.channel_gain, images.shape[1])
        saturation = factors(c.saturation)
        contrast = factors(c.contrast)
        brightness = factors(c.brightness)
        return jitter_colors(images, brightness=brightness, contrast=contrast,
                             saturation=saturation, gains=gains)
