"""The wavefront's schedule: which cells run at each step and where their inputs are.

With the skew t(c, r, w, l) = (r + c) · L + w + l (see `pixelzoo.models.wavefront`), every cell
of a step reads only the previous step's states. This module computes, once per shape and
device, the index tensors that say so: each step's cells per (layer, channel) group, the gather
of their left, lower-layer and channel neighbours, their rows in the hoisted layer-0 input table,
and where the top layer's outputs land. Pure indexing, no weights and no autograd: the scan
itself is `pixelzoo.models.wavefront`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch


@dataclass
class Step:
    slots: int            # m: slots per group at this step (cells padded to the widest group)
    gather: torch.Tensor  # indices into the previous step's states: [left | in | channel]
    x_index: torch.Tensor  # layer-0 cells' rows in the hoisted input table (C * m,)


@dataclass
class Plan:
    steps: list[Step]
    final: torch.Tensor   # (C * Hp * Wp,) rows of the concatenated top-layer outputs
    x_all: torch.Tensor   # every step's x_index, concatenated: one gather before the loop
    x_sizes: list[int]    # C * m per step, to split that gather into per-step views
    # the hand-written scan keeps every step's states in one buffer: a zero row, then per step
    # its G*m states and a zero row; these index that buffer directly
    state_at: list[int]          # first row of each step's states
    gather_abs: list[torch.Tensor]  # each step's gather, as rows of the buffer
    final_abs: torch.Tensor      # (C * Hp * Wp,) top-layer rows of the buffer
    n_rows: int                  # rows of the buffer
    pad_rows: torch.Tensor       # its zero rows
    state_src: torch.Tensor      # (n_rows,) per row of the buffer, the output row it is
                                 # (C * Hp * Wp for the rest: lower layers, padding, zero rows)


def step_cells(t: int, c: int, l: int, layers: int, hp: int, wp: int) -> list[tuple[int, int]]:
    """(r, w) of group (c, l) at step t, by row: the cells with r · L + w = t - c · L - l."""
    k = t - c * layers - l
    if k < 0:
        return []
    lo = max(0, -((wp - 1 - k) // layers))  # ceil((k - wp + 1) / L)
    hi = min(hp - 1, k // layers)
    return [(r, k - r * layers) for r in range(lo, hi + 1)]


@lru_cache(maxsize=32)
def plan_arrays(channels: int, layers: int, hp: int, wp: int, directions: int = 1
                 ) -> tuple[list[tuple[int, np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """The index arrays of every step (see module docs); cached per shape, device-free.

    With `directions` > 1 the scans of several directions (independent, same shape, own
    weights) share every step: each layer then has one group per lane k = d * C + c, and a
    cell's channel neighbour is in its own direction. Returns the steps (slots, gather,
    x_index), the top-layer rows in the concatenation of the steps' top groups, and the same in
    the one-buffer layout; cells are numbered (lane, r, w).
    """
    lanes = directions * channels
    cl = lanes * layers
    n_steps = (hp + channels - 2) * layers + wp + layers - 1
    prev: dict[tuple[int, int, int, int], int] = {}
    prev_rows = 0
    ncells = lanes * hp * wp
    final = np.full(ncells, -1, dtype=np.int64)
    final_abs = np.full(ncells, -1, dtype=np.int64)
    top_offset = 0
    state_at = 1  # row 0 of the buffer is the zero row before step 0
    steps = []
    for t in range(n_steps):
        # groups are layer-major (g = l * lanes + k): layer 0 first, the top layer last; a
        # lane's cells depend on its channel only, not on its direction
        groups = [step_cells(t, k % channels, l, layers, hp, wp)
                  for l in range(layers) for k in range(lanes)]
        m = max(len(g) for g in groups)
        zero = prev_rows  # the appended zero row of the previous step's states
        left = np.full(cl * m, zero, dtype=np.int64)
        inp = np.full(cl * m, zero, dtype=np.int64)
        chan = np.full(lanes * m, zero, dtype=np.int64)
        x_index = np.zeros(lanes * m, dtype=np.int64)
        pos: dict[tuple[int, int, int, int], int] = {}
        for g, cells in enumerate(groups):
            l, k = divmod(g, lanes)
            for s, (r, w) in enumerate(cells):
                i = g * m + s
                pos[(k, r, w, l)] = i
                if w > 0:
                    left[i] = prev[(k, r, w - 1, l)]
                if l > 0:
                    inp[i] = prev[(k, r, w, l - 1)]
                else:
                    if r > 0:
                        inp[i] = prev[(k, r - 1, w, layers - 1)]
                    if k % channels > 0:
                        chan[i] = prev[(k - 1, r, w, layers - 1)]
                    x_index[i] = (k * hp + r) * wp + w
                if l == layers - 1:
                    final[(k * hp + r) * wp + w] = top_offset + k * m + s
                    final_abs[(k * hp + r) * wp + w] = state_at + i
        steps.append((m, np.concatenate([left, inp, chan]), x_index))
        top_offset += lanes * m
        state_at += cl * m + 1
        prev, prev_rows = pos, cl * m
    assert (final >= 0).all()
    return steps, final, final_abs


_PLANS: dict[tuple[Any, ...], Plan] = {}


def plan(channels: int, layers: int, hp: int, wp: int, device: torch.device,
         directions: int = 1) -> Plan:
    """The `Plan` of one shape on one device, built once and cached."""
    key = (channels, layers, hp, wp, str(device), directions)
    found = _PLANS.get(key)
    if found is None:
        arrays, final, final_abs = plan_arrays(channels, layers, hp, wp, directions)
        # one host-to-device copy for all steps; the steps hold views
        flat = torch.from_numpy(np.concatenate([np.concatenate([g, x]) for _, g, x in arrays]))
        flat = flat.to(device)
        steps, at = [], 0
        for m, g, x in arrays:
            steps.append(Step(m, flat[at:at + len(g)], flat[at + len(g):at + len(g) + len(x)]))
            at += len(g) + len(x)
        x_all = torch.cat([s.x_index for s in steps])
        groups = directions * channels * layers
        sizes = [groups * s.slots + 1 for s in steps]
        state_at = np.concatenate([[1], 1 + np.cumsum(sizes)]).tolist()
        prev_at = [0] + state_at[:-2]  # where each step's gather reads: the step before
        gather_abs = [s.gather + int(at) for s, at in zip(steps, prev_at)]
        pad_rows = torch.tensor([0] + [at + size - 1 for at, size in zip(state_at, sizes)])
        state_src = np.full(state_at[-1], len(final_abs), dtype=np.int64)
        state_src[final_abs] = np.arange(len(final_abs))
        found = Plan(steps, torch.from_numpy(final).to(device), x_all,
                     [len(s.x_index) for s in steps], state_at[:-1], gather_abs,
                     torch.from_numpy(final_abs).to(device), state_at[-1], pad_rows.to(device),
                     torch.from_numpy(state_src).to(device))
        _PLANS[key] = found
    return found
