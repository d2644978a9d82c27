"""The reference RowRNN scan: a plain loop over rows and channels, the oracle.

This is the seed's algorithm, kept readable on purpose: for each row, for each channel, run that
channel's GRU stack along the row (one cuDNN/MKL call for input combiners), with the previous
row's outputs as row context and channel c-1's outputs of this row entering through the adapter.
Every faster implementation must match it in forward and gradients; the tests compare them.
"""

from __future__ import annotations

import torch

from pixelzoo.models.rowrnn import RowRNN


def reference_scan(model: RowRNN, tokens: torch.Tensor, direction: int) -> torch.Tensor:
    """(B, C, Hp, Wp) oriented tokens -> top-layer outputs (B, C, Hp, Wp, hidden)."""
    stacks = model.stacks[direction]
    x = model.embed_inputs(tokens)
    b, channels, hp, wp, _ = x.shape
    hidden = model.config.hidden
    above = [x.new_zeros(b, wp, hidden) for _ in range(channels)]  # the first row sees zeros
    rows = []
    for r in range(hp):
        row_out = []
        for c in range(channels):
            xr = x[:, c, r]
            if c > 0:
                xr = xr + stacks[c].adapter(row_out[c - 1])
            h = stacks[c].run_row(xr, above[c])
            row_out.append(h)
        above = row_out
        rows.append(torch.stack(row_out, 1))
    return torch.stack(rows, 2)
