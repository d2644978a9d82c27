"""The RowRNN scan interface (`Scan`) and its reference implementation, the oracle.

A scan turns a RowRNN's oriented tokens into its top-layer GRU outputs. `Scan` is the strategy
interface `RowRNN.features` calls; which one a model uses is chosen by
`pixelzoo.models.scan.select` (the policy), never by a string on the model.

The reference loop is the seed's algorithm, kept readable on purpose: for each row, for each
channel, run that channel's GRU stack along the row (one cuDNN/MKL call for input combiners),
with the previous row's outputs as row context and channel c-1's outputs of this row entering
through the adapter. Every faster implementation (`pixelzoo.models.wavefront`) must match it in
forward and gradients; the tests compare them. This module reads the model only through its
public parts (`stacks`, `embed_inputs`, `config.hidden`), so it imports no model module: the
model depends on its oracle, not the other way round.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from pixelzoo.errors import PixelzooError


class ScanError(PixelzooError):
    """A scan that does not exist or cannot run the model it was asked for."""


class Scan:
    """How a RowRNN computes its scans. Subclasses set `name` and implement `scan`."""

    #: The scan's name, as `pixelzoo.models.scan.select` and the run's notices spell it.
    name: ClassVar[str]

    def scan(self, model: Any, tokens: torch.Tensor, direction: int) -> torch.Tensor:
        """(B, C, Hp, Wp) tokens oriented for `direction` -> top-layer outputs
        (B, C, Hp, Wp, hidden)."""
        raise NotImplementedError

    def scans(self, model: Any, oriented: list[torch.Tensor]) -> list[torch.Tensor]:
        """Every direction's scan, `oriented[d]` oriented for direction d (a scan may share
        work between them)."""
        return [self.scan(model, t, d) for d, t in enumerate(oriented)]

    def __repr__(self) -> str:
        return f"<{self.name} scan>"

    # a scan holds no state: a copied model (an EMA of its weights, say) keeps the same one
    def __copy__(self) -> Scan:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Scan:
        return self


def reference_scan(model: Any, tokens: torch.Tensor, direction: int) -> torch.Tensor:
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


class ReferenceScan(Scan):
    """The plain loop over rows and channels (`reference_scan`): every model can run it."""

    name = "reference"

    def scan(self, model: Any, tokens: torch.Tensor, direction: int) -> torch.Tensor:
        return reference_scan(model, tokens, direction)


#: The one reference scan; a model starts with it.
REFERENCE = ReferenceScan()
