"""Incremental hole sampling for one-direction RowRNNs: O(H·W) cell steps for the whole image.

`pixelzoo.models.sampling.sample_holes_slow` recomputes a full forward for every hole pixel.
That is wasteful: with a pointwise combiner, the state of cell (r, w) depends only on the tokens
in the rectangle of rows <= r and columns <= w (its left neighbour, the cell above and the
previous channel at the same place), which in raster order all come at or before (r, w). So
this sampler walks the rows once, keeping each channel's per-layer GRU states: the rows above
the first hole are one wavefront scan (`pixelzoo.models.wavefront`), a stretch of a row without
holes is one GRU call per channel; at a hole pixel it computes the pixel's cells
with the HOLE tokens in place, decodes and samples the pixel exactly as the slow sampler does
(`choose_pixel`, the same random draws in the same order, the same temperature schedule), writes
the values and recomputes that pixel's cells with them, so everything after sees them. Rows
below the last hole and columns right of the rightmost hole are never computed: nothing there
can influence a hole.

With `directions: 4` this is not possible: the scans that start at the right or at the bottom
read pixels that come later in raster order, so every fill changes their states over a quarter of
the image and the honest cost is a fresh scan per pixel, which is what the slow sampler does.
`sample_holes` picks the incremental sampler when `supports_incremental` allows it, and the
slow one otherwise.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pixelzoo.models.sampling import (PixelSteps, Schedule, apply_steps, as_schedule,
                                      choose_pixel, hole_positions, iter_holes_slow,
                                      sample_holes_slow)
from pixelzoo.models.wavefront import scan_embedded
from pixelzoo.models.wavefront import supports as wavefront_supports
from pixelzoo.tokens import HOLE


def supports_incremental(model: Any) -> tuple[bool, str]:
    """(True, "") if `sample_holes_incremental` reproduces the slow sampler for `model`."""
    from pixelzoo.models.rowrnn import ChannelStack, RowRNN

    if not isinstance(model, RowRNN) or getattr(model, "decoder", None) is None:
        return False, "not a RowRNN with a pixel decoder"
    if model.config.directions != 1:
        return False, ("4 directions: the right and bottom scans read pixels that are sampled "
                       "later, so each fill changes their states")
    for name in ("embed_inputs", "features", "scan"):
        if getattr(type(model), name) is not getattr(RowRNN, name):
            return False, f"{type(model).__name__} overrides {name}"
    for c, stack in enumerate(model.stacks[0]):
        if type(stack).run_row is not ChannelStack.run_row:
            return False, f"{type(stack).__name__} overrides run_row"
        if not getattr(stack.combiner, "pointwise", False):
            return False, f"combiner {type(stack.combiner).__name__} is not pointwise"
        gru = stack.gru
        if gru is not None and (not isinstance(gru, nn.GRU) or not gru.batch_first
                                or gru.bidirectional or gru.dropout > 0):
            return False, f"channel {c}'s recurrent stack is not a plain batch-first nn.GRU"
    return True, ""


class _RowRunner:
    """Runs stretches of one row for every channel, carrying each channel's per-layer states.

    Exactly the reference's per-row computation (`ChannelStack.run_row`), split at arbitrary
    columns: nn.GRU continues from the states it returns, and cell combiners continue their
    left state.
    """

    def __init__(self, model: Any):
        self.stacks = model.stacks[0]
        self.hidden = model.config.hidden

    def run(self, x: torch.Tensor, above: torch.Tensor, states: list[Any] | None
            ) -> tuple[torch.Tensor, list[Any]]:
        """x (B, C, n, E), above (C, B, n, H), states per channel (None: the row's start)
        -> top-layer outputs (C, B, n, H) and the states after the stretch."""
        outs, new_states = [], []
        prev = None
        for c, stack in enumerate(self.stacks):
            xc = x[:, c]
            if stack.adapter is not None:
                xc = xc + stack.adapter(prev)
            st = states[c] if states is not None else None
            comb = stack.combiner
            if comb.is_cell:
                h = st[0] if st is not None else xc.new_zeros(xc.shape[0], self.hidden)
                cells = []
                for w in range(xc.shape[1]):
                    h = comb.cell(xc[:, w], h, above[c][:, w])
                    cells.append(h)
                y, gru_state = torch.stack(cells, 1), None
                if stack.gru is not None:
                    prev_state = st[1] if st is not None else None
                    if xc.shape[1] == 1:
                        y, gru_state = self._one_column(stack.gru, y, prev_state)
                    else:
                        y, gru_state = stack.gru(y, prev_state)
                new_states.append((h, gru_state))
            elif xc.shape[1] == 1:
                y, gru_state = self._one_column(stack.gru, comb.combine(xc, above[c]), st)
                new_states.append(gru_state)
            else:
                y, gru_state = stack.gru(comb.combine(xc, above[c]), st)
                new_states.append(gru_state)
            outs.append(y)
            prev = y
        return torch.stack(outs), new_states

    @staticmethod
    def _one_column(gru: nn.GRU, x: torch.Tensor, state: torch.Tensor | None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`gru(x, state)` for a one-column x (B, 1, in): one fused cell call per layer, without
        nn.GRU's per-call bookkeeping, which costs more than the cell itself at this size."""
        h = x[:, 0]
        new = []
        for k in range(gru.num_layers):
            prev = state[k] if state is not None else h.new_zeros(h.shape[0], gru.hidden_size)
            h = torch.gru_cell(h, prev, getattr(gru, f"weight_ih_l{k}"),
                               getattr(gru, f"weight_hh_l{k}"), getattr(gru, f"bias_ih_l{k}", None),
                               getattr(gru, f"bias_hh_l{k}", None))
            new.append(h)
        return h.unsqueeze(1), torch.stack(new)


def sample_holes_incremental(model: Any, tokens: torch.Tensor,
                             temperature: float | Schedule = 1.0,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill every HOLE of (B, C, H+1, W+1) tokens; returns the filled (B, C, H, W) tokens.

    Draw for draw the same as `sample_holes_slow` (see the module docs); the model must pass
    `supports_incremental`.
    """
    return apply_steps(tokens, iter_holes_incremental(model, tokens, temperature, generator))


def iter_holes_incremental(model: Any, tokens: torch.Tensor,
                           temperature: float | Schedule = 1.0,
                           generator: torch.Generator | None = None) -> PixelSteps:
    """`sample_holes_incremental` one pixel at a time: yields (r, w, values) as
    `pixelzoo.models.sampling.iter_holes_slow` does, with the same values."""
    ok, why = supports_incremental(model)
    if not ok:  # raised here, not at the first step: the caller learns it at once
        raise ValueError(f"incremental sampling does not apply to this model: {why}")
    return _incremental_steps(model, tokens, as_schedule(temperature), generator)


@torch.no_grad()
def _incremental_steps(model: Any, tokens: torch.Tensor, schedule: Schedule,
                       generator: torch.Generator | None) -> PixelSteps:
    grid = tokens.clone()
    b, channels, hp, _ = grid.shape
    positions = hole_positions(grid)
    if not positions:
        return
    holes_in_row: dict[int, list[int]] = {}
    for r, w in positions:  # padded coordinates from here on
        holes_in_row.setdefault(r + 1, []).append(w + 1)
    last_row = max(holes_in_row)
    width = max(w for _, w in positions) + 2  # nothing right of the rightmost hole matters
    # the row feature depends on the full height, so embed the full-height grid (cropped in
    # width only: embeddings are per pixel)
    x = model.embed_inputs(grid[..., :width])
    runner = _RowRunner(model)
    above = x.new_zeros(channels, b, width, model.config.hidden)  # the first row sees zeros
    first_row = min(holes_in_row)
    start = 0
    if first_row > 1 and wavefront_supports(model)[0]:
        # the rows above the first hole do not change: one wavefront scan instead of a GRU
        # call per row and channel
        above = scan_embedded(model, x[:, :, :first_row], 0)[:, :, -1].transpose(0, 1)
        start = first_row
    visited = torch.zeros(b, dtype=torch.long)
    for r in range(start, last_row + 1):
        cols = holes_in_row.get(r)
        if not cols:
            above, _ = runner.run(x[:, :, r], above, None)
            continue
        pieces, states, w0 = [], None, 0
        for w in cols:
            if w > w0:
                out, states = runner.run(x[:, :, r, w0:w], above[:, :, w0:w], states)
                pieces.append(out)
            current = grid[:, :, r, w]
            is_hole = (current == HOLE).any(1).cpu()
            temps = torch.tensor([schedule(int(k)) for k in visited], device=grid.device)
            h, _ = runner.run(x[:, :, r, w:w + 1], above[:, :, w:w + 1], states)
            grid[:, :, r, w] = choose_pixel(model.decoder, h[:, :, 0].transpose(0, 1), current,
                                            temps, generator)
            visited += is_hole.long()
            yield r - 1, w - 1, grid[:, :, r, w].clone()
            # the pixel again, now with its values: the states that the rest of the scan sees
            x_new = model.embed_inputs(grid[..., w:w + 1])[:, :, r]
            out, states = runner.run(x_new, above[:, :, w:w + 1], states)
            pieces.append(out)
            w0 = w + 1
        if r == last_row:
            break
        if w0 < width:
            out, _ = runner.run(x[:, :, r, w0:], above[:, :, w0:], states)
            pieces.append(out)
        above = torch.cat(pieces, 2)


def sample_holes(model: Any, tokens: torch.Tensor, temperature: float | Schedule = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Sequential hole sampling, by the fastest exact method the model allows.

    Incremental (`sample_holes_incremental`) for one-direction RowRNNs with pointwise parts,
    one forward per hole pixel (`sample_holes_slow`) otherwise; both give the same samples for
    the same generator.
    """
    if supports_incremental(model)[0]:
        return sample_holes_incremental(model, tokens, temperature, generator)
    return sample_holes_slow(model, tokens, temperature, generator)


def iter_sample_holes(model: Any, tokens: torch.Tensor, temperature: float | Schedule = 1.0,
                      generator: torch.Generator | None = None) -> PixelSteps:
    """`sample_holes` one pixel at a time (what `pixelzoo serve`'s watch mode streams).

    Yields (r, w, values) for each hole pixel in scan order, (r, w) in real-pixel coordinates
    and values the (B, C) tokens chosen there; `apply_steps(tokens, steps)` of them equals
    `sample_holes(model, tokens, temperature, generator)` for an equally seeded generator.
    """
    if supports_incremental(model)[0]:
        return iter_holes_incremental(model, tokens, temperature, generator)
    return iter_holes_slow(model, tokens, temperature, generator)
