"""The incremental hole sampler gives the slow sampler's samples, draw for draw.

Random weights (scaled up so the distributions are far from uniform), holes that differ between
the images of a batch and cover only some channels, temperature 1.0 and the seed's schedule,
1 and 3 channels, independent and conditional decoders, every built-in combiner.
"""

from __future__ import annotations

import pytest
import torch

from pixelzoo.config import spec
from pixelzoo.models.incremental import (sample_holes, sample_holes_incremental,
                                         supports_incremental)
from pixelzoo.models.rowrnn import RowRNN, RowRNNConfig
from pixelzoo.models.scan import select
from pixelzoo.models.sampling import TemperatureSchedule, sample_holes_slow
from pixelzoo.tokens import HOLE, add_start_tokens


def build(combiner: str, decoder: str, channels: int, directions: int = 1,
          impl: str = "reference") -> RowRNN:
    torch.manual_seed(0)
    cfg = RowRNNConfig(embed=6, hidden=8, layers=2, directions=directions,
                       combiner=spec(combiner), decoder=spec(decoder))
    model = RowRNN(cfg, channels=channels, height=6, width=7).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # sharper logits than the default init: samples depend on the model
    select(model, impl)
    return model


def holey(channels: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    tok = add_start_tokens(torch.randint(0, 256, (3, channels, 6, 7), generator=g))
    tok[0, :, 2:4, 1:5] = HOLE          # a block in image 0
    tok[1, -1, 3, 2:6] = HOLE           # only the last channel, in image 1
    tok[1, :, 5, 6] = HOLE              # the bottom-right corner
    tok[2, :, 1, 1] = HOLE              # the top-left pixel; image 2 has nothing else
    return tok


def both(model: RowRNN, tok: torch.Tensor, temperature) -> tuple[torch.Tensor, ...]:  # noqa: ANN001
    g1, g2 = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    slow = sample_holes_slow(model, tok, temperature, g1)
    fast = sample_holes_incremental(model, tok, temperature, g2)
    return slow, fast, torch.rand(1, generator=g1), torch.rand(1, generator=g2)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("decoder", ["independent", "conditional"])
@pytest.mark.parametrize("combiner", ["linear_add", "concat", "gated"])
def test_same_samples_as_slow(combiner: str, decoder: str, channels: int) -> None:
    model = build(combiner, decoder, channels)
    tok = holey(channels)
    slow, fast, next1, next2 = both(model, tok, 1.0)
    assert torch.equal(fast, slow)
    assert torch.equal(next1, next2), "both must draw the same number of random numbers"
    known = tok[:, :, 1:, 1:] != HOLE
    assert torch.equal(fast[known], tok[:, :, 1:, 1:][known])
    assert (fast < 256).all()
    # the samples really are random draws: another seed gives other values somewhere
    other = sample_holes_incremental(model, tok, 1.0, torch.Generator().manual_seed(12))
    assert not torch.equal(other, fast)


@pytest.mark.parametrize("decoder", ["independent", "conditional"])
def test_same_samples_with_the_seed_schedule(decoder: str) -> None:
    model = build("linear_add", decoder, 3)
    tok = holey(3)
    slow, fast, next1, next2 = both(model, tok, TemperatureSchedule(steps=5))
    assert torch.equal(fast, slow) and torch.equal(next1, next2)


def test_greedy_and_wavefront_forward() -> None:
    """T = 0 (argmax), with the slow sampler's forwards on the wavefront path."""
    model = build("linear_add", "conditional", 3, impl="wavefront")
    slow, fast, _, _ = both(model, holey(3), 0.0)
    assert torch.equal(fast, slow)


def test_four_directions_use_the_slow_sampler() -> None:
    model = build("linear_add", "conditional", 3, directions=4)
    ok, why = supports_incremental(model)
    assert not ok and "4 directions" in why
    with pytest.raises(ValueError, match="4 directions"):
        sample_holes_incremental(model, holey(3))
    tok = holey(3)
    out = sample_holes(model, tok, 1.0, torch.Generator().manual_seed(5))
    ref = sample_holes_slow(model, tok, 1.0, torch.Generator().manual_seed(5))
    assert torch.equal(out, ref)


def test_dispatch_picks_incremental(monkeypatch: pytest.MonkeyPatch) -> None:
    import pixelzoo.models.incremental as inc

    def refuse(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the slow sampler should not run for one direction")

    monkeypatch.setattr(inc, "sample_holes_slow", refuse)
    model = build("gated", "independent", 3)
    out = inc.sample_holes(model, holey(3), 1.0, torch.Generator().manual_seed(1))
    assert out.shape == (3, 3, 6, 7) and (out < 256).all()


def test_no_holes_is_a_no_op() -> None:
    model = build("linear_add", "independent", 1)
    tok = add_start_tokens(torch.randint(0, 256, (2, 1, 6, 7)))
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert torch.equal(sample_holes_incremental(model, tok, 1.0, g), tok[:, :, 1:, 1:])
    assert torch.equal(g.get_state(), state)
