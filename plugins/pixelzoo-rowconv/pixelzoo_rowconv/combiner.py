"""`row_conv`: PixelRNN's Row LSTM state-to-state idea as a pixelzoo row-context combiner.

The GRU input at column w is `x[w] + sum_j K_j · h_above[w + j]` for `j` in `-k//2 .. k//2`: a 1-D
convolution of width `k` over the previous row's hidden states, added to the input. With `k = 1`
it is exactly `linear_add`; with `k = 3` each pixel also sees the above-left and above-right
states, and since those states saw their own neighbours in the row before, the context a pixel
reads widens by `k//2` columns per row upwards: the triangular receptive field of the Row LSTM.

Causality with `directions: 1` is structural: `combine` is only ever given the *previous* row's
states, so the right-hand taps reach the row above, never the current row. A pixel's state
therefore depends only on pixels at or before it in raster order. Because the convolution mixes
columns, the combiner is not `pointwise`; pixelzoo's wavefront fast path, which batches cells of
different rows that share an anti-diagonal, cannot run it and falls back to the reference loop.
"""

from __future__ import annotations

import torch
from pydantic import Field, field_validator
from torch import nn

from pixelzoo.models.combiners.base import CombinerConfig, RowContextCombiner


class RowConvConfig(CombinerConfig):
    """Parameters of `row_conv`; the sizes (input, hidden) come from the model."""

    k: int = Field(3, description="odd kernel width over the row above (1 behaves like "
                                  "linear_add; 3 adds above-left and above-right)")
    bias: bool = Field(True, description="learn a bias in the convolution")

    @field_validator("k")
    @classmethod
    def _odd_and_positive(cls, k: int) -> int:
        # An even kernel has no centre tap, so it would shift the row above by half a pixel.
        if k < 1 or k % 2 == 0:
            hint = "1, 3, 5, ..." if k < 1 else f"{k - 1} or {k + 1}"
            # pydantic and the recipe validator add the offending value themselves
            raise ValueError("k must be an odd kernel width >= 1 so that it is centred on the "
                             f"pixel above; try {hint}")
        return k


class RowConvCombiner(RowContextCombiner):
    """x + Conv1d_k(h_above): the Row LSTM's state-to-state convolution (see module docs)."""

    Config = RowConvConfig
    is_cell = False
    pointwise = False  # column w reads columns w - k//2 .. w + k//2 of the row above

    def __init__(self, config: RowConvConfig, *, input_size: int, hidden: int):
        super().__init__(config, input_size=input_size, hidden=hidden)
        # Zero padding: beyond the image edge the row above contributes nothing, just as the
        # first row sees zeros.
        self.conv = nn.Conv1d(hidden, input_size, kernel_size=config.k, padding=config.k // 2,
                              bias=config.bias)

    def combine(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """(..., W, input_size), (..., W, hidden) -> (..., W, input_size); usually (B, W, .)."""
        *lead, width, hidden = h_above.shape
        rows = h_above.reshape(-1, width, hidden).transpose(1, 2)  # Conv1d wants (N, C, W)
        context = self.conv(rows).transpose(1, 2).reshape(*lead, width, -1)
        return x + context

    def extra_repr(self) -> str:
        return f"k={self.config.k}"
