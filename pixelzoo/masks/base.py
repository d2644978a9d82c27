"""The hole-mask interface every mask plugin implements.

A mask generator is built from its `Config` plus the image geometry the core owns (channels,
height, width; start tokens excluded). Calling it with a count and a numpy `Generator` returns a
boolean (n, C, H, W) hole map: True marks a sub-pixel to fill, so a hole can cover some channels
only. Generators are deterministic given the numpy generator. Curriculum masks follow the epoch
through `set_epoch`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from pixelzoo.config import PartConfig


class MaskConfig(PartConfig):
    """Options every mask accepts (none yet); subclasses add their own."""


class MaskGenerator:
    """Base class for mask plugins."""

    Config: ClassVar[type[MaskConfig]] = MaskConfig

    def __init__(self, config: MaskConfig, *, channels: int, height: int, width: int):
        self.config = config
        self.channels, self.height, self.width = channels, height, width
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Tell a curriculum which epoch (0-based) the next masks are for."""
        self.epoch = epoch

    def final_level(self) -> None:
        """Jump a curriculum to its hardest level (for fixed evaluation sets)."""

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _empty(self, n: int) -> np.ndarray:
        return np.zeros((n, self.channels, self.height, self.width), dtype=bool)
