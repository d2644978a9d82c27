"""Conformance checks for channel decoders: shapes, channel causality, inference that never reads
the truth at a hole, gradients and determinism.
"""

from __future__ import annotations

from typing import Any

import torch

from pixelzoo.recipe import build_part
from pixelzoo.testing._kit import (SEED, _check_config_class, _check_grads, _check_recipe, _Part,
                                   _quiet_torch, _random_tokens, _recipe, _resolve, _same_state)
from pixelzoo.tokens import HOLE, VOCAB


def check_decoder(decoder: str | type, params: dict[str, Any] | None = None, *,
                  features: int = 6) -> None:
    """Check a channel decoder (see `pixelzoo.models.decoders.base`).

    Interface and Config; shapes of `forward`, `channel_logits` (any leading dims: the sampler
    calls it per pixel) and `decode` for 1 and 3 channels; gradients to every parameter and to
    the hidden states; channel causality (channel c's logits never depend on the tokens of
    channels >= c, nor on other pixels' tokens; a `conditional` decoder really conditions and an
    unconditional one ignores the teacher); `decode` keeps known values, fills holes with pixel
    values, gives the same logits as teacher forcing on its own choices and does not depend on an
    earlier training call; determinism given a seed; and building from a recipe.
    """
    from pixelzoo.models.decoders.base import ChannelDecoder

    with _resolve("decoders", decoder, params) as p, _quiet_torch():
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, ChannelDecoder), "interface",
                 "it must subclass pixelzoo.models.decoders.base.ChannelDecoder")
        p.expect(isinstance(getattr(p.cls, "conditional", None), bool), "interface",
                 "the class attribute `conditional` must be a bool")
        for method in ("forward", "channel_logits"):
            p.expect(getattr(p.cls, method) is not getattr(ChannelDecoder, method), "interface",
                     f"a decoder must implement `{method}`")
        _check_config_class(p)
        with p.stage("determinism"):  # first: every later check compares two runs
            _decoder_determinism(p, features)
        for channels in (1, 3):
            with p.stage("interface"):
                dec = p.build(features=features, channels=channels).double()
            p.expect(isinstance(dec, p.cls), "interface", "build_part did not return an instance")
            with p.stage("shape"):
                _decoder_shapes(p, dec, channels, features)
            with p.stage("causality"):
                _decoder_causality(p, dec, channels, features)
            with p.stage("no leakage"):
                _decoder_inference(p, dec, channels, features)
        with p.stage("gradient flow"):
            _decoder_gradients(p, features)
        with p.stage("recipe"):
            model = _check_recipe(p, "model.decoder")
            built = build_part("models", _recipe("model.decoder", model)["model"],
                               channels=3, height=3, width=3, num_classes=None)
            p.expect(isinstance(built.decoder, p.cls), "recipe",
                     "the model built from the recipe does not use this decoder")
            gen = torch.Generator().manual_seed(4)
            tokens = _random_tokens(2, 3, 3, 3, gen)
            tokens[:, :, 2, 2] = HOLE
            filled, logits = built.decode(tokens)
        p.expect(tuple(filled.shape) == (2, 3, 3, 3) and logits.shape[-1] == VOCAB, "recipe",
                 f"decode on the built model returned {tuple(filled.shape)}, "
                 f"{tuple(logits.shape)}")


def _decoder_inputs(channels: int, features: int, seed: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(2, channels, 3, 4, features, generator=gen, dtype=torch.float64)
    teacher = torch.randint(0, 256, (2, channels, 3, 4), generator=gen)
    return h, teacher, gen


def _decoder_shapes(p: _Part, dec: Any, channels: int, features: int) -> None:
    h, teacher, gen = _decoder_inputs(channels, features, 5)
    out = dec(h, teacher)
    want = (2, channels, 3, 4, VOCAB)
    p.expect(tuple(out.shape) == want, "shape",
             f"forward(h {tuple(h.shape)}, teacher {tuple(teacher.shape)}) returned "
             f"{tuple(out.shape)}, expected {want}")
    for lead in [(3,), (2, 3, 4)]:
        hv = torch.randn(*lead, features, generator=gen, dtype=torch.float64)
        prev: list[torch.Tensor] = []
        for c in range(channels):
            logits = dec.channel_logits(hv, c, prev)
            p.expect(tuple(logits.shape) == (*lead, VOCAB), "shape",
                     f"channel_logits(h {(*lead, features)}, {c}, ...) returned "
                     f"{tuple(logits.shape)}, expected {(*lead, VOCAB)}")
            prev.append(torch.randint(0, 256, lead, generator=gen))


def _decoder_causality(p: _Part, dec: Any, channels: int, features: int) -> None:
    h, teacher, _ = _decoder_inputs(channels, features, 6)
    with torch.no_grad():
        base = dec(h, teacher)
        for k in range(channels):
            other = teacher.clone()
            other[:, k, 1, 2] = (teacher[:, k, 1, 2] + 101) % 256
            moved = (dec(h, other) - base).abs().amax(dim=(0, -1)) > 0  # (C, H, W)
            p.expect(not moved[: k + 1].any(), "causality",
                     f"changing channel {k}'s true token changed the logits of channel(s) "
                     f"{sorted(set(torch.nonzero(moved[:k + 1])[:, 0].tolist()))}: channel c may "
                     "only condition on channels before it")
            elsewhere = moved.clone()
            elsewhere[:, 1, 2] = False
            p.expect(not elsewhere.any(), "causality",
                     "changing a token at one pixel changed the logits at other pixels")
            if not p.cls.conditional:
                p.expect(not moved.any(), "causality",
                         "an unconditional decoder (conditional = False) changed its logits "
                         "when the teacher tokens changed")
            elif k < channels - 1:
                p.expect(bool(moved[k + 1:, 1, 2].any()), "causality",
                         f"a conditional decoder's later channels ignore channel {k}'s value")


def _decoder_inference(p: _Part, dec: Any, channels: int, features: int) -> None:
    h, teacher, gen = _decoder_inputs(channels, features, 7)
    holes = torch.rand(teacher.shape, generator=gen) < 0.5
    holes[0, :, 0, 0] = True  # a whole pixel missing
    holes[1, 0, 0, 0], holes[1, -1, 0, 0] = False, True  # later channels only, where C > 1
    known = torch.where(holes, torch.full_like(teacher, HOLE), teacher)
    with torch.no_grad():
        filled, logits = dec.decode(h, known)
        p.expect(tuple(filled.shape) == tuple(known.shape) and
                 tuple(logits.shape) == (*known.shape, VOCAB), "shape",
                 f"decode returned {tuple(filled.shape)}, {tuple(logits.shape)}")
        p.expect(torch.equal(filled[~holes], known[~holes]), "no leakage",
                 "decode changed known (non-hole) values")
        p.expect(bool(((filled[holes] >= 0) & (filled[holes] < 256)).all()), "no leakage",
                 "decode filled a hole with a token that is not a pixel value (0..255)")
        forced = dec(h, filled)
        p.expect(torch.allclose(forced, logits, atol=1e-9), "no leakage",
                 "decode's logits differ from forward() teacher-forced on decode's own choices: "
                 "training and inference would disagree")
        # Any state kept from a training call would carry the truth into inference.
        dec(h, teacher)
        again = dec.decode(h, known)
        dec(h, (teacher + 1) % 256)
        third = dec.decode(h, known)
        p.expect(torch.equal(again[0], third[0]) and torch.equal(again[1], third[1]),
                 "no leakage", "decode's result depends on the teacher tokens of an earlier "
                               "forward() call")


def _decoder_gradients(p: _Part, features: int) -> None:
    dec = p.build(features=features, channels=3).double()
    h, teacher, gen = _decoder_inputs(3, features, 8)
    h.requires_grad_(True)
    out = dec(h, teacher)
    (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum().backward()
    _check_grads(p, dec, "gradient flow", each_nonzero=True)
    assert h.grad is not None
    for c in range(3):
        p.expect(bool(h.grad[:, c].any()), "gradient flow",
                 f"no gradient reaches channel {c}'s hidden states")


def _decoder_determinism(p: _Part, features: int) -> None:
    h, teacher, _ = _decoder_inputs(3, features, 9)
    outs, decs = [], []
    for _ in range(2):
        torch.manual_seed(SEED)
        dec = p.build(features=features, channels=3)
        torch.manual_seed(SEED + 1)
        outs.append(dec(h.float(), teacher))
        decs.append(dec)
    p.expect(_same_state(*decs), "determinism", "two builds under one seed differ")
    p.expect(torch.equal(outs[0], outs[1]), "determinism",
             "two forward passes under one seed differ")
