"""The RowRNN backbone: a row-by-row GRU image model assembled from a combiner and a decoder.

Tokens arrive as (B, C, H+1, W+1) grids with START borders. Each channel has its own embedding
and its own GRU stack; a learned row-position vector, scaled by the row's relative position, is
added to the input so the GRU knows how far down the image it is. For channel c > 0 the channel
adapter adds a projection of channel c-1's output at the same place to channel c's input. The
row-context combiner (a plugin) brings the previous row's top-layer outputs in. With
`directions: 4` there is one independent scan from each corner; their per-pixel outputs are
concatenated before the channel decoder (a plugin). A classification head mean-pools the hidden
states instead.

The scan itself is a strategy (`pixelzoo.models.reference.Scan`) held in `impl`: the readable
reference loop (`pixelzoo.models.reference`), the oracle every faster path must match, until
`pixelzoo.models.scan.select` switches it, e.g. to the `wavefront` fast path when that supports
the parts in use. This module knows no scan but the reference: the dependency runs one way
(reference <- rowrnn <- wavefront <- scan).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
from pydantic import Field
from torch import nn

from pixelzoo.config import Kind, PartConfig, PartSpec, spec
from pixelzoo.models.reference import REFERENCE, Scan, ScanError
from pixelzoo.recipe import build_part
from pixelzoo.tokens import HOLE, START, VOCAB, add_start_tokens, strip_start_tokens


class RowRNNConfig(PartConfig):
    embed: int = Field(64, ge=1, le=4096, description="per-channel token embedding size")
    hidden: int = Field(96, ge=1, le=4096, description="GRU hidden size")
    layers: int = Field(1, ge=1, le=64, description="GRU layers per channel")
    directions: Literal[1, 4] = Field(
        1, description="1: scan from the top-left; 4: one scan from each corner, concatenated")
    combiner: Annotated[PartSpec, Kind("combiners")] = Field(
        default_factory=lambda: spec("linear_add"), description="row-context combiner")
    decoder: Annotated[PartSpec, Kind("decoders")] = Field(
        default_factory=lambda: spec("independent"), description="channel decoder (pixel tasks)")
    row_feature: bool = Field(True, description="add the row-position feature to the input")
    pool: Literal["mean", "last", "mean_last"] = Field(
        "mean_last", description="classification pooling: the mean over pixels, each scan's "
                                 "final state (it has read the whole image), or both")


class ChannelStack(nn.Module):
    """One channel's GRU stack for one scan direction: combiner, GRU layers, channel adapter."""

    def __init__(self, cfg: RowRNNConfig, first_channel: bool):
        super().__init__()
        self.combiner = build_part("combiners", cfg.combiner, input_size=cfg.embed,
                                   hidden=cfg.hidden)
        upper = cfg.layers - 1 if self.combiner.is_cell else cfg.layers
        in_size = cfg.hidden if self.combiner.is_cell else self.combiner.gru_input_size
        self.gru = nn.GRU(in_size, cfg.hidden, upper, batch_first=True) if upper else None
        self.adapter = None if first_channel else nn.Linear(cfg.hidden, cfg.embed)

    def run_row(self, x: torch.Tensor, h_above: torch.Tensor) -> torch.Tensor:
        """(B, W, embed), (B, W, hidden) -> (B, W, hidden): one row, left to right."""
        if self.combiner.is_cell:
            h = self.combiner.scan_row(x, h_above)
            return self.gru(h)[0] if self.gru is not None else h
        assert self.gru is not None
        return self.gru(self.combiner.combine(x, h_above))[0]


def orient(grid: torch.Tensor, direction: int, has_start: bool = True) -> torch.Tensor:
    """Flip a (..., H, W) grid so that scan `direction` starts at its top-left.

    Directions: 0 from top-left, 1 from top-right, 2 from bottom-left, 3 from bottom-right.
    Token grids keep their START border at the top-left after flipping.
    """
    dims = {0: (), 1: (-1,), 2: (-2,), 3: (-2, -1)}[direction]
    if not dims:
        return grid
    if has_start:
        return add_start_tokens(torch.flip(strip_start_tokens(grid), dims))
    return torch.flip(grid, dims)


def unorient_features(h: torch.Tensor, direction: int) -> torch.Tensor:
    """Undo `orient` on (B, C, H, W, D) per-pixel features."""
    dims = {0: (), 1: (-2,), 2: (-3,), 3: (-3, -2)}[direction]
    return torch.flip(h, dims) if dims else h


class RowRNN(nn.Module):
    """Row-by-row GRU image model (see module docs)."""

    Config = RowRNNConfig

    def __init__(self, config: RowRNNConfig, *, channels: int, height: int, width: int,
                 num_classes: int | None = None):
        super().__init__()
        self.config = config
        self.channels, self.height, self.width = channels, height, width
        self.num_classes = num_classes
        self.embeddings = nn.ModuleList(nn.Embedding(VOCAB, config.embed) for _ in range(channels))
        self.row_vectors = nn.Parameter(torch.zeros(channels, config.embed)) \
            if config.row_feature else None
        if self.row_vectors is not None:
            nn.init.normal_(self.row_vectors, std=0.1)
        self.stacks = nn.ModuleList(
            nn.ModuleList(ChannelStack(config, c == 0) for c in range(channels))
            for _ in range(config.directions)
        )
        self.feature_size = config.hidden * config.directions
        if num_classes is None:
            self.decoder = build_part("decoders", config.decoder, features=self.feature_size,
                                      channels=channels)
            self.head = None
        else:
            self.decoder = None
            pooled = self.feature_size * channels * (2 if config.pool == "mean_last" else 1)
            self.head = nn.Linear(pooled, num_classes)
        self._scan: Scan = REFERENCE

    # ------------------------------------------------------------------ scan
    @property
    def impl(self) -> Scan:
        """The scan strategy in use (`.name`: "reference" or "wavefront"); set it with
        `pixelzoo.models.scan.select(model, mode)`."""
        return self._scan

    @impl.setter
    def impl(self, scan: Scan) -> None:
        # a name is refused, known or not: a typo must not silently run another scan, and the
        # one policy for which scan may run a model lives in `select`
        if not isinstance(scan, Scan):
            raise ScanError(f"model.impl = {scan!r}: choose the scan with "
                            "pixelzoo.models.scan.select(model, mode), not by assigning a name")
        self._scan = scan

    def embed_inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, C, Hp, Wp) tokens -> (B, C, Hp, Wp, embed) inputs, row feature included."""
        # One row gather from the channels' stacked tables: the same values as the channels'
        # nn.Embedding calls, but its gradient is an index_add (about 4x faster on CPU than
        # embedding's dense backward) and there is no stack to copy.
        if not tokens.is_cuda and tokens.numel():  # out of range would read another channel
            lo, hi = torch.aminmax(tokens)
            if lo < 0 or hi >= VOCAB:
                raise ValueError(f"tokens must lie in [0, {VOCAB}), got [{int(lo)}, {int(hi)}]")
        table = torch.cat([e.weight for e in self.embeddings])
        offset = torch.arange(self.channels, device=tokens.device) * VOCAB
        rows = (tokens + offset.view(1, -1, 1, 1)).reshape(-1)
        x = table.index_select(0, rows).view(*tokens.shape, -1)
        if self.row_vectors is not None:
            hp = tokens.shape[2]
            # rows in units of the model's own height, so the top rows of a grid (a scan that
            # stops early, `_extent`) get the positions they have in the whole grid
            pos = torch.arange(hp, device=tokens.device, dtype=x.dtype) / max(self.height,
                                                                              hp - 1, 1)
            x = x + pos.view(1, 1, hp, 1, 1) * self.row_vectors.view(1, -1, 1, 1, x.shape[-1])
        return x

    def scan(self, tokens: torch.Tensor, direction: int) -> torch.Tensor:
        """Top-layer outputs (B, C, Hp, Wp, hidden) for tokens already oriented for `direction`."""
        return self._scan.scan(self, tokens, direction)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        """Per-pixel hidden states (B, C, H, W, hidden * directions), START border dropped."""
        self._check(tokens)
        oriented = [orient(tokens, d) for d in range(self.config.directions)]
        scans = self._scan.scans(self, oriented)  # the directions' scans may share work
        outs = [unorient_features(h[:, :, 1:, 1:], d) for d, h in enumerate(scans)]
        return torch.cat(outs, -1) if len(outs) > 1 else outs[0]

    def features_at(self, tokens: torch.Tensor, pixel: torch.Tensor) -> torch.Tensor:
        """The rows of `features(tokens)` at the True pixels of `pixel` (B, H, W) bool: (N, C,
        hidden * directions), in `pixel.nonzero()` order, i.e. `features(tokens).permute(0, 2,
        3, 1, 4)[pixel]`.

        Read straight from each scan's output, so the full (B, C, H, W, D) tensor is never built
        (nor its flips, nor its gradient): a loss on a tenth of the pixels pays for a tenth. The
        scans also stop where nothing asked for is left (`_extent`): a fill of a box in the
        middle of a face scans less than half of each oriented grid.
        """
        if type(self).features is not RowRNN.features:  # a subclass's own features rule
            return self.features(tokens).permute(0, 2, 3, 1, 4)[pixel]
        self._check(tokens)
        bi, ri, wi = pixel.nonzero(as_tuple=True)
        height, width = pixel.shape[-2:]
        rows, cols = self._extent(ri, wi, height, width)
        oriented = [orient(tokens, d)[:, :, :rows, :cols] for d in range(self.config.directions)]
        scans = self._scan.scans(self, oriented)
        outs = []
        for d, h in enumerate(scans):
            r = height - ri if d in (2, 3) else ri + 1  # in the oriented grid, START border kept
            w = width - wi if d in (1, 3) else wi + 1
            hv = h.permute(1, 2, 3, 0, 4)  # (C, Hp, Wp, B, hidden): the wavefront's own layout
            if hv.is_contiguous():
                # as rows of that buffer: the gradient is then an index_add into it (no copy,
                # and several times faster on CPU than advanced indexing's index_put)
                c, hp, wp, b, hid = hv.shape
                at = (r * wp + w) * b + bi
                rows = (torch.arange(c, device=at.device)[:, None] * (hp * wp * b) + at).flatten()
                got = hv.reshape(-1, hid).index_select(0, rows).view(c, -1, hid)
            else:
                got = hv[:, r, w, bi]
            outs.append(got.transpose(0, 1))
        return torch.cat(outs, -1) if len(outs) > 1 else outs[0]

    def _extent(self, ri: torch.Tensor, wi: torch.Tensor, height: int, width: int
                ) -> tuple[int, int]:
        """Rows and columns (START border included) of every oriented grid that the scans must
        cover for the features at pixels (ri, wi): one size for all directions, so scans that
        share steps still can.

        Cell (r, w) of a scan depends only on cells above and to its left in its own orientation
        (DESIGN.md), so the part of the grid beyond the farthest pixel asked for changes nothing
        there. That holds for the stock row loop with pointwise combiners, the wavefront's own
        condition; a stack with its own `run_row` or a combiner that mixes columns is scanned
        whole.
        """
        whole = height + 1, width + 1
        if ri.numel() == 0 or not all(
                type(stack).run_row is ChannelStack.run_row
                and getattr(stack.combiner, "pointwise", False)
                for direction in self.stacks for stack in direction):
            return whole
        r_lo, r_hi, w_lo, w_hi = (int(v) for v in (ri.min(), ri.max(), wi.min(), wi.max()))
        ds = range(self.config.directions)  # 1 and 3 mirror columns, 2 and 3 rows (`orient`)
        rows = max(height - r_lo + 1 if d in (2, 3) else r_hi + 2 for d in ds)
        cols = max(width - w_lo + 1 if d in (1, 3) else w_hi + 2 for d in ds)
        return rows, cols

    def _check(self, tokens: torch.Tensor) -> None:
        if tokens.dim() != 4 or tokens.shape[1] != self.channels:
            raise ValueError(f"expected tokens (B, {self.channels}, H+1, W+1), got "
                             f"{tuple(tokens.shape)}")

    # ------------------------------------------------------------------ heads
    def forward(self, tokens: torch.Tensor, teacher: torch.Tensor | None = None) -> torch.Tensor:
        """Class logits (B, K) for classifiers; else pixel logits (B, C, H, W, 258).

        `teacher` holds the true (B, C, H, W) tokens for a conditional decoder's teacher forcing.
        """
        h = self.features(tokens)
        if self.head is not None:
            return self.head(self.pool(h))
        assert self.decoder is not None
        if self.decoder.conditional and self.channels > 1 and teacher is None:
            raise ValueError("a conditional decoder needs `teacher` tokens in training; "
                             "use decode() at inference")
        return self.decoder(h, teacher)

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W, D) features -> (B, pooled) for the classification head."""
        parts = []
        if self.config.pool in ("mean", "mean_last"):
            parts.append(h.mean(dim=(2, 3)).flatten(1))
        if self.config.pool in ("last", "mean_last"):
            hid = self.config.hidden
            # each scan ends at the corner opposite its start, in unoriented coordinates
            corners = {0: (-1, -1), 1: (-1, 0), 2: (0, -1), 3: (0, 0)}
            last = [h[:, :, corners[d][0], corners[d][1], d * hid:(d + 1) * hid]
                    for d in range(self.config.directions)]
            parts.append(torch.cat(last, -1).flatten(1))
        return torch.cat(parts, -1)

    def decode(self, tokens: torch.Tensor, pick: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inference on a grid with HOLE tokens: (filled (B,C,H,W) tokens, logits)."""
        assert self.decoder is not None, "decode() is for pixel tasks"
        h = self.features(tokens)
        known = strip_start_tokens(tokens)
        if pick is None:
            return self.decoder.decode(h, known)
        return self.decoder.decode(h, known, pick)

    def describe(self) -> dict[str, Any]:
        """The key architecture choices, for tables."""
        return {
            "model": "rowrnn",
            "combiner": self.config.combiner.type,
            "decoder": self.config.decoder.type if self.decoder is not None else "classifier",
            "directions": self.config.directions,
            "layers": self.config.layers,
            "hidden": self.config.hidden,
        }


__all__ = ["RowRNN", "RowRNNConfig", "orient", "START", "HOLE"]
