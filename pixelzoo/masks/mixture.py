"""`mixture`: each image's holes come from one of several mask generators, drawn at random.

One hole family teaches one kind of infill: boxes teach a model to bridge a solid gap, the seed's
blocks teach it to work with 60% of the picture gone and with channel-level holes. Training on a
mixture covers the evaluation sets at once. Each image picks a component with probabilities
`weights` (equal by default); the components are full mask specs, validated by their own Configs,
and follow the epoch (`set_epoch`) and `final_level` like any mask.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from pixelzoo.config import Kind, PartSpec
from pixelzoo.masks.base import MaskConfig, MaskGenerator


class MixtureMask(MaskGenerator):
    """Per image, holes from one component generator, chosen with `weights`."""

    class Config(MaskConfig):
        masks: list[Annotated[PartSpec, Kind("masks")]] = Field(
            min_length=1, description="the component masks, e.g. [{type: boxes}, {type: strokes}]")
        weights: list[float] | None = Field(
            None, description="probability of each component (normalised; default equal)")

        @model_validator(mode="after")
        def _weights(self) -> MixtureMask.Config:
            w = self.weights
            if w is not None:
                if len(w) != len(self.masks):
                    raise ValueError(f"weights has {len(w)} entries for {len(self.masks)} masks")
                if any(p < 0 for p in w) or sum(w) <= 0:
                    raise ValueError("weights must be non-negative with a positive sum")
            return self

    config: Config

    def __init__(self, config: Config, *, channels: int, height: int, width: int):
        super().__init__(config, channels=channels, height=height, width=width)
        from pixelzoo.recipe import build_part

        self.parts = [build_part("masks", spec, channels=channels, height=height, width=width)
                      for spec in config.masks]
        w = np.asarray(config.weights if config.weights is not None
                       else [1.0] * len(self.parts), dtype=np.float64)
        self.probabilities = w / w.sum()

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        for part in self.parts:
            part.set_epoch(epoch)

    def final_level(self) -> None:
        for part in self.parts:
            part.final_level()

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = self._empty(n)
        which = rng.choice(len(self.parts), size=n, p=self.probabilities)
        for k, part in enumerate(self.parts):
            idx = np.flatnonzero(which == k)
            if len(idx):
                out[idx] = part(len(idx), rng)
        return out
