"""The streamed samplers (`iter_*`, what `pixelzoo serve`'s watch mode shows) give exactly the
non-streamed samples, one hole pixel per step, in scan order."""

from __future__ import annotations

import pytest
import torch

from pixelzoo.models.incremental import iter_holes_incremental, iter_sample_holes, sample_holes
from pixelzoo.models.sampling import TemperatureSchedule, apply_steps, iter_holes_slow
from pixelzoo.tokens import HOLE

from test_incremental import build, holey


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(5)


@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("temperature", [1.0, TemperatureSchedule(steps=4)])
def test_streamed_equals_sample_holes(directions: int, temperature) -> None:  # noqa: ANN001
    model = build("linear_add", "conditional", 3, directions=directions)
    tok = holey(3)
    steps = list(iter_sample_holes(model, tok, temperature, _gen()))
    whole = sample_holes(model, tok, temperature, _gen())
    assert torch.equal(apply_steps(tok, iter(steps)), whole)
    # one step per pixel that is a hole in any image, in raster (scan) order
    holes = (tok[:, :, 1:, 1:] == HOLE).any(1).any(0)
    positions = [(r, w) for r, w, _ in steps]
    assert positions == sorted(positions) and len(positions) == int(holes.sum())
    assert all(holes[r, w] for r, w in positions)
    # each step's values are the final image's values at that pixel
    for r, w, values in steps:
        assert torch.equal(values, whole[:, :, r, w])


def test_incremental_and_slow_streams_agree_step_by_step() -> None:
    model = build("gated", "independent", 1)
    tok = holey(1)
    fast = list(iter_holes_incremental(model, tok, 1.0, _gen()))
    slow = list(iter_holes_slow(model, tok, 1.0, _gen()))
    assert [(r, w) for r, w, _ in fast] == [(r, w) for r, w, _ in slow]
    assert all(torch.equal(a[2], b[2]) for a, b in zip(fast, slow))


def test_incremental_stream_refuses_a_model_it_cannot_run_at_once() -> None:
    with pytest.raises(ValueError, match="4 directions"):
        iter_holes_incremental(build("linear_add", "independent", 3, directions=4), holey(3))
