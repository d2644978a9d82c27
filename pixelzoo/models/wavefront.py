"""The wavefront RowRNN scan: every ready GRU cell of an anti-diagonal in one batched step.

The reference loop (`pixelzoo.models.reference`) runs one GRU call per row and channel. But cell
(c, r, w, l) (channel, row, column, layer) only needs its left neighbour (c, r, w-1, l), the
layer below (c, r, w, l-1) and, for layer 0, the top layer of the cell above (c, r-1, w, L-1)
and of the previous channel (c-1, r, w, L-1) through the channel adapter. With the skew

    t(c, r, w, l) = (r + c) · L + w + l

every one of those four lies at step t - 1 exactly, so all cells of a step are independent and
the scan takes (Hp + C - 2) · L + Wp + L - 1 steps (231 for the seed's 37x37 RGB with 5
layers) instead of C · Hp · Wp · L dependent cell steps. A step reads only the previous step's
states, gathered by index tensors built once per shape (`pixelzoo.models.wavefront_plan`).

Inside a step the cells are laid out as (group, slot, batch) with one group per (layer,
channel), so each group's weights apply to its own slots and the whole step is a handful of
batched GEMMs over the groups' stacked weights plus one fused gate kernel
(`pixelzoo.kernels.gru_gates`). Work that does not depend on the recurrence leaves the loop:
the gather of every step's layer-0 inputs is one `index_select`.

How layer 0 runs is what the combiner declares (`pixelzoo.models.combiners.base`), never which
class it is, so a plugin earns each path as the built-ins do:

* `affine_maps()` (`linear_add`, `concat`): the input side of layer 0 is either folded (W_ih P
  and W_ih A as single maps, W_ih x precomputed for the whole image: fewer dependent products,
  used on CUDA) or projected (P h_above and A h_chan into the embedding, then W_ih: fewer FLOPs,
  used on CPU), see `_AffineLayer0`, and the whole scan is one autograd node with a hand-written
  backward (`_AffineScan`);
* `gated_cell_maps()` (`gated`): the 2-D GRU cell batched across channels, its x projection
  hoisted (`_GatedLayer0`);
* only `pointwise`: the combiner's own `combine` / `cell` on the gathered cells.

Those layer-0 forms live in `pixelzoo.models.wavefront_layer0`; this module picks one
(`_layer0`) and runs the steps.

The last two run the same steps through autograd. All weights are the modules' own parameters
(or the declared maps computed from them), stacked or multiplied inside the forward, so
gradients reach them as in the reference; autograd never sees an in-place write.

The four scans of a `directions: 4` model are independent and have the same shape, so on CUDA
they can share one wavefront: each (direction, channel) pair is a lane with its own weights, the
steps stay 231, and each carries four times the cells (`wavefront_scans`, `_SHARE_DIRECTIONS`).

`supports(model)` says whether the model can use this path, and `WAVEFRONT` is the scan
strategy a model runs it with; which scan a model gets is decided by
`pixelzoo.models.scan.select`, not here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pixelzoo.kernels.gru_gates import gates_backward, gates_forward, gru_gates, triton_usable
from pixelzoo.models.combiners.base import GATES, AffineMaps, GatedCellMaps
from pixelzoo.models.reference import Scan, ScanError
from pixelzoo.models.rowrnn import ChannelStack
from pixelzoo.models.wavefront_layer0 import (
    _AffineLayer0,
    _CellLayer0,
    _CombineLayer0,
    _declared,
    _GatedLayer0,
    _GRULayers,
    _Layer0,
    _maps,
    _t,
)
from pixelzoo.models.wavefront_plan import Plan as _Plan
from pixelzoo.models.wavefront_plan import plan as _plan
from pixelzoo.models.wavefront_plan import plan_arrays as _plan_arrays  # noqa: F401

#: Tests set this to run affine combiners through the autograd loop too (the generic path).
_FORCE_AUTOGRAD = False
#: None: fold layer 0's maps on CUDA, project on CPU (see `_AffineLayer0`); tests force both.
_FOLD: bool | None = None
#: None: on CUDA only, let the directions of a 4-direction model share one scan's steps (a
#: quarter of the sequential steps and launches); on a CPU that measured slower (the 4x larger
#: per-step working set costs more in memory traffic than the fewer calls save); tests force both.
_SHARE_DIRECTIONS: bool | None = None


# ------------------------------------------------------------------------------------ support
def _gru_layers_expected(stack: Any, layers: int) -> int:
    return layers - 1 if stack.combiner.is_cell else layers


def supports(model: Any) -> tuple[bool, str]:
    """(True, "") if `model` can run the wavefront scan, else (False, why) for the notice."""
    stacks = getattr(model, "stacks", None)
    cfg = getattr(model, "config", None)
    if stacks is None or cfg is None or not hasattr(model, "embed_inputs"):
        return False, f"{type(model).__name__} is not a RowRNN"
    for direction in stacks:
        for c, stack in enumerate(direction):
            if type(stack).run_row is not ChannelStack.run_row:
                return False, f"{type(stack).__name__} overrides run_row"
            comb = stack.combiner
            name = type(comb).__name__
            if not getattr(comb, "pointwise", False):
                return False, (f"combiner {name} is not pointwise (it mixes columns), so cells "
                               "of different rows cannot share a step")
            gru = stack.gru
            want = _gru_layers_expected(stack, cfg.layers)
            if want == 0 and gru is None:
                pass
            elif not isinstance(gru, nn.GRU) or gru.num_layers != want:
                return False, f"channel {c}'s recurrent stack is not a {want}-layer nn.GRU"
            elif gru.bidirectional or gru.hidden_size != cfg.hidden:
                return False, f"channel {c}'s GRU is bidirectional or resized"
            elif gru.dropout > 0 and gru.training:
                return False, "GRU dropout between layers is random per call"
            if (c == 0) != (stack.adapter is None):
                return False, "unexpected channel adapter layout"
            problem = _declaration_problem(stack, cfg.embed, cfg.hidden)
            if problem:
                return False, f"combiner {name} {problem}"
    return True, ""


def _declaration_problem(stack: Any, embed: int, hidden: int) -> str:
    """Why the fast-path maps `stack`'s combiner declares cannot be right, or ""."""
    comb = stack.combiner
    maps = _maps(comb)
    if maps is None:
        return ""
    if comb.is_cell:
        if not isinstance(maps, GatedCellMaps):
            return f"declares gated_cell_maps() as {type(maps).__name__}, not GatedCellMaps"
        g = len(GATES)
        want = {"x_weight": ((g + 1) * hidden, embed), "x_bias": ((g + 1) * hidden,),
                "left_weight": (g * hidden, hidden), "above_weight": (g * hidden, hidden),
                "cand_weight": (hidden, 2 * hidden)}
        for field, shape in want.items():
            got = tuple(getattr(maps, field).shape)
            if got != shape:
                return f"declares gated_cell_maps().{field} of shape {got}, expected {shape}"
        return ""
    if not isinstance(maps, AffineMaps):
        return f"declares affine_maps() as {type(maps).__name__}, not AffineMaps"
    k = embed if maps.x_map is None else maps.x_map.shape[0]
    want = {"x_map": (k, embed), "above": (k, hidden), "bias": (k,)}
    for field, shape in want.items():
        value = getattr(maps, field)
        if value is not None and tuple(value.shape) != shape:
            return f"declares affine_maps().{field} of shape {tuple(value.shape)}, expected {shape}"
    size = k + (hidden if maps.append_above else 0)
    if size != stack.gru.input_size:
        return (f"declares affine maps giving a {size}-wide GRU input, but its GRU reads "
                f"{stack.gru.input_size}")
    return ""


def layer0_form(model: Any, direction: int = 0) -> str:
    """How the wavefront runs layer 0 of `direction`: "affine" (the hand-written scan),
    "gated" or "generic" (autograd), from what its combiners declare."""
    form = _declared(model.stacks[direction])[0]
    return "generic" if form == "affine" and _FORCE_AUTOGRAD else form


def _layer0(stacks: Any, embed: int, device: torch.device) -> _Layer0:
    form, maps = _declared(stacks)
    if form == "gated":
        return _GatedLayer0(stacks, maps, embed)
    if form == "affine":
        fold = device.type != "cpu" if _FOLD is None else _FOLD
        return _AffineLayer0(stacks, maps, embed, fold)
    return _CellLayer0(stacks) if stacks[0].combiner.is_cell else _CombineLayer0(stacks)


# ------------------------------------------------------------------------------------ fast scan
class _AffineScan(torch.autograd.Function):
    """The whole scan for GRU-style layer 0 (`_AffineLayer0`), with a hand-written backward.

    Autograd would record about a dozen nodes per step (gathers, products, bias copies, gate
    ops) and keep each intermediate. Here a step is: one gather of the neighbours, the
    products, and the gates (with Triton the biases are added inside the fused gate kernel; with
    the torch gate math the input-side ones enter the input products, which write them first,
    and only b_hn is added in the gates); the backward walks the steps in reverse, turning each
    step's state gradients into pre-activation gradients, neighbour gradients (added back with
    one index_add into a state-gradient buffer laid out as the forward's states, so no step
    copies its seed) and in-place weight-gradient accumulations (float32 under bf16).

    Inputs: the layer-0 table (K*Hp*Wp, B, F) and maps p, a, wx, wa, b0 of `_AffineLayer0`; the
    upper layers' input maps w_ih (K*(L-1), H, 3H), b_ih (K*(L-1), 1, 3H); every layer's w_hh
    (K*L, H, 3H), b_hh (K*L, 1, 3H), groups layer-major, for K lanes (channels, or direction x
    channel when several scans share the steps). `dims` = (K, L, B, H, a0): the adapter products
    run for lanes a0.. (lane 0 of a single scan has no adapter; the first channel of the other
    directions has a zero map and a zero gathered state), None for none. Output: the top-layer
    states (K*Hp*Wp, B, H). Arithmetic runs in the table's dtype: bf16 under autocast (the
    Triton gate kernels compute in float32 inside), else float32.
    """

    @staticmethod
    def forward(ctx: Any, plan: _Plan, dims: tuple[int, int, int, int, int | None], keep: bool,
                table: torch.Tensor, p: torch.Tensor | None, a: torch.Tensor,
                wx: torch.Tensor | None, wa: torch.Tensor | None, b0: torch.Tensor | None,
                w_ih: torch.Tensor | None, b_ih: torch.Tensor | None, w_hh: torch.Tensor,
                b_hh: torch.Tensor) -> torch.Tensor:
        channels, layers, b, hid, a0 = dims
        groups, up = channels * layers, channels * (layers - 1)
        dt = table.dtype

        def cast(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(dt)

        in_dtypes = [t.dtype if t is not None else None
                     for t in (table, p, a, wx, wa, b0, w_ih, b_ih, w_hh, b_hh)]
        p, a, wx, wa, b0, w_ih, w_hh = map(cast, (p, a, wx, wa, b0, w_ih, w_hh))
        # biases enter in the gate kernel: r and z get b_ih + b_hh, n gets b_ih outside and
        # b_hh inside r ⊙ (·); layer 0's b_ih is in its table or in b0
        b_i = b_hh.detach().clone()
        b_i[..., 2 * hid:] = 0
        if up:
            b_i[channels:] += b_ih.detach()
        b_i, b_hn = b_i.to(dt), b_hh.detach()[..., 2 * hid:].to(dt).contiguous()
        # Without Triton (the torch gate math, on CPU) the input-side biases go into the input
        # products instead (their out= form writes the bias first): one pass fewer per step.
        # The folded form (wx None) has no product to put layer 0's part in.
        bias_in_products = wx is not None and not triton_usable(table)
        if bias_in_products:
            b0 = b0 + b_i[:channels]
            b_up = b_i[channels:] if up else None
            b_i = None
        with torch.autocast(table.device.type, enabled=False):
            xrows = table.index_select(0, plan.x_all).split(plan.x_sizes)
            # every step's states in one buffer, each step's followed by a zero row: the
            # "no neighbour" state of the next step's gather
            states = table.new_empty(plan.n_rows, b, hid).index_fill_(0, plan.pad_rows, 0)
            saved = []
            # scratch reused by every step (what the backward needs is allocated per step when
            # `keep`): fresh allocations per step cost page faults on CPU
            max_m = max(s.slots for s in plan.steps)
            scratch = {k: table.new_empty(groups * max_m * b * w)
                       for k, w in (("gh", 3 * hid), ("gi", 3 * hid), ("rz", 2 * hid),
                                    ("n", hid), ("ghn", hid))}

            def buf(name: str, *shape: int) -> torch.Tensor:
                if keep and name != "gh":
                    return table.new_empty(shape)
                size = 1
                for d in shape:
                    size *= d
                return scratch[name][:size].view(shape)

            for t, (step, xr) in enumerate(zip(plan.steps, xrows)):
                m = step.slots
                gm, mb = groups * m, m * b
                got = states.index_select(0, plan.gather_abs[t])
                left = got[:gm].view(groups, mb, hid)
                inp = got[gm:2 * gm].view(groups, mb, hid)
                chan = got[2 * gm:].view(channels, mb, hid)
                xr = xr.view(channels, mb, -1)
                gi = buf("gi", groups, mb, 3 * hid)
                # layer 0: u = rows + above @ p + chan @ a; gi = u or b0 + u @ wx + above @ wa.
                # Projected, u is formed in the step's own rows of the hoisted gather (nothing
                # reads them again, and the backward keeps u for the weight gradient of wx).
                if wx is None:
                    u = gi[:channels]
                    if p is not None:
                        torch.baddbmm(xr, inp[:channels], p, out=u)
                    else:
                        u.copy_(xr)
                else:
                    u = xr if p is None else xr.baddbmm_(inp[:channels], p)
                if a0 is not None:
                    u[a0:].baddbmm_(chan[a0:], a[a0:])
                if wx is not None:
                    torch.baddbmm(b0, u, wx, out=gi[:channels])
                    if wa is not None:
                        gi[:channels].baddbmm_(inp[:channels], wa)
                if up and b_i is None:
                    torch.baddbmm(b_up, inp[channels:], w_ih, out=gi[channels:])
                elif up:
                    torch.bmm(inp[channels:], w_ih, out=gi[channels:])
                gh = torch.bmm(left, w_hh, out=buf("gh", groups, mb, 3 * hid))
                rz = buf("rz", groups, mb, 2 * hid)
                n = buf("n", groups, mb, hid)
                ghn = buf("ghn", groups, mb, hid)
                at = plan.state_at[t]
                gates_forward(gi, gh, left, states[at:at + gm].view(groups, mb, hid), rz, n,
                              ghn, b_i, b_hn)
                if keep:
                    saved.append((got, rz, n, ghn, u if wx is not None else None))
            out = states.index_select(0, plan.final_abs)
        if keep:
            ctx.plan, ctx.dims, ctx.dt, ctx.table_shape = plan, dims, dt, table.shape
            ctx.saved = saved
            ctx.maps = (p, a, wx, wa, w_ih, w_hh)
            ctx.in_dtypes = in_dtypes
        return out

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor) -> tuple[Any, ...]:
        plan, (channels, layers, b, hid, a0), dt = ctx.plan, ctx.dims, ctx.dt
        groups, up = channels * layers, channels * (layers - 1)
        p, a, wx, wa, w_ih, w_hh = ctx.maps
        width = ctx.table_shape[-1]

        # Weight and bias gradients sum over every step: in float32 even when the products
        # run in bf16, whose 8-bit mantissa would round away most of each step's share.
        acc_dt = torch.float32 if dt in (torch.bfloat16, torch.float16) else dt

        def zeros(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else torch.zeros_like(t, dtype=acc_dt)

        if acc_dt == dt:
            def acc(dst: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> None:
                dst.baddbmm_(x, y)
        else:
            def acc(dst: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> None:
                dst.add_(torch.bmm(x, y))

        with torch.autocast(d_out.device.type, enabled=False):
            d_out = d_out.to(dt)
            # Per-step work buffers, allocated once at the largest step's size and reused: fresh
            # multi-megabyte allocations per step cost page faults on CPU (about a tenth of the
            # backward at the seed's sizes).
            max_m = max(s.slots for s in plan.steps)
            d_gi = d_out.new_empty(groups * max_m * b * 3 * hid)
            d_gh = torch.empty_like(d_gi)
            d_gots = [d_out.new_empty((2 * groups + channels) * max_m * b * hid) for _ in "ab"]
            # The state gradients in the forward's one-buffer layout, seeded with the output's
            # (zeros for lower layers, padding and the zero rows): a step's rows plus the zero
            # row after them are then a view that the next step's gather adds back into.
            d_states = torch.cat([d_out, d_out.new_zeros(1, b, hid)]).index_select(
                0, plan.state_src)
            # the maps' transposes, made contiguous once (tiny) rather than read strided by every
            # step's product
            w_hh_t, wx_t, wa_t, p_t, w_ih_t, a_t = (None if w is None else _t(w).contiguous()
                                                    for w in (w_hh, wx, wa, p, w_ih, a))
            d_x = d_out.new_empty(plan.x_all.shape[0], b, width)  # layer-0 table rows
            d_p, d_a, d_wx, d_wa, d_w_ih, d_w_hh = map(zeros, (p, a, wx, wa, w_ih, w_hh))
            d_b0 = d_out.new_zeros(channels, 1, 3 * hid, dtype=acc_dt) if wx is not None else None
            d_b_ih = d_out.new_zeros(up, 1, 3 * hid, dtype=acc_dt) if up else None
            d_b_hh = d_out.new_zeros(groups, 1, 3 * hid, dtype=acc_dt)
            # bias gradients as products with ones: one kernel each instead of sum + add
            ones = d_out.new_ones(groups, 1, max_m * b)
            x_end = plan.x_all.shape[0]
            d_got_next = None
            for t in range(len(plan.steps) - 1, -1, -1):
                step = plan.steps[t]
                m = step.slots
                gm, mb = groups * m, m * b
                got, rz, n, ghn, u = ctx.saved[t]
                ctx.saved[t] = None  # free as we go
                left = got[:gm].view(groups, mb, hid)
                inp = got[gm:2 * gm].view(groups, mb, hid)
                chan = got[2 * gm:].view(channels, mb, hid)
                at = plan.state_at[t]
                d_h = d_states[at:at + gm + 1]
                if d_got_next is not None:
                    # the next step's gather read these rows (and the zero row, last): add back
                    d_h.index_add_(0, plan.steps[t + 1].gather, d_got_next)
                dgi = d_gi[:groups * mb * 3 * hid].view(groups, mb, 3 * hid)
                dgh = d_gh[:dgi.numel()].view(dgi.shape)
                # gradients of this step's inputs: the neighbours and the table rows; the
                # left neighbours' start as the gates' direct part (z ⊙ dh) and gain W_hh's
                d_got = d_gots[t % 2][:(2 * gm + channels * m) * b * hid].view(-1, b, hid)
                d_left = d_got[:gm].view(groups, mb, hid)
                gates_backward(d_h[:gm].view(groups, mb, hid), rz, n, ghn, left, dgi, dgh, d_left)
                one = ones[..., :mb]
                d_left.baddbmm_(dgh, w_hh_t)
                d_inp = d_got[gm:2 * gm].view(groups, mb, hid)
                d_chan = d_got[2 * gm:].view(channels, mb, hid)
                dgi0 = dgi[:channels]
                d_xt = d_x[x_end - channels * m:x_end]  # this step's table rows
                x_end -= channels * m
                if wx is not None:
                    du = torch.bmm(dgi0, wx_t, out=d_xt.view(channels, mb, width))
                    acc(d_wx, _t(u), dgi0)
                    acc(d_b0, one[:channels], dgi0)
                    if wa is not None:
                        torch.bmm(dgi0, wa_t, out=d_inp[:channels])
                        acc(d_wa, _t(inp[:channels]), dgi0)
                else:
                    du = dgi0
                    d_xt.copy_(du.reshape(channels * m, b, width))
                if p is not None:
                    if wa is not None:  # both maps read h_above: add to wa's part
                        d_inp[:channels].baddbmm_(du, p_t)
                    else:
                        torch.bmm(du, p_t, out=d_inp[:channels])
                    acc(d_p, _t(inp[:channels]), du)
                if up:
                    torch.bmm(dgi[channels:], w_ih_t, out=d_inp[channels:])
                if a0 is None:
                    d_chan.zero_()
                else:
                    d_chan[:a0].zero_()
                    torch.bmm(du[a0:], a_t[a0:], out=d_chan[a0:])
                    acc(d_a[a0:], _t(chan[a0:]), du[a0:])
                d_got_next = d_got
                # the other weights, accumulated in place
                acc(d_w_hh, _t(left), dgh)
                acc(d_b_hh, one, dgh)
                if up:
                    acc(d_w_ih, _t(inp[channels:]), dgi[channels:])
                    acc(d_b_ih, one[channels:], dgi[channels:])
            d_table = d_out.new_zeros(ctx.table_shape).index_add_(0, plan.x_all, d_x)
        grads = [d_table, d_p, d_a, d_wx, d_wa, d_b0, d_w_ih, d_b_ih, d_w_hh, d_b_hh]
        grads = [g.to(d) if g is not None else None for g, d in zip(grads, ctx.in_dtypes)]
        return (None, None, None, *grads)


# ------------------------------------------------------------------------------------ the scan
def _affine_scan(model: Any, stacks: list[Any], xs: list[torch.Tensor]) -> list[torch.Tensor]:
    """`_AffineScan` over the scans of `xs` (one (B, C, Hp, Wp, E) input per direction, with
    that direction's channel stacks, flattened, in `stacks`), all sharing its steps."""
    directions = len(xs)
    b, channels, hp, wp, _ = xs[0].shape
    layers, hid = model.config.layers, model.config.hidden
    device = xs[0].device
    plan = _plan(channels, layers, hp, wp, device, directions)
    first = _layer0(stacks, model.config.embed, device)
    assert isinstance(first, _AffineLayer0)
    x = torch.cat([x.permute(1, 2, 3, 0, 4).reshape(channels, hp * wp, b, -1) for x in xs])
    table = first.table(x)
    grus = _GRULayers(stacks, 0, layers, False)
    kind = device.type
    if torch.is_autocast_enabled(kind):  # the scan's products run in the autocast dtype
        table = table.to(torch.get_autocast_dtype(kind))
    inputs = (table, *first.maps(), grus.w_ih, grus.b_ih, grus.w_hh, grus.b_hh)
    keep = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs)
    a0 = None if channels == 1 else (1 if directions == 1 else 0)
    top = _AffineScan.apply(plan, (directions * channels, layers, b, hid, a0), keep, *inputs)
    if directions == 1:  # a plain view: its gradient reaches the scan without a copy
        return [top.view(channels, hp, wp, b, hid).permute(3, 0, 1, 2, 4)]
    top = top.view(directions, channels, hp, wp, b, hid).permute(0, 4, 1, 2, 3, 5)
    return list(top.unbind(0))


def _is_affine(model: Any, direction: int) -> bool:
    """True when this direction runs the hand-written scan (`_AffineScan`)."""
    return layer0_form(model, direction) == "affine"


def scan_embedded(model: Any, x: torch.Tensor, direction: int) -> torch.Tensor:
    """Wavefront scan of embedded inputs x (B, C, Hp, Wp, E) -> (B, C, Hp, Wp, hidden)."""
    stacks = model.stacks[direction]
    if _is_affine(model, direction):
        return _affine_scan(model, list(stacks), [x])[0]
    b, channels, hp, wp, _ = x.shape
    layers, hid = model.config.layers, model.config.hidden
    plan = _plan(channels, layers, hp, wp, x.device)
    first = _layer0(stacks, model.config.embed, x.device)
    table = first.table(x.permute(1, 2, 3, 0, 4).reshape(channels, hp * wp, b, -1))
    # one gather for every step (split, not sliced: a single backward node for all of them)
    xrows = table.index_select(0, plan.x_all).split(plan.x_sizes)
    cell0 = first.gives_state
    grus = _GRULayers(stacks, 1 if cell0 else 0, layers, cell0)
    upper = channels * (layers - 1)
    n_groups = channels * layers

    states = x.new_zeros(1, b, hid)  # before step 0: nothing but the zero row
    tops = []
    for step, xr in zip(plan.steps, xrows):
        m = step.slots
        gm = n_groups * m
        got = states.index_select(0, step.gather)
        left = got[:gm].view(n_groups, m * b, hid)
        inp = got[gm:2 * gm].view(n_groups, m * b, hid)
        chan = got[2 * gm:].view(channels, m * b, hid)
        layer0 = first.step(left[:channels], inp[:channels], chan, xr)
        if cell0:
            parts = [layer0.reshape(-1, hid)]
            if upper:
                gi = torch.baddbmm(grus.b_ih, inp[channels:], grus.w_ih)
                gh = torch.baddbmm(grus.b_hh, left[channels:], grus.w_hh)
                parts.append(gru_gates(gi, gh, left[channels:]))
            parts.append(x.new_zeros(b, hid))
            states = torch.cat(parts).view(gm + 1, b, hid)
        else:
            gi = layer0 if not upper else torch.cat(
                [layer0, torch.baddbmm(grus.b_ih, inp[channels:], grus.w_ih)])
            gh = torch.baddbmm(grus.b_hh, left, grus.w_hh)
            states = gru_gates(gi, gh, left, pad=b).view(gm + 1, b, hid)
        tops.append(states[(layers - 1) * channels * m:n_groups * m])
    top = torch.cat(tops).index_select(0, plan.final)
    return top.view(channels, hp, wp, b, hid).permute(3, 0, 1, 2, 4)


def wavefront_scan(model: Any, tokens: torch.Tensor, direction: int) -> torch.Tensor:
    """(B, C, Hp, Wp) oriented tokens -> top-layer outputs (B, C, Hp, Wp, hidden).

    The same function as `pixelzoo.models.reference.reference_scan`, computed by anti-diagonals.
    Raises `ScanError` for a model it cannot run (see `supports`), rather than computing
    something else.
    """
    _require_support(model)
    return scan_embedded(model, model.embed_inputs(tokens), direction)


def _require_support(model: Any) -> None:
    ok, why = supports(model)
    if not ok:
        raise ScanError(f"the wavefront scan cannot run this model ({why}); select the scan "
                        "'auto' or 'reference'")


def wavefront_scans(model: Any, tokens: list[torch.Tensor]) -> list[torch.Tensor]:
    """Every direction's scan, `tokens[d]` oriented for direction d -> outputs as in
    `wavefront_scan`. On CUDA, with affine combiners (`linear_add`, `concat`), the directions
    share one scan's steps (4x the cells per step, a quarter of the sequential steps: see
    `_SHARE_DIRECTIONS`); otherwise they scan in turn."""
    _require_support(model)
    share = tokens[0].is_cuda if _SHARE_DIRECTIONS is None else _SHARE_DIRECTIONS
    if share and len(tokens) > 1 and _is_affine(model, 0):
        stacks = [s for d in range(len(tokens)) for s in model.stacks[d]]
        return _affine_scan(model, stacks, [model.embed_inputs(t) for t in tokens])
    return [scan_embedded(model, model.embed_inputs(t), d) for d, t in enumerate(tokens)]


class WavefrontScan(Scan):
    """The wavefront as a scan strategy (see module docs); `pixelzoo.models.scan.select` sets it
    only on models that `supports` allows, and every call checks again."""

    name = "wavefront"

    def scan(self, model: Any, tokens: torch.Tensor, direction: int) -> torch.Tensor:
        return wavefront_scan(model, tokens, direction)

    def scans(self, model: Any, oriented: list[torch.Tensor]) -> list[torch.Tensor]:
        return wavefront_scans(model, oriented)


#: The one wavefront scan.
WAVEFRONT = WavefrontScan()
