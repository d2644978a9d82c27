"""`scale_shift`: zoom each image in or out about its centre and move it a little.

`toon` always centres its head at one size; drawings from elsewhere do not. Each image draws a
scale in [1 - scale, 1 + scale] and a shift of up to `shift` of its side along each axis, and is
resampled bilinearly (cv2.warpAffine). The border that a shrink or shift uncovers repeats the
edge pixels by default (`border: replicate`: a white background stays white), or mirrors them
(`reflect`), or takes a constant `fill`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from pixelzoo.augmentations.base import Augmentation, AugmentationConfig

Border = Literal["replicate", "reflect", "constant"]


def scale_shift(images: np.ndarray, scales: np.ndarray, shifts: np.ndarray, *,
                border: Border = "replicate", fill: int = 255) -> np.ndarray:
    """Zoom uint8 (B, C, H, W) `images` by `scales` (B,) about the centre and move them by
    `shifts` (B, 2) pixels (dx, dy); uint8 (B, C, H, W) back."""
    import cv2

    modes = {"replicate": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101,
             "constant": cv2.BORDER_CONSTANT}
    b, c, h, w = images.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    out = np.empty_like(images)
    for i in range(b):
        s = float(scales[i])
        dx, dy = float(shifts[i][0]), float(shifts[i][1])
        m = np.array([[s, 0, (1 - s) * cx + dx], [0, s, (1 - s) * cy + dy]])
        # cv2 takes up to 4 interleaved channels; other counts go plane by plane.
        planes = [images[i].transpose(1, 2, 0)] if c <= 4 else [images[i, k] for k in range(c)]
        warped = [cv2.warpAffine(np.ascontiguousarray(p), m, (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=modes[border], borderValue=(fill,) * 4)
                  for p in planes]
        if c <= 4:
            out[i] = warped[0].reshape(h, w, c).transpose(2, 0, 1)
        else:
            out[i] = np.stack(warped)
    return out


class ScaleShiftAugmentation(Augmentation):
    """A random zoom about the centre and a random shift per image."""

    class Config(AugmentationConfig):
        scale: float = Field(0.15, ge=0, lt=1, description="zoom factor spread about 1")
        shift: float = Field(0.1, ge=0, le=0.5, description="largest shift, a fraction of the side")
        border: Border = "replicate"
        fill: int = Field(255, ge=0, le=255, description="border value for border: constant")

    config: Config

    def transform(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c, n = self.config, len(images)
        scales = rng.uniform(1 - c.scale, 1 + c.scale, size=n)
        side = np.array([images.shape[3], images.shape[2]], dtype=np.float64)
        shifts = rng.uniform(-c.shift, c.shift, size=(n, 2)) * side
        return scale_shift(images, scales, shifts, border=c.border, fill=c.fill)
