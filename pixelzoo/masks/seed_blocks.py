"""`seed_blocks`: the seed's infill curriculum of square hole blocks that grow with the epochs.

The seed trained infill by starting easy and getting harder: at epoch e the hole covers
`start + step * e` pixels (capped at `max_fraction` of the image), made of square blocks whose side
is `1 + e // grow_every` (capped at `max_block`). Each block removes all three colours, green and
blue, or blue only, with probabilities `levels` (0.5 / 0.25 / 0.25), because predicting blue given
red and green is easier than predicting a whole pixel: channel-level holes are a curriculum of
their own. Level k removes channels k and above, so a 1-channel image always loses its one channel.
Blocks are dropped at uniform positions until the hole (counted in pixels, overlaps once) reaches
its size; the last block may overshoot by less than one block.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field, field_validator

from pixelzoo.masks.base import MaskConfig, MaskGenerator


class SeedBlocksMask(MaskGenerator):
    """The seed's block curriculum: hole size and block side grow with the epoch."""

    class Config(MaskConfig):
        start: int = Field(10, ge=1)  # hole pixels at epoch 0
        step: int = Field(10, ge=0)  # more hole pixels per epoch
        max_fraction: float = Field(0.6, gt=0.0, le=1.0)  # cap, as a fraction of H*W
        grow_every: int = Field(4, ge=1)  # epochs per +1 of block side
        max_block: int = Field(6, ge=1)
        levels: list[float] = Field(default_factory=lambda: [0.5, 0.25, 0.25])  # RGB, GB, B

        @field_validator("levels")
        @classmethod
        def _levels(cls, v: list[float]) -> list[float]:
            if not v or any(p < 0 for p in v) or sum(v) <= 0:
                raise ValueError("levels must be non-negative probabilities with a positive sum, "
                                 "e.g. [0.5, 0.25, 0.25] for RGB, GB, B")
            return [p / sum(v) for p in v]

    config: Config

    @property
    def max_pixels(self) -> int:
        return max(1, math.floor(self.config.max_fraction * self.height * self.width))

    @property
    def final_epoch(self) -> int:
        """The first epoch at which both the hole size and the block side are at their caps."""
        c = self.config
        grow = 0 if c.step == 0 else max(0, math.ceil((self.max_pixels - c.start) / c.step))
        return max(grow, (c.max_block - 1) * c.grow_every)

    def level(self, epoch: int | None = None) -> tuple[int, int]:
        """(hole pixels, block side) for `epoch` (default: the current one)."""
        c = self.config
        e = self.epoch if epoch is None else epoch
        pixels = min(c.start + c.step * e, self.max_pixels)
        block = min(1 + e // c.grow_every, c.max_block, self.height, self.width)
        return pixels, block

    def final_level(self) -> None:
        self.epoch = self.final_epoch

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = self._empty(n)
        pixels, block = self.level()
        first = np.minimum(np.arange(len(self.config.levels)), self.channels - 1)
        for i in range(n):
            self._fill(out[i], pixels, block, first, rng)
        return out

    def _fill(self, hole: np.ndarray, pixels: int, block: int, first_channel: np.ndarray,
              rng: np.random.Generator) -> None:
        covered = np.zeros((self.height, self.width), dtype=bool)
        count = 0
        area = block * block
        while count < pixels:
            # Draw positions in batches: far fewer rng calls than one per block.
            k = max(4, 2 * math.ceil((pixels - count) / area))
            tops = rng.integers(0, self.height - block + 1, k)
            lefts = rng.integers(0, self.width - block + 1, k)
            levels = rng.choice(len(first_channel), size=k, p=self.config.levels)
            for t, l, lv in zip(tops.tolist(), lefts.tolist(), levels.tolist(), strict=True):
                spot = covered[t:t + block, l:l + block]
                count += area - int(spot.sum())
                spot[...] = True
                hole[first_channel[lv]:, t:t + block, l:l + block] = True
                if count >= pixels:
                    break
