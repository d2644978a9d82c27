"""`bottom_half`: hide the bottom rows, the classic completion task for row-by-row models.

A row-by-row model reads top to bottom, so completing the bottom half from the top half is its
most natural completion test (the PixelRNN papers showed exactly this). `fraction` sets how much
of the height is hidden (default one half, rounded); every channel and every column is covered.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from pixelzoo.masks.base import MaskConfig, MaskGenerator


class BottomHalfMask(MaskGenerator):
    """The bottom `fraction` of the rows, all channels."""

    class Config(MaskConfig):
        fraction: float = Field(0.5, gt=0.0, le=1.0)

    config: Config

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        rows = max(1, round(self.config.fraction * self.height))
        out = self._empty(n)
        out[:, :, self.height - rows:, :] = True
        return out
