"""row_conv and rowconv_scribble from a recipe: validation messages and a real build.

Everything goes through pixelzoo's public recipe API, as a user's recipe would: the plugin's
parameters are checked by its own Config, errors carry their recipe path and name this
distribution, and the validated recipe builds a model that trains.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
import torch

from pixelzoo.errors import RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict
from pixelzoo.tokens import add_start_tokens

DIST = f"pixelzoo-rowconv {version('pixelzoo-rowconv')}"


def recipe(combiner: dict, **extra: object) -> dict:
    return {"dataset": {"type": "digits"},
            "model": {"type": "rowrnn", "embed": 8, "hidden": 8, "layers": 1,
                      "combiner": combiner},
            "task": {"type": "classification"}, **extra}


def test_defaults_are_filled_in() -> None:
    resolved = recipe_from_dict(recipe({"type": "row_conv"}))
    assert resolved.data["model"]["combiner"] == {"type": "row_conv", "k": 3, "bias": True}


def test_typo_names_the_plugin_and_its_distribution() -> None:
    with pytest.raises(RecipeError) as err:
        recipe_from_dict(recipe({"type": "row_conv", "kk": 5}))
    msg = str(err.value)
    assert "model.combiner.kk: unknown parameter for combiner 'row_conv'" in msg
    assert f"(from {DIST})" in msg and "did you mean 'k'?" in msg


def test_even_kernel_is_reported_at_its_recipe_path() -> None:
    with pytest.raises(RecipeError) as err:
        recipe_from_dict(recipe({"type": "row_conv", "k": 4}))
    msg = str(err.value)
    assert "model.combiner.k:" in msg and "k must be an odd kernel width >= 1" in msg
    assert "try 3 or 5" in msg and "(got 4)" in msg


def test_every_problem_is_reported_at_once() -> None:
    bad = recipe({"type": "row_conv", "k": 2}, mask={"type": "rowconv_scribble", "width": 0})
    with pytest.raises(RecipeError) as err:
        recipe_from_dict(bad)
    assert err.value.problems and len(err.value.problems) == 2
    assert any(p.startswith("model.combiner.k:") for p in err.value.problems)
    assert any(p.startswith("mask.width:") and "greater than or equal to 1" in p
               for p in err.value.problems)


def test_recipe_builds_a_model_that_learns_through_the_convolution() -> None:
    resolved = recipe_from_dict(recipe({"type": "row_conv", "k": 5}))
    torch.manual_seed(0)
    model = build_part("models", resolved.data["model"], channels=1, height=8, width=8,
                       num_classes=10)
    convs = [s.combiner.conv for stacks in model.stacks for s in stacks]
    assert convs and all(c.kernel_size == (5,) for c in convs)
    images = torch.randint(0, 17, (4, 1, 8, 8))
    labels = torch.randint(0, 10, (4,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(model(add_start_tokens(images)), labels)
        opt.zero_grad()
        loss.backward()
        assert all(c.weight.grad is not None and c.weight.grad.abs().sum() > 0 for c in convs)
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]  # it can fit four images: the gradients are real
