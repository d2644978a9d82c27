"""`gated` combiner: a 2-D GRU cell, in which the row above gets its own reset and update gates.

Where `concat` and `linear_add` only change what the first GRU layer reads, `gated` replaces that
layer's cell: the state at a pixel is computed from the input `x`, the state to its left
(`h_left`) and the state above it (`h_above`), each with a gate of its own, so the model can
learn how much of each direction's context to keep at every pixel. The remaining layers
(`layers - 1`) stay plain GRU layers over the row. See `GatedCombiner` for the equations.
"""

from __future__ import annotations

import torch
from torch import nn

from pixelzoo.models.combiners.base import (GATES, CombinerConfig, GatedCellMaps,
                                            RowContextCombiner)


class GatedConfig(CombinerConfig):
    """`gated` has no options of its own: the sizes come from the model."""


class GatedCombiner(RowContextCombiner):
    r"""A 2-D GRU cell: reset gates for h_left and h_above, a 3-way softmax update.

    With x the pixel's input, l = h_left, a = h_above and σ the logistic function::

        r_l = σ(W_rl x + U_rl l + V_rl a + b_rl)           reset gate for the left state
        r_a = σ(W_ra x + U_ra l + V_ra a + b_ra)           reset gate for the state above
        n   = tanh(W_n x + U_n (r_l ⊙ l) + V_n (r_a ⊙ a) + b_n)        candidate
        s_k = W_k x + U_k l + V_k a + b_k,  k ∈ {n, l, a}  three update logits
        (z_n, z_l, z_a) = softmax(s_n, s_l, s_a)           per unit, so z_n + z_l + z_a = 1
        h   = z_n ⊙ n + z_l ⊙ l + z_a ⊙ a

    The new state is a convex mix of the candidate, the left state and the state above, so it
    can copy either neighbour through unchanged, the 2-D analogue of a GRU's update gate.

    Parameters are kept in four fused linear maps so that a fast path can batch them:
    `x_proj` (x -> the five gate blocks and the candidate's W_n x + b_n, with the biases),
    `left_proj` (l -> the five gate blocks), `above_proj` (a -> the five gate blocks) and
    `cand_proj` ([r_l ⊙ l ; r_a ⊙ a] -> U_n (r_l ⊙ l) + V_n (r_a ⊙ a)).
    `x_proj` and `above_proj` do not depend on the left state, so `scan_row` computes them for
    a whole row at once and only the left-state terms stay in the sequential loop. The same
    four maps are its `gated_cell_maps` declaration, which the wavefront batches across channels.
    """

    Config = GatedConfig
    is_cell = True

    def __init__(self, config: GatedConfig, *, input_size: int, hidden: int):
        super().__init__(config, input_size=input_size, hidden=hidden)
        n_gates = len(GATES)
        self.x_proj = nn.Linear(input_size, (n_gates + 1) * hidden)
        self.left_proj = nn.Linear(hidden, n_gates * hidden, bias=False)
        self.above_proj = nn.Linear(hidden, n_gates * hidden, bias=False)
        self.cand_proj = nn.Linear(2 * hidden, hidden, bias=False)

    def cell(self, x: torch.Tensor, h_left: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """(..., input_size), (..., hidden), (..., hidden) -> (..., hidden); any leading dims."""
        return self._step(self.x_proj(x), self.above_proj(h_above), h_left, h_above)

    def gated_cell_maps(self) -> GatedCellMaps:
        """The fused maps, as `GatedCellMaps` lays them out (the same equations)."""
        return GatedCellMaps(self.x_proj.weight, self.x_proj.bias, self.left_proj.weight,
                             self.above_proj.weight, self.cand_proj.weight)

    def _step(self, x_part: torch.Tensor, above_part: torch.Tensor, h_left: torch.Tensor,
              h_above: torch.Tensor) -> torch.Tensor:
        """The cell given its precomputed x and h_above projections (see class docs)."""
        hid = self.hidden
        gates = x_part[..., : len(GATES) * hid] + above_part + self.left_proj(h_left)
        r_l, r_a, s_n, s_l, s_a = gates.chunk(len(GATES), dim=-1)
        reset = torch.cat([torch.sigmoid(r_l) * h_left, torch.sigmoid(r_a) * h_above], dim=-1)
        n = torch.tanh(x_part[..., len(GATES) * hid:] + self.cand_proj(reset))
        z = torch.softmax(torch.stack([s_n, s_l, s_a]), dim=0)
        return z[0] * n + z[1] * h_left + z[2] * h_above

    def scan_row(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """The row, left to right: (B, W, input_size), (B, W, hidden) -> (B, W, hidden).

        Same cell as `cell`, with the parts that do not depend on h_left computed for the whole
        row in one call each.
        """
        x_part = self.x_proj(x)
        above_part = self.above_proj(h_above)
        h = x.new_zeros(x.shape[0], self.hidden)
        outs = []
        for w in range(x.shape[1]):
            h = self._step(x_part[:, w], above_part[:, w], h, h_above[:, w])
            outs.append(h)
        return torch.stack(outs, dim=1)
