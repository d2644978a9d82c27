"""Conformance checks for whole models (a `pixelzoo.models` part): building from sizes, output
shapes, gradients and determinism.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pixelzoo.recipe import build_part
from pixelzoo.testing._kit import (_built_twice_agree, _check_config_class, _check_grads,
                                   _check_recipe, _Part, _quiet_torch, _random_tokens, _resolve)
from pixelzoo.tokens import VOCAB, strip_start_tokens


def check_model(model: str | type, params: dict[str, Any] | None = None, *,
                pixels: bool = False) -> None:
    """Check a model (see `pixelzoo.models.rowrnn.RowRNN` for the interface).

    Interface and Config; classifier logits (B, num_classes) from (B, C, H+1, W+1) token grids
    for 1 and 3 channels; with `pixels=True` also per-pixel logits (B, C, H, W, 258) when built
    with `num_classes=None`; gradients to every parameter; determinism given a seed; a
    `describe()` dict where present; and building from a recipe.
    """
    with _resolve("models", model, params) as p, _quiet_torch():
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, nn.Module), "interface",
                 "a model must be a torch.nn.Module")
        _check_config_class(p)
        with p.stage("determinism"):  # first: every later check compares two runs
            _model_determinism(p)
        gen = torch.Generator().manual_seed(10)
        for channels in (1, 3):
            with p.stage("interface"):
                net = p.build(channels=channels, height=8, width=8, num_classes=4).double()
            p.expect(isinstance(net, p.cls), "interface", "build_part did not return an instance")
            if hasattr(net, "describe"):
                with p.stage("interface"):
                    p.expect(isinstance(net.describe(), dict), "interface",
                             "describe() must return a dict")
            tokens = _random_tokens(2, channels, 8, 8, gen)
            with p.stage("shape"):
                out = net(tokens)
            p.expect(tuple(out.shape) == (2, 4), "shape",
                     f"class logits for tokens {tuple(tokens.shape)} have shape "
                     f"{tuple(out.shape)}, expected (2, 4)")
            with p.stage("gradient flow"):
                (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum().backward()
            _check_grads(p, net, "gradient flow", each_nonzero=False)
            p.expect(any(bool(q.grad.any()) for q in net.parameters() if q.grad is not None),
                     "gradient flow", "every gradient is zero")
        if pixels:
            with p.stage("shape"):
                net = p.build(channels=3, height=4, width=5, num_classes=None).double()
                tokens = _random_tokens(2, 3, 4, 5, gen)
                out = net(tokens, strip_start_tokens(tokens))
            p.expect(tuple(out.shape) == (2, 3, 4, 5, VOCAB), "shape",
                     f"pixel logits have shape {tuple(out.shape)}, expected (2, 3, 4, 5, {VOCAB})")
        with p.stage("recipe"):
            spec = _check_recipe(p, "model")
            built = build_part("models", spec, channels=1, height=8, width=8, num_classes=10)
        p.expect(isinstance(built, p.cls), "recipe", "the recipe built another model")


def _model_determinism(p: _Part) -> None:
    tokens = _random_tokens(2, 1, 8, 8, torch.Generator().manual_seed(11))
    _built_twice_agree(p, lambda: p.build(channels=1, height=8, width=8, num_classes=4), tokens)
