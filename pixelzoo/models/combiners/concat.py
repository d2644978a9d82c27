"""`concat` combiner: the GRU input is [x ; h_above] (the seed's legacy design).

The row above's top-layer outputs are appended to the current pixel's input, so the first GRU
layer's input grows by `hidden`. Nothing is learned here: the GRU's own input weights do the
mixing, which makes this the most direct (and, per the seed, slowest to train) way in. It is
affine in (x, h_above), which it declares with `affine_maps` for the fast path.
"""

from __future__ import annotations

import torch

from pixelzoo.models.combiners.base import AffineMaps, CombinerConfig, RowContextCombiner


class ConcatConfig(CombinerConfig):
    """`concat` has no options of its own: the sizes come from the model."""


class ConcatCombiner(RowContextCombiner):
    """GRU input = [x ; h_above], of size input_size + hidden."""

    Config = ConcatConfig

    def __init__(self, config: ConcatConfig, *, input_size: int, hidden: int):
        super().__init__(config, input_size=input_size, hidden=hidden)

    @property
    def gru_input_size(self) -> int:
        return self.input_size + self.hidden

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """(..., input_size), (..., hidden) -> (..., input_size + hidden)."""
        return torch.cat([x, h_above], dim=-1)

    def affine_maps(self) -> AffineMaps:
        """[x ; h_above]: the identity on x, with h_above appended."""
        return AffineMaps(append_above=True)
