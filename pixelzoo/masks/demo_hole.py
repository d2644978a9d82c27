"""`demo_hole`: the seed's demonstration hole, one fixed box on every image.

The seed showed its infill results on 36x36 cartoons with rows 15-19 and columns 15-24 hidden
(0-based, start tokens excluded): a 5x10 box just right of the centre. Keeping that exact box lets
results be compared with the seed's pictures. The box is clipped to smaller images; one that falls
entirely outside the image is a configuration error rather than a silently empty hole.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from pixelzoo.errors import PixelzooError
from pixelzoo.masks.base import MaskConfig, MaskGenerator


class DemoHoleMask(MaskGenerator):
    """A fixed box: rows top..top+height-1, columns left..left+width-1, all channels."""

    class Config(MaskConfig):
        top: int = Field(15, ge=0)
        left: int = Field(15, ge=0)
        height: int = Field(5, ge=1)
        width: int = Field(10, ge=1)

    config: Config

    def __init__(self, config: Config, *, channels: int, height: int, width: int):
        super().__init__(config, channels=channels, height=height, width=width)
        c = config
        self.rows = slice(min(c.top, height), min(c.top + c.height, height))
        self.cols = slice(min(c.left, width), min(c.left + c.width, width))
        if self.rows.start == self.rows.stop or self.cols.start == self.cols.stop:
            raise PixelzooError(
                f"demo_hole: the box at rows {c.top}..{c.top + c.height - 1}, columns "
                f"{c.left}..{c.left + c.width - 1} lies outside the {height}x{width} image; "
                "set mask top/left/height/width to fit")

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = self._empty(n)
        out[:, :, self.rows, self.cols] = True
        return out
