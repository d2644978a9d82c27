"""Conformance checks for hole-mask generators: shapes, dtype, determinism given a generator, and
building from a recipe under `task.eval.masks`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelzoo.errors import RecipeError
from pixelzoo.recipe import recipe_from_dict
from pixelzoo.testing._kit import SEED, _check_config_class, _check_recipe, _recipe, _resolve


def check_mask(mask: str | type, params: dict[str, Any] | None = None, *,
               geometries: tuple[tuple[int, int, int], ...] = ((3, 36, 36), (1, 28, 28))
               ) -> None:
    """Check a hole-mask generator (see `pixelzoo.masks.base`).

    Interface and Config; boolean (n, C, H, W) hole maps for each (C, H, W) in `geometries`
    (by default the cartoon and MNIST shapes pixelzoo's recipes use); determinism
    given the numpy generator; the curriculum hooks (`set_epoch`, `final_level`); and building
    from a recipe, both as the training mask and as an evaluation mask.
    """
    from pixelzoo.masks.base import MaskGenerator

    with _resolve("masks", mask, params) as p:
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, MaskGenerator), "interface",
                 "it must subclass pixelzoo.masks.base.MaskGenerator")
        _check_config_class(p)
        for channels, height, width in geometries:
            with p.stage("interface"):
                gen = p.build(channels=channels, height=height, width=width)
            p.expect(isinstance(gen, p.cls), "interface", "build_part did not return an instance")
            for epoch in (0, 5):
                with p.stage("shape"):
                    gen.set_epoch(epoch)
                    a = gen(4, np.random.default_rng(SEED))
                p.expect(isinstance(a, np.ndarray) and a.dtype == bool, "shape",
                         f"a mask must be a bool numpy array, got {type(a).__name__} "
                         f"{getattr(a, 'dtype', '')}")
                p.expect(a.shape == (4, channels, height, width), "shape",
                         f"4 masks for ({channels}, {height}, {width}) images have shape "
                         f"{a.shape}")
                with p.stage("determinism"):
                    b = gen(4, np.random.default_rng(SEED))
                p.expect(np.array_equal(a, b), "determinism",
                         "two calls with equally seeded generators differ")
            with p.stage("shape"):
                gen.final_level()
                a = gen(2, np.random.default_rng(SEED))
            p.expect(a.shape == (2, channels, height, width), "shape",
                     f"after final_level() masks have shape {a.shape}")
        with p.stage("recipe"):
            _check_recipe(p, "mask")
        data = _recipe("mask", p.spec())
        data["task"] = {"type": "infill", "eval": {"masks": [p.spec()]}}
        try:
            recipe_from_dict(data, name="kit")
        except RecipeError as exc:
            raise p.fail("recipe", f"the mask does not validate under task.eval.masks (the "
                                   f"infill task's evaluation sets): {exc}") from exc
