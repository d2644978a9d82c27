"""The GRU cell's gate arithmetic, fused: torch ops on any device, Triton kernels on CUDA.

Given the two pre-activations of a batch of GRU cells, `gi = W_ih x + b_ih` and
`gh = W_hh h_prev + b_hh` (each `[r | z | n]` blocks of `hidden`), the new state is::

    r = σ(gi_r + gh_r)      z = σ(gi_z + gh_z)      n = tanh(gi_n + r ⊙ gh_n)
    h = (1 - z) ⊙ n + z ⊙ h_prev

exactly as `torch.nn.GRU` computes it. Left to autograd these are about ten forward and twenty
backward element-wise kernels per wavefront step, most of a step's overhead at small batch
sizes. Here they are two primitives with a hand-written backward, which saves four blocks (r, z,
n and gh_n): `gates_forward` and `gates_backward`, used by the wavefront scan's own backward,
and `gru_gates`, the same pair as one autograd node. On CUDA, when Triton is importable, each
primitive is a single Triton kernel (fewer graph nodes under CUDA Graphs too); elsewhere the
same math runs as torch ops with `out=` buffers. Setting `PIXELZOO_NO_TRITON=1` forces the torch
ops; `TRITON_INTERPRET=1` runs the Triton kernels on CPU tensors (slowly), which is how their
tests run on machines without a GPU.
"""

from __future__ import annotations

import os
from typing import Any

import torch

try:  # Triton ships with CUDA builds of torch; CPU-only installs may lack it
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the install
    triton = None
    tl = None


def triton_usable(t: torch.Tensor) -> bool:
    """True where the Triton kernels can run on `t`: a CUDA tensor, or Triton's interpreter."""
    if triton is None or os.environ.get("PIXELZOO_NO_TRITON") == "1":
        return False
    return t.is_cuda or os.environ.get("TRITON_INTERPRET") == "1"


# ---------------------------------------------------------------------------------- torch math
# aten's fused derivative kernels, resolved once: calling through `torch.ops.aten.X` resolves the
# overload on every call, three times the cost of the kernel call itself at these sizes
_TANH_BACKWARD = torch.ops.aten.tanh_backward.grad_input
_SIGMOID_BACKWARD = torch.ops.aten.sigmoid_backward.grad_input

def _forward_torch(gi: torch.Tensor, gh: torch.Tensor, h_prev: torch.Tensor, h: torch.Tensor,
                   rz: torch.Tensor, n: torch.Tensor, ghn: torch.Tensor,
                   b_i: torch.Tensor | None, b_hn: torch.Tensor | None) -> None:
    hid = h_prev.shape[-1]
    dt = h_prev.dtype
    gi, gh = gi.to(dt), gh.to(dt)
    torch.add(gi[..., :2 * hid], gh[..., :2 * hid], out=rz)
    if b_i is not None:
        rz.add_(b_i[..., :2 * hid])
    torch.sigmoid(rz, out=rz)
    if b_hn is not None:
        torch.add(gh[..., 2 * hid:], b_hn, out=ghn)
    else:
        ghn.copy_(gh[..., 2 * hid:])
    torch.addcmul(gi[..., 2 * hid:], rz[..., :hid], ghn, out=n)
    if b_i is not None:
        n.add_(b_i[..., 2 * hid:])
    _tanh_(n)
    torch.lerp(n, h_prev, rz[..., hid:], out=h)


def _tanh_(x: torch.Tensor) -> torch.Tensor:
    """tanh in place. On CPU as 2 σ(2x) - 1: torch's CPU tanh kernel is several times slower
    than its sigmoid (6x in this build), and the two agree to within float32 rounding of 1.
    The last step is one kernel, -1 + 2 σ, with the -1 as a 0-dim tensor."""
    if x.is_cuda:
        return x.tanh_()
    torch.sigmoid(x.mul_(2), out=x)
    return torch.add(x.new_full((), -1.0), x, alpha=2, out=x)


def _backward_torch(dh: torch.Tensor, rz: torch.Tensor, n: torch.Tensor, ghn: torch.Tensor,
                    h_prev: torch.Tensor, dgi: torch.Tensor, dgh: torch.Tensor,
                    dhp: torch.Tensor) -> None:
    # Nine kernels, no temporaries: on a CPU each pass over these arrays costs about what its
    # arithmetic does, so the derivatives of tanh and σ are aten's fused tanh_backward /
    # sigmoid_backward (grad ⊙ (1 - y²), grad ⊙ y(1 - y)) written in place.
    hid = n.shape[-1]
    r, z = rz[..., :hid], rz[..., hid:]
    torch.mul(dh, z, out=dhp)
    dan = dgi[..., 2 * hid:]
    torch.sub(dh, dhp, out=dan)                      # dh ⊙ (1 - z)
    _TANH_BACKWARD(dan, n, grad_input=dan)
    torch.mul(dan, r, out=dgh[..., 2 * hid:])
    drz = dgi[..., :2 * hid]
    torch.mul(dan, ghn, out=drz[..., :hid])
    torch.sub(h_prev, n, out=drz[..., hid:]).mul_(dh)
    _SIGMOID_BACKWARD(drz, rz, grad_input=drz)  # through both sigmoids at once
    dgh[..., :2 * hid] = drz


# ---------------------------------------------------------------------------------- triton
if triton is not None:

    @triton.jit
    def _gru_fwd_kernel(gi_ptr, gh_ptr, hp_ptr, h_ptr, rz_ptr, n_ptr, ghn_ptr, bi_ptr, bhn_ptr,
                        rows, per_group, HAS_BIAS: tl.constexpr,
                        HID: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_H: tl.constexpr):
        row = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)[:, None]
        col = tl.arange(0, BLOCK_H)[None, :]
        mask = (row < rows) & (col < HID)
        g = row * (3 * HID) + col
        i_r = tl.load(gi_ptr + g, mask=mask, other=0.0).to(tl.float32)
        i_z = tl.load(gi_ptr + g + HID, mask=mask, other=0.0).to(tl.float32)
        i_n = tl.load(gi_ptr + g + 2 * HID, mask=mask, other=0.0).to(tl.float32)
        h_r = tl.load(gh_ptr + g, mask=mask, other=0.0).to(tl.float32)
        h_z = tl.load(gh_ptr + g + HID, mask=mask, other=0.0).to(tl.float32)
        h_n = tl.load(gh_ptr + g + 2 * HID, mask=mask, other=0.0).to(tl.float32)
        if HAS_BIAS:  # one bias row per group of `per_group` rows
            grp = row // per_group
            b = grp * (3 * HID) + col
            i_r += tl.load(bi_ptr + b, mask=mask, other=0.0).to(tl.float32)
            i_z += tl.load(bi_ptr + b + HID, mask=mask, other=0.0).to(tl.float32)
            i_n += tl.load(bi_ptr + b + 2 * HID, mask=mask, other=0.0).to(tl.float32)
            h_n += tl.load(bhn_ptr + grp * HID + col, mask=mask, other=0.0).to(tl.float32)
        o = row * HID + col
        hp = tl.load(hp_ptr + o, mask=mask, other=0.0).to(tl.float32)
        r = tl.sigmoid(i_r + h_r)
        z = tl.sigmoid(i_z + h_z)
        n = 2.0 * tl.sigmoid(2.0 * (i_n + r * h_n)) - 1.0  # tanh
        h = n + z * (hp - n)
        tl.store(h_ptr + o, h.to(h_ptr.dtype.element_ty), mask=mask)
        q = row * (2 * HID) + col
        tl.store(rz_ptr + q, r.to(rz_ptr.dtype.element_ty), mask=mask)
        tl.store(rz_ptr + q + HID, z.to(rz_ptr.dtype.element_ty), mask=mask)
        tl.store(n_ptr + o, n.to(n_ptr.dtype.element_ty), mask=mask)
        tl.store(ghn_ptr + o, h_n.to(ghn_ptr.dtype.element_ty), mask=mask)

    @triton.jit
    def _gru_bwd_kernel(dh_ptr, rz_ptr, n_ptr, ghn_ptr, hp_ptr, dgi_ptr, dgh_ptr, dhp_ptr, rows,
                        per_group, hp_sg, dgi_sg, dgh_sg,
                        HID: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_H: tl.constexpr):
        row = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)[:, None]
        col = tl.arange(0, BLOCK_H)[None, :]
        mask = (row < rows) & (col < HID)
        o = row * HID + col
        q = row * (2 * HID) + col
        dh = tl.load(dh_ptr + o, mask=mask, other=0.0).to(tl.float32)
        r = tl.load(rz_ptr + q, mask=mask, other=0.0).to(tl.float32)
        z = tl.load(rz_ptr + q + HID, mask=mask, other=0.0).to(tl.float32)
        n = tl.load(n_ptr + o, mask=mask, other=0.0).to(tl.float32)
        ghn = tl.load(ghn_ptr + o, mask=mask, other=0.0).to(tl.float32)
        # h_prev, dgi and dgh may be views whose groups are strided apart (see gates_backward)
        grp = row // per_group
        within = row % per_group
        hp = tl.load(hp_ptr + grp * hp_sg + within * HID + col, mask=mask,
                     other=0.0).to(tl.float32)
        dan = dh * (1.0 - z) * (1.0 - n * n)
        dar = dan * ghn * r * (1.0 - r)
        daz = dh * (hp - n) * z * (1.0 - z)
        gi_at = grp * dgi_sg + within * (3 * HID) + col
        gh_at = grp * dgh_sg + within * (3 * HID) + col
        ty = dgi_ptr.dtype.element_ty
        tl.store(dgi_ptr + gi_at, dar.to(ty), mask=mask)
        tl.store(dgi_ptr + gi_at + HID, daz.to(ty), mask=mask)
        tl.store(dgi_ptr + gi_at + 2 * HID, dan.to(ty), mask=mask)
        tl.store(dgh_ptr + gh_at, dar.to(ty), mask=mask)
        tl.store(dgh_ptr + gh_at + HID, daz.to(ty), mask=mask)
        tl.store(dgh_ptr + gh_at + 2 * HID, (dan * r).to(ty), mask=mask)
        tl.store(dhp_ptr + o, (dh * z).to(dhp_ptr.dtype.element_ty), mask=mask)


def _blocks(hid: int) -> tuple[int, int]:
    block_h = triton.next_power_of_2(hid)
    return max(1, 4096 // block_h), block_h


def _group_stride(t: torch.Tensor) -> tuple[int, int] | None:
    """(rows per group, stride between groups) if t (G, R, F) has contiguous rows, else None."""
    if t.dim() != 3 or t.stride(2) != 1 or t.stride(1) != t.shape[2]:
        return None
    return t.shape[1], t.stride(0)


# ---------------------------------------------------------------------------------- primitives
def gates_forward(gi: torch.Tensor, gh: torch.Tensor, h_prev: torch.Tensor, h: torch.Tensor,
                  rz: torch.Tensor, n: torch.Tensor, ghn: torch.Tensor,
                  b_i: torch.Tensor | None = None, b_hn: torch.Tensor | None = None) -> None:
    """Write the new states into `h` and the saved blocks into rz (..., 2H), n and ghn (..., H).

    gi, gh (G, R, 3H), h_prev, h (G, R, H); every tensor contiguous. Optional per-group biases
    b_i (G, 1, 3H) (added to gi) and b_hn (G, 1, H) (added to gh's n block, inside r ⊙ ·) let
    the callers compute gi and gh as plain products; `ghn` then holds gh_n + b_hn.
    """
    hid = h_prev.shape[-1]
    tensors = (gi, gh, h_prev, h, rz, n, ghn)
    if triton_usable(h_prev) and all(t.is_contiguous() for t in tensors):
        rows = h_prev.numel() // hid
        per_group = rows // h_prev.shape[0] if h_prev.dim() == 3 else rows
        has_bias = b_i is not None
        if has_bias:
            b_i, b_hn = b_i.contiguous(), b_hn.contiguous()
        block_r, block_h = _blocks(hid)
        _gru_fwd_kernel[(triton.cdiv(rows, block_r),)](
            gi, gh, h_prev, h, rz, n, ghn, b_i if has_bias else gi, b_hn if has_bias else gi,
            rows, per_group, HAS_BIAS=has_bias, HID=hid, BLOCK_R=block_r, BLOCK_H=block_h)
    else:
        _forward_torch(gi, gh, h_prev, h, rz, n, ghn, b_i, b_hn)


def gates_backward(dh: torch.Tensor, rz: torch.Tensor, n: torch.Tensor, ghn: torch.Tensor,
                   h_prev: torch.Tensor, dgi: torch.Tensor, dgh: torch.Tensor,
                   dhp: torch.Tensor) -> None:
    """Write the gradients w.r.t. gi, gh (..., 3H) and h_prev (..., H) into dgi, dgh, dhp.

    h_prev, dgi and dgh may be (G, R, F) views whose groups are strided apart (slices of larger
    group-major buffers); dh, rz, n, ghn and dhp are contiguous.
    """
    hid = n.shape[-1]
    strides = [_group_stride(t) for t in (h_prev, dgi, dgh)]
    if (triton_usable(n) and n.dim() == 3
            and all(s is not None and s[0] == n.shape[1] for s in strides)
            and all(t.is_contiguous() for t in (dh, rz, n, ghn, dhp))):
        rows = n.numel() // hid
        block_r, block_h = _blocks(hid)
        _gru_bwd_kernel[(triton.cdiv(rows, block_r),)](
            dh, rz, n, ghn, h_prev, dgi, dgh, dhp, rows, n.shape[1], strides[0][1],
            strides[1][1], strides[2][1], HID=hid, BLOCK_R=block_r, BLOCK_H=block_h)
    else:
        _backward_torch(dh, rz, n, ghn, h_prev, dgi, dgh, dhp)


# ---------------------------------------------------------------------------------- autograd
class _GRUGates(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, gi: torch.Tensor, gh: torch.Tensor, h_prev: torch.Tensor,
                pad: int) -> torch.Tensor:
        hid = h_prev.shape[-1]
        rows = h_prev.numel() // hid
        flat = h_prev.new_empty(rows + pad, hid)
        flat[rows:].zero_()
        h_prev = h_prev.contiguous()
        rz = h_prev.new_empty(*h_prev.shape[:-1], 2 * hid)
        n = torch.empty_like(h_prev)
        ghn = torch.empty_like(h_prev)
        gates_forward(gi.contiguous(), gh.contiguous(), h_prev, flat[:rows].view(h_prev.shape),
                      rz, n, ghn)
        ctx.save_for_backward(rz, n, ghn, h_prev)
        ctx.rows, ctx.gi_dtype, ctx.gh_dtype = rows, gi.dtype, gh.dtype
        return flat

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        rz, n, ghn, h_prev = ctx.saved_tensors
        dh = grad[:ctx.rows].reshape(h_prev.shape).contiguous()
        dgi = h_prev.new_empty(*h_prev.shape[:-1], 3 * h_prev.shape[-1])
        dgh = torch.empty_like(dgi)
        dhp = torch.empty_like(h_prev)
        gates_backward(dh, rz, n, ghn, h_prev, dgi, dgh, dhp)
        return dgi.to(ctx.gi_dtype), dgh.to(ctx.gh_dtype), dhp, None


def gru_gates(gi: torch.Tensor, gh: torch.Tensor, h_prev: torch.Tensor, pad: int = 0
              ) -> torch.Tensor:
    """New GRU states from pre-activations (see module docs), as one autograd node.

    gi, gh (..., 3H) and h_prev (..., H) -> (rows + pad, H), where rows = h_prev.numel() // H
    (the states in h_prev's order, flattened) and the last `pad` rows are zeros: the wavefront's
    "no neighbour" row. The state keeps h_prev's dtype, so under bf16 autocast only the matrix
    products run in bf16 and the recurrence itself stays float32.
    """
    return _GRUGates.apply(gi, gh, h_prev, pad)


def gru_gates_reference(gi: torch.Tensor, gh: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
    """The same cell in plain autograd ops: the oracle for the fused versions' tests."""
    hid = h_prev.shape[-1]
    r, z, n_in = gi.split(hid, -1)
    hr, hz, hn = gh.split(hid, -1)
    r = torch.sigmoid(r + hr)
    z = torch.sigmoid(z + hz)
    n = torch.tanh(n_in + r * hn)
    return (1 - z) * n + z * h_prev
