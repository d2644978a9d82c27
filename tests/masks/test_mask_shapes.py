"""Every registered hole mask: shape, dtype, determinism, start tokens; and each mask's geometry."""

from __future__ import annotations

import numpy as np
import pytest

from pixelzoo.errors import PixelzooError
from pixelzoo.registry import MASKS
from pixelzoo.tokens import pad_mask

BUILTIN = ["seed_blocks", "boxes", "strokes", "center", "bottom_half", "demo_hole"]
RANDOM = {"seed_blocks", "boxes", "strokes"}


def build(name: str, channels: int = 3, side: int = 36, **kw: object):  # noqa: ANN201
    cls = MASKS.get(name)
    return cls(cls.Config(**kw), channels=channels, height=side, width=side)


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("channels, size", [(3, 36), (1, 28)])
def test_shape_determinism_and_start_tokens(name: str, channels: int, size: int) -> None:
    gen = build(name, channels, size)
    a = gen(6, np.random.default_rng(11))
    assert a.shape == (6, channels, size, size) and a.dtype == bool
    assert a.any(axis=(1, 2, 3)).all()  # every image gets a hole
    assert (a == gen(6, np.random.default_rng(11))).all()
    if name in RANDOM:
        assert not (a == gen(6, np.random.default_rng(12))).all()
    padded = pad_mask(a)
    assert not padded[..., 0, :].any() and not padded[..., :, 0].any()
    if name != "seed_blocks":  # the only mask with channel-level holes
        assert (a == a[:, :1]).all()


@pytest.mark.parametrize("name", BUILTIN)
def test_unknown_parameters_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="extra"):
        MASKS.get(name).Config(no_such_option=1)


def test_center() -> None:
    m = build("center")(1, np.random.default_rng(0))[0, 0]
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (9, 26, 9, 26) and m.sum() == 18 * 18


def test_bottom_half() -> None:
    m = build("bottom_half")(1, np.random.default_rng(0))[0, 0]
    assert m[18:].all() and not m[:18].any()


def test_demo_hole_is_the_seeds_box() -> None:
    m = build("demo_hole")(2, np.random.default_rng(0))
    expect = np.zeros((36, 36), bool)
    expect[15:20, 15:25] = True
    assert (m == expect).all()
    clipped = build("demo_hole", side=20)(1, np.random.default_rng(0))[0, 0]
    assert clipped[15:20, 15:20].all() and clipped.sum() == 25
    with pytest.raises(PixelzooError, match="outside the 8x8 image"):
        build("demo_hole", side=8)


def test_boxes_sizes_and_counts() -> None:
    m = build("boxes", count=(1, 1), size=(0.5, 0.5))(5, np.random.default_rng(0))[:, 0]
    for hole in m:
        rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
        assert len(rows) == 18 and len(cols) == 18 and hole.sum() == 324
    many = build("boxes", count=(4, 6), size=(0.05, 0.1))(50, np.random.default_rng(1))
    assert (many[:, 0].sum(axis=(1, 2)) <= 6 * 4 * 4).all()
    with pytest.raises(ValueError):
        build("boxes", count=(3, 1))


def test_stroke_presets_scale_with_thickness() -> None:
    rng = np.random.default_rng(0)
    cover = {p: build("strokes", preset=p)(64, rng)[:, 0].mean() for p in ("thin", "medium",
                                                                           "thick")}
    assert 0.0 < cover["thin"] < cover["medium"] < cover["thick"] < 0.7
    tiny = build("strokes", 1, 28, preset="thin")(8, np.random.default_rng(1))
    assert tiny.any(axis=(1, 2, 3)).all() and tiny.mean() < 0.3
    wide = build("strokes", width=(0.3, 0.3), strokes=(1, 1))
    assert wide.params()["width"] == (0.3, 0.3)
