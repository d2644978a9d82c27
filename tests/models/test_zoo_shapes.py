"""Every combiner x decoder x direction x channel count: shapes, parameter counts, gradients.

Parametrized over the registries, so an installed plugin is built in every combination too. The
parameter counts of the built-in parts are checked against formulas written out here, from the
design (a GRU layer with input I and hidden H has 3H(I + H) weights and 6H biases); for a part
this file does not know, the count is checked for consistency across directions instead.
"""

from __future__ import annotations

import pytest
import torch

from pixelzoo.engine.build import count_parameters
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.registry import COMBINERS, DECODERS
from pixelzoo.tokens import HOLE, VOCAB, add_start_tokens

E, HID, LAYERS, H, W = 6, 8, 2, 3, 4
VALUE_EMBED = 16  # conditional's default


def gru(i: int, h: int, layers: int) -> int:
    return sum(3 * h * ((i if k == 0 else h) + h) + 6 * h for k in range(layers))


COMBINER_PARAMS = {  # (combiner's own parameters, its GRU stack's parameters)
    "linear_add": lambda: (HID * E + E, gru(E, HID, LAYERS)),
    "concat": lambda: (0, gru(E + HID, HID, LAYERS)),
    # x -> 5 gates + candidate (with biases); h_left, h_above -> 5 gates; [r_l.l ; r_a.a] -> n
    "gated": lambda: (E * 6 * HID + 6 * HID + 2 * HID * 5 * HID + 2 * HID * HID,
                      gru(HID, HID, LAYERS - 1)),
}


def decoder_params(name: str, features: int, channels: int) -> int | None:
    if name == "independent":
        return channels * (features * VOCAB + VOCAB)
    if name == "conditional":
        heads = sum((features + c * VALUE_EMBED) * VOCAB + VOCAB for c in range(channels))
        return heads + (channels - 1) * VOCAB * VALUE_EMBED
    return None


def build(combiner: str, decoder: str, directions: int, channels: int) -> torch.nn.Module:
    recipe = recipe_from_dict({
        "dataset": {"type": "digits"},
        "model": {"type": "rowrnn", "embed": E, "hidden": HID, "layers": LAYERS,
                  "directions": directions, "combiner": {"type": combiner},
                  "decoder": {"type": decoder}},
        "task": {"type": "classification"},
    })
    torch.manual_seed(0)
    return build_part("models", recipe.data["model"], channels=channels, height=H, width=W)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("directions", [1, 4])
@pytest.mark.parametrize("decoder", DECODERS.names())
@pytest.mark.parametrize("combiner", COMBINERS.names())
def test_every_combination(combiner: str, decoder: str, directions: int, channels: int) -> None:
    model = build(combiner, decoder, directions, channels)
    gen = torch.Generator().manual_seed(1)
    imgs = torch.randint(0, 256, (2, channels, H, W), generator=gen)
    tokens = add_start_tokens(imgs)

    feats = model.features(tokens)
    assert feats.shape == (2, channels, H, W, HID * directions)
    logits = model(tokens, imgs)
    assert logits.shape == (2, channels, H, W, VOCAB) and logits.dtype == torch.float32
    (logits * torch.randn(logits.shape, generator=gen)).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"no gradient reaches {name}"
        assert torch.isfinite(p.grad).all(), name
    # each part of every scan direction and channel learns
    for d in range(directions):
        for c in range(channels):
            stack = model.stacks[d][c]
            for part in (stack.combiner, stack.gru, stack.adapter):
                if part is not None and any(True for _ in part.parameters()):
                    assert any(p.grad.any() for p in part.parameters()), (d, c, part)

    holey = tokens.clone()
    holey[:, :, 2, 2] = HOLE
    filled, dec_logits = model.decode(holey)
    assert filled.shape == (2, channels, H, W) and dec_logits.shape == logits.shape
    assert 0 <= int(filled[:, :, 1, 1].min()) and int(filled[:, :, 1, 1].max()) < 256

    n = count_parameters(model)
    embeddings = channels * (VOCAB * E + E)  # token tables and the row-position vectors
    adapters = (channels - 1) * (HID * E + E)
    dec = decoder_params(decoder, HID * directions, channels)
    if combiner in COMBINER_PARAMS and dec is not None:
        own, stack = COMBINER_PARAMS[combiner]()
        assert n == embeddings + directions * (channels * (own + stack) + adapters) + dec
    else:  # a plugin: directions multiply the scan stacks, nothing else
        one = build(combiner, decoder, 1, channels)
        per_direction = sum(count_parameters(s) for s in one.stacks[0])
        assert n == (count_parameters(one) - count_parameters(one.decoder)
                     + (directions - 1) * per_direction + count_parameters(model.decoder))


@pytest.mark.parametrize("combiner", COMBINERS.names())
def test_classifier_head_on_every_combiner(combiner: str) -> None:
    torch.manual_seed(0)
    model = build_part("models", {"type": "rowrnn", "embed": E, "hidden": HID, "layers": 1,
                                  "directions": 4, "combiner": {"type": combiner}},
                       channels=1, height=H, width=W, num_classes=10)
    assert model.decoder is None
    tokens = add_start_tokens(torch.randint(0, 256, (3, 1, H, W)))
    out = model(tokens)
    assert out.shape == (3, 10)
    out.sum().backward()
    assert model.head.weight.grad is not None and model.head.weight.grad.any()
