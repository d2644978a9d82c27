"""The wavefront scan's layer 0, in the forms a combiner's declaration earns, and the weights it reads.

`pixelzoo.models.wavefront` runs the scan; this module holds what it asks of each step's first
layer. `_declared(stacks)` reads what one direction's combiners declare (`AffineMaps`,
`GatedCellMaps` or nothing, see `pixelzoo.models.combiners.base`), and the `_Layer0` forms turn
the gathered inputs into pre-activations or states: `_AffineLayer0` (folded or projected maps,
the hand-written scan's), `_GatedLayer0` (the 2-D GRU cell batched across channels), and
`_CombineLayer0` / `_CellLayer0` (the combiner's own `combine` / `cell` through autograd).
`_GRULayers` and `_adapter_parts` stack the GRU layers' and channel adapters' parameters in the
layout the steps use. Which form runs, and the switches tests flip, stay in the scan's module.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pixelzoo.models.combiners.base import GATES, AffineMaps, GatedCellMaps


# ------------------------------------------------------------------------------------ weights
def _t(w: torch.Tensor) -> torch.Tensor:
    return w.transpose(-1, -2)


def _gru_params(gru: nn.GRU, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None,
                                                  torch.Tensor | None]:
    return (getattr(gru, f"weight_ih_l{k}"), getattr(gru, f"weight_hh_l{k}"),
            getattr(gru, f"bias_ih_l{k}", None), getattr(gru, f"bias_hh_l{k}", None))


def _bias(b: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return b if b is not None else like.new_zeros(like.shape[0])


class _GRULayers:
    """Stacked (group-major) weights of the plain GRU layers that share a step.

    Hidden-to-hidden weights for model layers `first..L-1`; input weights for layers 1..L-1
    only (layer 0's input side belongs to `_Layer0`).
    """

    def __init__(self, stacks: Any, first: int, layers: int, is_cell: bool):
        w_ih, w_hh, b_ih, b_hh = [], [], [], []
        for l in range(first, layers):
            for stack in stacks:
                wi, wh, bi, bh = _gru_params(stack.gru, l - 1 if is_cell else l)
                w_hh.append(_t(wh))
                b_hh.append(_bias(bh, wh))
                if l > 0:
                    w_ih.append(_t(wi))
                    b_ih.append(_bias(bi, wi))
        self.w_ih = torch.stack(w_ih) if w_ih else None               # (G', H, 3H)
        self.b_ih = torch.stack(b_ih).unsqueeze(1) if b_ih else None  # (G', 1, 3H)
        self.w_hh = torch.stack(w_hh) if w_hh else None               # (G, H, 3H)
        self.b_hh = torch.stack(b_hh).unsqueeze(1) if b_hh else None


def _adapter_parts(stacks: Any, size: int, like: torch.Tensor
                   ) -> tuple[list[torch.Tensor | None], list[torch.Tensor]]:
    """Per channel: the adapter's weight (None for channel 0) and bias (zeros for channel 0)."""
    weights, biases = [], []
    for stack in stacks:
        a = stack.adapter
        weights.append(None if a is None else a.weight)
        biases.append(like.new_zeros(size) if a is None or a.bias is None else a.bias)
    return weights, biases


# ------------------------------------------------------------------------------------ layer 0
class _Layer0:
    """How layer 0 of every channel turns its gathered inputs into pre-activations or states.

    `table(x)` hoists what depends only on the embedded inputs, x (C, Hp*Wp, B, E), out of the
    loop: a (C*Hp*Wp, B, F) table of per-pixel rows. `step(left, above, chan, xrows)` is layer 0
    of one wavefront step for the (C, m*B, H) gathered neighbours and the step's (C*m, B, F)
    table rows: GRU-style layers return gi (C, m*B, 3H), cells return their state h.
    """

    gives_state = False
    channels: int

    def table(self, x: torch.Tensor) -> torch.Tensor:
        c, p, b, e = x.shape
        return x.reshape(c * p, b, e)

    def step(self, left: torch.Tensor, above: torch.Tensor, chan: torch.Tensor,
             xrows: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def _table(x: torch.Tensor, bias: torch.Tensor | None, weight: torch.Tensor) -> torch.Tensor:
        """One GEMM per channel over all pixels: (C, P, B, in) -> (C * P, B, out) rows."""
        c, p, b, e = x.shape
        flat = x.reshape(c, p * b, e)
        out = torch.bmm(flat, weight) if bias is None else torch.baddbmm(bias, flat, weight)
        return out.view(c * p, b, -1)

    def _rows(self, xrows: torch.Tensor) -> torch.Tensor:
        return xrows.view(self.channels, -1, xrows.shape[-1])


class _AffineLayer0(_Layer0):
    """Input combiners that declare `affine_maps`: `linear_add`, `concat`, or any plugin.

    With the declared combine(x, h) = [X x + P h + p ; h if appended] (X = I unless given, K
    its rows), the first GRU weight split as W_ih = [Wx | Wh] (Wh only when h is appended) and
    the channel adapter's x' = x + A h_chan + a, layer 0's input pre-activation is

        gi = Wx (X x' + P h_above + p) + Wh h_above + b_ih.

    Two ways to evaluate it:

    * folded (CUDA): one GEMM for the whole image hoists (Wx X)(x + a) + Wx p + b_ih out of the
      loop, and the loop adds (Wx P + Wh) h_above and (Wx X A) h_chan, two products per step,
      each 3H wide;
    * projected (CPU): the loop forms u = X (x + a) + p + P h_above + X A h_chan (K wide: the
      embedding, for `linear_add` and `concat`) and then Wx u + Wh h_above: one more product in
      the chain, but about a tenth fewer FLOPs for the seed's sizes (embed 64 < 3 * hidden 288),
      which is what counts on a CPU.

    Both are written as: u = rows + h_above @ p + h_chan @ a; gi = u (folded) or
    b0 + u @ wx + h_above @ wa (projected), with the maps below (None where absent; at least one
    of p and wa is set, a zero map if the combiner ignores h_above).
    """

    def __init__(self, stacks: Any, maps: list[AffineMaps], embed: int, fold: bool):
        like = stacks[0].gru.weight_ih_l0
        hid = stacks[0].gru.hidden_size
        a_w, a_b = _adapter_parts(stacks, embed, like)
        self.channels, self.fold = len(stacks), fold
        mapped = maps[0].x_map is not None  # X given: the table goes through it
        width = maps[0].x_map.shape[0] if mapped else embed  # K
        xbias, t_w, t_b, wx, above, wh, b_ih, adapt = [], [], [], [], [], [], [], []
        for c, (stack, m) in enumerate(zip(stacks, maps)):
            w_ih, _, bi, _ = _gru_params(stack.gru, 0)
            bi = _bias(bi, w_ih)
            w_x = w_ih[:, :width] if m.append_above else w_ih
            w_h = w_ih[:, width:] if m.append_above else None
            x_w = w_x if m.x_map is None else w_x @ m.x_map  # Wx X
            # without X, p joins the adapter's bias before the table's product; with X it is
            # already in X's output space, so it joins the table's bias
            xbias.append(a_b[c] if mapped or m.bias is None else a_b[c] + m.bias)
            if fold:
                t_w.append(x_w)
                t_b.append(bi + w_x @ m.bias if mapped and m.bias is not None else bi)
                h_map = w_x @ m.above if m.above is not None else None
                h_map = w_h if h_map is None else (h_map if w_h is None else h_map + w_h)
                above.append(h_map if h_map is not None else like.new_zeros(3 * hid, hid))
            else:
                if mapped:
                    t_w.append(m.x_map)
                    t_b.append(m.bias if m.bias is not None else like.new_zeros(width))
                above.append(m.above)
                wh.append(w_h)
                wx.append(w_x)
            b_ih.append(bi)
            if a_w[c] is None:
                adapt.append(None)
            else:
                adapt.append(x_w @ a_w[c] if fold else
                             (a_w[c] if m.x_map is None else m.x_map @ a_w[c]))
        self.xbias = torch.stack(xbias)[:, None, None, :]
        out_width = 3 * hid if fold else width
        self.a = torch.stack([_t(w) if w is not None else like.new_zeros(hid, out_width)
                              for w in adapt])
        # the table: None weight is the identity (the projected form without X)
        self._t_w = torch.stack([_t(w) for w in t_w]) if t_w else None
        self._t_b = torch.stack(t_b).unsqueeze(1) if t_b else None
        if fold:
            self.p = torch.stack([_t(w) for w in above])
            self.wa = self.wx = self.b0 = None
        else:
            self.wa = torch.stack([_t(w) for w in wh]) if wh[0] is not None else None
            if any(w is not None for w in above) or self.wa is None:
                self.p = torch.stack([_t(w) if w is not None else like.new_zeros(hid, width)
                                      for w in above])
            else:
                self.p = None
            self.wx, self.b0 = torch.stack([_t(w) for w in wx]), torch.stack(b_ih).unsqueeze(1)

    def table(self, x: torch.Tensor) -> torch.Tensor:
        if self._t_w is not None:
            return self._table(x + self.xbias, self._t_b, self._t_w)
        return (x + self.xbias).reshape(-1, x.shape[2], x.shape[3])

    def step(self, left, above, chan, xrows):  # noqa: ANN001, ANN201
        u = self._rows(xrows)
        if self.p is not None:
            u = torch.baddbmm(u, above, self.p)
        if self.channels > 1:
            u = torch.cat([u[:1], torch.baddbmm(u[1:], chan[1:], self.a[1:])])
        if self.fold:
            return u
        gi = torch.baddbmm(self.b0, u, self.wx)
        return gi if self.wa is None else torch.baddbmm(gi, above, self.wa)

    def maps(self) -> tuple[torch.Tensor | None, ...]:
        """(p, a, wx, wa, b0) for `_AffineScan`."""
        return self.p, self.a, self.wx, self.wa, self.b0


class _CombineLayer0(_Layer0):
    """Any other pointwise input combiner: its own `combine` on the gathered cells."""

    def __init__(self, stacks: Any):
        self.stacks = stacks
        self.channels = len(stacks)
        gru = [_gru_params(s.gru, 0) for s in stacks]
        self.w_ih = torch.stack([_t(w) for w, _, _, _ in gru])
        self.b_ih = torch.stack([_bias(b, w) for w, _, b, _ in gru]).unsqueeze(1)

    def step(self, left, above, chan, xrows):  # noqa: ANN001, ANN201
        xg = self._rows(xrows)
        parts = []
        for c, stack in enumerate(self.stacks):
            xc = xg[c] if stack.adapter is None else xg[c] + stack.adapter(chan[c])
            # each gathered cell is a batch entry with a one-column row: fine for pointwise
            parts.append(stack.combiner.combine(xc.unsqueeze(1), above[c].unsqueeze(1)).squeeze(1))
        return torch.baddbmm(self.b_ih, torch.stack(parts), self.w_ih)


class _CellLayer0(_Layer0):
    """Any pointwise cell combiner: its own `cell` on the gathered cells, once per channel."""

    gives_state = True

    def __init__(self, stacks: Any):
        self.stacks = stacks
        self.channels = len(stacks)

    def step(self, left, above, chan, xrows):  # noqa: ANN001, ANN201
        xg = self._rows(xrows)
        out = []
        for c, stack in enumerate(self.stacks):
            xc = xg[c] if stack.adapter is None else xg[c] + stack.adapter(chan[c])
            out.append(stack.combiner.cell(xc, left[c], above[c]))
        return torch.stack(out)


class _GatedLayer0(_Layer0):
    """Cell combiners that declare `gated_cell_maps`: `gated`, or any plugin (see the maps' docs).

    The fused maps make this direct: the x map is hoisted for the whole image (with the
    adapter's bias folded in), the adapter's weight folds into the x map, and per step there are
    three batched GEMMs for the gate logits plus one for the candidate.
    """

    gives_state = True

    def __init__(self, stacks: Any, maps: list[GatedCellMaps], embed: int):
        like = maps[0].x_weight
        hid = stacks[0].combiner.hidden
        a_w, a_b = _adapter_parts(stacks, embed, like)
        self.channels, self.hidden = len(stacks), hid
        self.n_gates = len(GATES)
        self.wx = torch.stack([_t(k.x_weight) for k in maps])
        self.bx = torch.stack([k.x_bias for k in maps]).unsqueeze(1)
        self.xbias = torch.stack(a_b)[:, None, None, :]
        self.wc = torch.stack([_t(k.x_weight @ a) if a is not None else
                               like.new_zeros(hid, k.x_weight.shape[0])
                               for k, a in zip(maps, a_w)])
        self.wl = torch.stack([_t(k.left_weight) for k in maps])
        self.wa = torch.stack([_t(k.above_weight) for k in maps])
        self.wn = torch.stack([_t(k.cand_weight) for k in maps])

    def table(self, x: torch.Tensor) -> torch.Tensor:
        return self._table(x + self.xbias, self.bx, self.wx)

    def step(self, left, above, chan, xrows):  # noqa: ANN001, ANN201
        gates_n = self.n_gates * self.hidden
        xa = self._rows(xrows)
        if self.channels > 1:
            xa = torch.baddbmm(xa, chan, self.wc)
        s = torch.baddbmm(torch.baddbmm(xa[..., :gates_n], left, self.wl), above, self.wa)
        r_l, r_a, s_n, s_l, s_a = s.chunk(self.n_gates, -1)
        reset = torch.cat([torch.sigmoid(r_l) * left, torch.sigmoid(r_a) * above], -1)
        n = torch.tanh(torch.baddbmm(xa[..., gates_n:], reset, self.wn))
        z = torch.softmax(torch.stack([s_n, s_l, s_a]), dim=0)
        return z[0] * n + z[1] * left + z[2] * above


def _declared(stacks: Any) -> tuple[str, list[Any]]:
    """What one direction's combiners declare for layer 0: ("affine", their `AffineMaps`),
    ("gated", their `GatedCellMaps`) or ("generic", []) when they declare nothing (or not all
    alike, then the generic path is the one that is right for each)."""
    maps = [_maps(s.combiner) for s in stacks]
    if stacks[0].combiner.is_cell:
        return ("gated", maps) if all(m is not None for m in maps) else ("generic", [])
    if all(m is not None for m in maps) and len(
            {(m.x_map is None, m.append_above, _width(m)) for m in maps}) == 1:
        return "affine", maps
    return "generic", []


def _maps(comb: Any) -> Any:
    """What `comb` declares (`RowContextCombiner.fast_path_maps`); None for a combiner that
    does not derive from the base class."""
    declared = getattr(comb, "fast_path_maps", None)
    return declared() if declared is not None else None


def _width(maps: AffineMaps) -> int | None:
    return None if maps.x_map is None else maps.x_map.shape[0]
