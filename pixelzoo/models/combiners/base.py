"""The row-context combiner interface, and what a combiner declares to earn the fast path.

A RowRNN reads an image row by row; the previous row's top-layer GRU outputs (`h_above`) carry
the 2-D context into the current row. A combiner decides how. There are two shapes of combiner:

* input combiners (`concat`, `linear_add`) merge `x` and `h_above` into the GRU's input with
  `combine(x, h_above)`; the RowRNN then runs a plain multi-layer GRU over the row, which is the
  seed's design (one cuDNN call per row and channel).
* cell combiners (`gated`) replace the first GRU layer's cell with `cell(x, h_left, h_above)`;
  the remaining layers stay plain GRU layers.

The core passes the sizes it owns (`input_size`, `hidden`); a combiner's own `Config` holds only
its own choices.

The wavefront fast path (`pixelzoo.models.wavefront`) asks a combiner what it can do; it never
tests the class against a list of built-ins, so a plugin earns the same paths by declaring the
same things:

* `pointwise = True` promises that output at column w reads only column w of `x` and
  `h_above`. That alone lets the wavefront evaluate cells of different rows in one batch, through
  the combiner's own `combine` / `cell` and autograd (the generic wavefront). A combiner that
  mixes columns (a convolution over the row above) sets it False and runs on the reference loop.
* `affine_maps()` (input combiners): return an `AffineMaps` when `combine` is affine in
  (x, h_above). The wavefront then folds the maps into the GRU's input weights and runs the whole
  scan as one autograd node with a hand-written backward, the fastest path.
* `gated_cell_maps()` (cell combiners): return a `GatedCellMaps` when `cell` is the 2-D GRU cell
  written out there. The wavefront then batches the cell across channels with its input
  projection hoisted out of the loop.

Both return the live tensors (parameters, or tensors computed from them, so gradients reach the
parameters), or None, the default: not declared. A declaration is a promise about `combine` /
`cell`; `pixelzoo.testing.check_combiner` checks it against them. It covers the class that makes
it: a subclass that defines methods of its own must declare again (`fast_path_maps`, what the
wavefront reads, ignores a declaration such a subclass inherits).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
from torch import nn

from pixelzoo.config import PartConfig


class CombinerConfig(PartConfig):
    """Options every combiner accepts (none yet)."""


#: The gate blocks of `GatedCellMaps`, in the order they are laid out in its fused maps.
GATES = ("reset_left", "reset_above", "update_new", "update_left", "update_above")


class AffineMaps(NamedTuple):
    """`combine(x, h) = [X·x + P·h + p ; h if append_above]`, declared by an input combiner.

    With x of size `input_size` = E, h = h_above of size `hidden` = H and K the size of the first
    block: `x_map` is X (K, E), None for the identity (then K = E); `above` is P (K, H), None for
    zero; `bias` is p (K,), None for zero; `append_above` appends h itself after the first block
    (so `gru_input_size` = K + H), as `concat` does. Every affine combiner can be written with
    the first block alone; `append_above` only saves the wavefront a product.
    """

    x_map: torch.Tensor | None = None
    above: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    append_above: bool = False

    def apply(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """The declared `combine`, written out (the kit checks it against the real one)."""
        out = x if self.x_map is None else x @ self.x_map.transpose(0, 1)
        if self.above is not None:
            out = out + h_above @ self.above.transpose(0, 1)
        if self.bias is not None:
            out = out + self.bias
        return torch.cat([out, h_above], -1) if self.append_above else out


class GatedCellMaps(NamedTuple):
    r"""`cell(x, l, a)` is this 2-D GRU cell, declared by a cell combiner (l = h_left, a = h_above).

    With hidden size H, Wx = x_weight, bx = x_bias, Wl = left_weight, Wa = above_weight and
    Wn = cand_weight::

        (r_l, r_a, s_n, s_l, s_a) = Wx[:5H]·x + bx[:5H] + Wl·l + Wa·a    five H-wide blocks
        n = tanh(Wx[5H:]·x + bx[5H:] + Wn·[σ(r_l) ⊙ l ; σ(r_a) ⊙ a])
        (z_n, z_l, z_a) = softmax(s_n, s_l, s_a)                         per unit
        h = z_n ⊙ n + z_l ⊙ l + z_a ⊙ a

    Shapes: x_weight (6H, E), x_bias (6H,), left_weight (5H, H), above_weight (5H, H),
    cand_weight (H, 2H). `pixelzoo.models.combiners.gated` is this cell with its maps as
    parameters; see its class docs for what the gates mean.
    """

    x_weight: torch.Tensor
    x_bias: torch.Tensor
    left_weight: torch.Tensor
    above_weight: torch.Tensor
    cand_weight: torch.Tensor

    def apply(self, x: torch.Tensor, h_left: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """The declared `cell`, written out (the kit checks it against the real one)."""
        hid = self.cand_weight.shape[0]
        xs = x @ self.x_weight.transpose(0, 1) + self.x_bias
        gates = (xs[..., :len(GATES) * hid] + h_left @ self.left_weight.transpose(0, 1)
                 + h_above @ self.above_weight.transpose(0, 1))
        r_l, r_a, s_n, s_l, s_a = gates.chunk(len(GATES), -1)
        reset = torch.cat([torch.sigmoid(r_l) * h_left, torch.sigmoid(r_a) * h_above], -1)
        n = torch.tanh(xs[..., len(GATES) * hid:] + reset @ self.cand_weight.transpose(0, 1))
        z = torch.softmax(torch.stack([s_n, s_l, s_a]), dim=0)
        return z[0] * n + z[1] * h_left + z[2] * h_above


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

    def affine_maps(self) -> AffineMaps | None:
        """The maps of an input combiner affine in (x, h_above), or None (see module docs)."""
        return None

    def gated_cell_maps(self) -> GatedCellMaps | None:
        """The maps of a cell combiner that is the 2-D GRU cell, or None (see module docs)."""
        return None

    def fast_path_maps(self) -> AffineMaps | GatedCellMaps | None:
        """The declaration the fast path may trust: `gated_cell_maps()` for a cell combiner,
        `affine_maps()` for an input combiner, or None.

        A declaration covers the class that makes it. An inherited one is trusted only if no
        class below the declaring one defines methods of its own (`__init__` included): a
        subclass that changes how the combiner is built or computes must declare again, or it
        runs on the generic path, which is always right for a pointwise combiner.
        """
        name = "gated_cell_maps" if self.is_cell else "affine_maps"
        for cls in type(self).__mro__:
            if name in vars(cls):
                break
            if any(callable(v) or isinstance(v, (property, staticmethod, classmethod))
                   for k, v in vars(cls).items() if k != "Config"):
                return None  # this class changed something the declaration may describe
        return getattr(self, name)()

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
