"""`boxes`: a few random rectangles, a simple hole family between one block and free strokes.

Each image gets between `count[0]` and `count[1]` rectangles (inclusive). Each side is drawn
uniformly from `size`, given as a fraction of the image's side, so one config suits 28x28 digits
and 36x36 cartoons alike; every rectangle is at least one pixel and lies inside the image. Holes
cover every channel.
"""

from __future__ import annotations

import numpy as np
from pydantic import model_validator

from pixelzoo.masks.base import MaskConfig, MaskGenerator


class BoxesMask(MaskGenerator):
    """N random axis-aligned rectangles per image."""

    class Config(MaskConfig):
        count: tuple[int, int] = (1, 3)  # rectangles per image, inclusive range
        size: tuple[float, float] = (0.1, 0.4)  # side as a fraction of the image side

        @model_validator(mode="after")
        def _ranges(self) -> BoxesMask.Config:
            lo, hi = self.count
            if not 1 <= lo <= hi:
                raise ValueError("count must be [min, max] with 1 <= min <= max")
            a, b = self.size
            if not 0.0 < a <= b <= 1.0:
                raise ValueError("size must be [min, max] fractions with 0 < min <= max <= 1")
            return self

    config: Config

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = self._empty(n)
        H, W = self.height, self.width
        lo, hi = self.config.size
        for i in range(n):
            for _ in range(int(rng.integers(self.config.count[0], self.config.count[1] + 1))):
                h = min(H, max(1, round(rng.uniform(lo, hi) * H)))
                w = min(W, max(1, round(rng.uniform(lo, hi) * W)))
                top = int(rng.integers(0, H - h + 1))
                left = int(rng.integers(0, W - w + 1))
                out[i, :, top:top + h, left:left + w] = True
        return out
