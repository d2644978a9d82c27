"""The row-context combiner interface.

A RowRNN reads an image row by row; the previous row's top-layer GRU outputs (`h_above`) carry
the 2-D context into the current row. A combiner decides how. There are two shapes of combiner:

* input combiners (`concat`, `linear_add`) merge `x` and `h_above` into the GRU's input with
  `combine(x, h_above)`; the RowRNN then runs a plain multi-layer GRU over the row, which is the
  seed's design (one cuDNN call per row and channel).
* cell combiners (`gated`) replace the first GRU layer's cell with `cell(x, h_left, h_above)`;
  the remaining layers stay plain GRU layers.

The core passes the sizes it owns (`input_size`, `hidden`); a combiner's own `Config` holds only
its own choices. `pointwise = True` promises that output at column w reads only column w of
`x` and `h_above`, which lets the wavefront fast path evaluate cells of different rows in one
batch; a combiner that mixes columns (a convolution over the row above) sets it False and runs
on the reference loop.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from pixelzoo.config import PartConfig


class CombinerConfig(PartConfig):
    """Options every combiner accepts (none yet)."""


class RowContextCombiner(nn.Module):
    """Base class for combiner plugins."""

    Config: ClassVar[type[PartConfig]] = CombinerConfig
    #: True if the combiner replaces the first GRU layer's cell (see module docs).
    is_cell: ClassVar[bool] = False
    #: True if column w of the output depends only on column w of the inputs.
    pointwise: ClassVar[bool] = True

    def __init__(self, config: PartConfig, *, input_size: int, hidden: int):
        super().__init__()
        self.config = config
        self.input_size = input_size
        self.hidden = hidden

    @property
    def gru_input_size(self) -> int:
        """Size of `combine`'s output: the first GRU layer's input size."""
        return self.input_size

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """(B, W, input_size), (B, W, hidden) -> (B, W, gru_input_size). Input combiners only."""
        raise NotImplementedError(f"{type(self).__name__} is a cell combiner; use cell()")

    def cell(self, x: torch.Tensor, h_left: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """One first-layer step: (N, input_size), (N, hidden), (N, hidden) -> (N, hidden)."""
        raise NotImplementedError(f"{type(self).__name__} is an input combiner; use combine()")

    def scan_row(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """Run a cell combiner along a row, left to right: (B, W, in), (B, W, hid) -> (B, W, hid).

        The readable reference; the wavefront path batches the same `cell` calls differently.
        """
        h = x.new_zeros(x.shape[0], self.hidden)
        outs = []
        for w in range(x.shape[1]):
            h = self.cell(x[:, w], h, h_above[:, w])
            outs.append(h)
        return torch.stack(outs, dim=1)
