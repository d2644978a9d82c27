"""`center`: one centred square hole, the classic image-completion benchmark mask.

The square's side is `size` times the shorter image side (at least one pixel), placed in the
middle of the image; it covers every channel and is the same for every image, so it needs no
randomness and gives every model exactly the same task.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from pixelzoo.masks.base import MaskConfig, MaskGenerator


class CenterMask(MaskGenerator):
    """A centred square covering `size` of the image side."""

    class Config(MaskConfig):
        size: float = Field(0.5, gt=0.0, le=1.0)

    config: Config

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        H, W = self.height, self.width
        side = max(1, round(self.config.size * min(H, W)))
        top, left = (H - side) // 2, (W - side) // 2
        out = self._empty(n)
        out[:, :, top:top + side, left:left + side] = True
        return out
