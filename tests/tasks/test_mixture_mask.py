"""`mixture` masks: each image's holes from one component, validated like any recipe part."""

from __future__ import annotations

import numpy as np
import pytest

from pixelzoo.errors import RecipeError
from pixelzoo.recipe import build_part, recipe_from_dict


def make(**kw):
    spec = {"type": "mixture", "masks": [{"type": "center", "size": 0.5},
                                         {"type": "bottom_half"}], **kw}
    return build_part("masks", spec, channels=3, height=8, width=8)


def test_each_image_takes_one_component() -> None:
    gen = make()
    out = gen(200, np.random.default_rng(0))
    center = np.zeros((8, 8), bool)
    center[2:6, 2:6] = True
    bottom = np.zeros((8, 8), bool)
    bottom[4:] = True
    is_center = (out[:, 0] == center).all(axis=(1, 2))
    is_bottom = (out[:, 0] == bottom).all(axis=(1, 2))
    assert (is_center ^ is_bottom).all()
    assert 70 < is_center.sum() < 130  # equal weights by default


def test_weights_and_determinism() -> None:
    gen = make(weights=[0.0, 1.0])
    out = gen(20, np.random.default_rng(1))
    assert out[:, :, 4:].all() and not out[:, :, :4].any()
    a = make()(10, np.random.default_rng(7))
    b = make()(10, np.random.default_rng(7))
    assert (a == b).all()


def test_epochs_and_final_level_reach_the_components() -> None:
    gen = build_part("masks", {"type": "mixture", "masks": [{"type": "seed_blocks"}]},
                     channels=3, height=36, width=36)
    gen.set_epoch(3)
    assert gen.parts[0].epoch == 3
    gen.final_level()
    assert gen.parts[0].level() == (777, 6)


def test_components_are_validated_with_their_own_configs() -> None:
    recipe = {"dataset": {"type": "digits"}, "model": {"type": "rowrnn"},
              "task": {"type": "infill"},
              "mask": {"type": "mixture", "masks": [{"type": "boxes", "cont": [1, 2]}],
                       "weights": [1.0]}}
    with pytest.raises(RecipeError, match=r"mask\.masks\[0\]\.cont.*did you mean 'count'"):
        recipe_from_dict(recipe)
    recipe["mask"] = {"type": "mixture", "masks": [{"type": "boxes"}], "weights": [1.0, 2.0]}
    with pytest.raises(RecipeError, match="weights has 2 entries for 1 masks"):
        recipe_from_dict(recipe)
