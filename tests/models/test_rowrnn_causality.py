"""Causality of the RowRNN zoo: what each logit may and may not depend on.

* directions 1: perturbing one pixel leaves the logits at every earlier raster position
  unchanged (and moves the pixel's own logits and later ones), for every registered combiner
  and both channel decoders;
* conditional decoder: green at (r, w) depends on red's token there, and blue's token never
  moves red's or green's logits;
* holes: the truth under a HOLE never reaches `decode`, for either decoder;
* 4 directions: a hole's prediction depends on the pixels right of it and below it, which a
  1-direction model cannot see.
"""

from __future__ import annotations

import pytest
import torch

from pixelzoo.models.sampling import sample_holes_slow
from pixelzoo.recipe import build_part
from pixelzoo.registry import COMBINERS
from pixelzoo.tokens import HOLE, add_start_tokens

H, W = 4, 5


def build(combiner: str = "linear_add", decoder: str = "independent", *, channels: int = 3,
          directions: int = 1, layers: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_part("models", {"type": "rowrnn", "embed": 6, "hidden": 8, "layers": layers,
                                  "directions": directions, "combiner": {"type": combiner},
                                  "decoder": {"type": decoder}},
                       channels=channels, height=H, width=W)
    return model.double().eval()


def images(channels: int = 3, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (2, channels, H, W), generator=gen)


@torch.no_grad()
def logits_of(model: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    """Training-mode logits (teacher forcing with the images themselves): (B, C, H, W, 258)."""
    return model(add_start_tokens(imgs), imgs)


def moved(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(C, H, W) bool: where any image's logits differ."""
    return (a - b).abs().amax(dim=(0, -1)) > 0


@pytest.mark.parametrize("decoder", ["independent", "conditional"])
@pytest.mark.parametrize("combiner", COMBINERS.names())
def test_one_direction_is_causal_in_raster_order(combiner: str, decoder: str) -> None:
    model = build(combiner, decoder)
    imgs = images()
    base = logits_of(model, imgs)
    raster = torch.arange(H * W).view(H, W)
    for c, r, w in [(0, 0, 0), (0, 1, 3), (1, 2, 0), (2, 3, 4), (0, 2, W - 1)]:
        other = imgs.clone()
        other[:, c, r, w] = (imgs[:, c, r, w] + 128) % 256
        changed = moved(logits_of(model, other), base)
        assert not changed[:, raster < r * W + w].any(), \
            f"{combiner}/{decoder}: pixel ({c},{r},{w}) moved earlier logits"
        assert not changed[:c].any(), "a later channel moved an earlier channel's logits"
        assert changed[c:, r, w].any() or changed[:, raster > r * W + w].any(), \
            "the perturbation moved nothing at or after the pixel: the check would be vacuous"
    # and a pixel really does reach later rows and later columns
    other = imgs.clone()
    other[:, 0, 0, 0] = (imgs[:, 0, 0, 0] + 128) % 256
    changed = moved(logits_of(model, other), base)
    assert changed[0, 0, 1:].any() and changed[0, 1:].any()


def test_conditional_green_depends_on_red_at_the_same_pixel() -> None:
    model = build(decoder="conditional")
    imgs = images()
    base = logits_of(model, imgs)
    r, w = 2, 3
    # Through the decoder alone: same inputs to the RowRNN, only red's teacher value differs.
    teacher = imgs.clone()
    teacher[:, 0, r, w] = (imgs[:, 0, r, w] + 77) % 256
    with torch.no_grad():
        decoder_only = model(add_start_tokens(imgs), teacher)
    changed = moved(decoder_only, base)
    assert changed[1, r, w] and changed[2, r, w]  # green and blue read emb(red)
    assert not changed[0].any()  # red's own logits never read red's value
    changed[:, r, w] = False
    assert not changed.any()  # and only at that pixel


def test_blue_never_moves_red_or_green() -> None:
    model = build(decoder="conditional")
    imgs = images()
    base = logits_of(model, imgs)
    for r, w in [(0, 0), (2, 3), (H - 1, W - 1)]:
        other = imgs.clone()
        other[:, 2, r, w] = (imgs[:, 2, r, w] + 128) % 256  # input and teacher both change
        changed = moved(logits_of(model, other), base)
        assert not changed[:2].any(), f"blue at ({r},{w}) moved red or green logits"
        assert changed[2, r, w]


def test_independent_green_ignores_red_value_at_inference() -> None:
    """The contrast to the conditional test: independent heads read no other channel's value."""
    model = build(decoder="independent")
    imgs = images()
    teacher = imgs.clone()
    teacher[:, 0, 2, 3] = (imgs[:, 0, 2, 3] + 77) % 256
    with torch.no_grad():
        a = model(add_start_tokens(imgs), imgs)
        b = model(add_start_tokens(imgs), teacher)
    assert torch.equal(a, b)


def holed(imgs: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    tokens = add_start_tokens(imgs)
    tokens[:, :, 1:, 1:][holes] = HOLE
    return tokens


@pytest.mark.parametrize("decoder", ["independent", "conditional"])
@pytest.mark.parametrize("directions", [1, 4])
def test_no_leakage_at_holes(decoder: str, directions: int) -> None:
    model = build(decoder=decoder, directions=directions)
    truth = images()
    holes = torch.zeros(truth.shape, dtype=torch.bool)
    holes[:, :, 1, 1:4] = True  # whole pixels
    holes[:, 1:, 2, 2] = True  # green and blue only: red is known there
    holes[:, 0, 3, 0] = True  # red only: green and blue are known
    other = truth.clone()
    other[holes] = (truth[holes] + 128) % 256  # a different hidden truth
    # The teacher-forced training pass does read the truth at holes (that is teacher forcing):
    # a conditional decoder's later channels move, so the comparison below could fail.
    with torch.no_grad():
        forced = moved(model(holed(truth, holes), truth), model(holed(other, holes), other))
    assert forced.any() == (decoder == "conditional")
    results = []
    for t in (truth, other, truth):
        with torch.no_grad():
            model(holed(t, holes), t)  # a training pass first: no state may carry over
            results.append(model.decode(holed(t, holes)))
    for filled, logits in results[1:]:
        assert torch.equal(filled, results[0][0]) and torch.equal(logits, results[0][1])
    filled = results[0][0]
    assert torch.equal(filled[~holes], truth[~holes])
    g1 = torch.Generator().manual_seed(5)
    g2 = torch.Generator().manual_seed(5)
    sampled = [sample_holes_slow(model, holed(t, holes), 1.0, g) for t, g in
               [(truth, g1), (other, g2)]]
    assert torch.equal(sampled[0], sampled[1])


@pytest.mark.parametrize("combiner", ["linear_add", "gated", "concat"])
def test_four_directions_see_right_and_below(combiner: str) -> None:
    r, w = 1, 2
    truth = images()
    holes = torch.zeros(truth.shape, dtype=torch.bool)
    holes[:, :, r, w] = True
    for directions, expect in [(4, True), (1, False)]:
        model = build(combiner, directions=directions)
        _, base = model.decode(holed(truth, holes))
        for dr, dw in [(0, 1), (1, 0), (2, 2)]:  # right, below, and below-right
            other = truth.clone()
            other[:, :, r + dr, w + dw] = (truth[:, :, r + dr, w + dw] + 128) % 256
            _, logits = model.decode(holed(other, holes))
            changed = bool((logits[:, :, r, w] - base[:, :, r, w]).abs().max() > 0)
            assert changed == expect, (directions, dr, dw)
