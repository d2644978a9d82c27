"""rowconv_scribble: the second plugin kind from this package (a hole mask)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pixelzoo.recipe import build_part
from pixelzoo.registry import MASKS
from pixelzoo_rowconv.scribble import ScribbleConfig, ScribbleMask


def build(channels: int = 3, side: int = 28, **params: object) -> ScribbleMask:
    return build_part("masks", {"type": "rowconv_scribble", **params}, channels=channels,
                      height=side, width=side)


def test_registered_from_this_distribution() -> None:
    assert MASKS.info("rowconv_scribble").dist == "pixelzoo-rowconv"
    assert MASKS.get("rowconv_scribble") is ScribbleMask


@pytest.mark.parametrize("channels, side", [(3, 36), (1, 28), (1, 5)])
def test_shape_coverage_and_determinism(channels: int, side: int) -> None:
    gen = build(channels, side)
    a = gen(8, np.random.default_rng(3))
    assert a.shape == (8, channels, side, side) and a.dtype == bool
    assert a.any(axis=(1, 2, 3)).all()  # every image gets a hole
    assert not a.all(axis=(1, 2, 3)).any() or side <= 5  # but not the whole image
    assert (a == a[:, :1]).all()  # holes cover every channel
    assert (a == gen(8, np.random.default_rng(3))).all()
    assert not (a == gen(8, np.random.default_rng(4))).all()


def test_a_scribble_is_a_connected_walk() -> None:
    """One scribble of pen width 1 is 8-connected: every hole pixel touches the next step."""
    gen = build(1, 24, scribbles=(1, 1), width=1)
    for canvas in gen(10, np.random.default_rng(0))[:, 0]:
        assert components(canvas) == 1


def components(canvas: np.ndarray) -> int:
    """Number of 8-connected groups of True pixels (a plain flood fill)."""
    seen = np.zeros_like(canvas)
    count = 0
    for start in zip(*np.nonzero(canvas)):
        if seen[start]:
            continue
        count += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if (0 <= ny < canvas.shape[0] and 0 <= nx < canvas.shape[1]
                            and canvas[ny, nx] and not seen[ny, nx]):
                        seen[ny, nx] = True
                        stack.append((ny, nx))
    return count


def test_width_and_length_scale_the_hole() -> None:
    rng = np.random.default_rng
    thin = build(1, 32, width=1, scribbles=(2, 2))(20, rng(0)).mean()
    thick = build(1, 32, width=3, scribbles=(2, 2))(20, rng(0)).mean()
    short = build(1, 32, length=(0.2, 0.2), scribbles=(2, 2))(20, rng(0)).mean()
    assert thick > 1.8 * thin and short < 0.6 * thin


def test_config_validation() -> None:
    with pytest.raises(ValidationError, match="scribbles must be"):
        ScribbleConfig(scribbles=(3, 1))
    with pytest.raises(ValidationError, match="length must be"):
        ScribbleConfig(length=(0.0, 1.0))
    with pytest.raises(ValidationError):
        ScribbleConfig(width=0)
    with pytest.raises(ValidationError, match="extra"):
        ScribbleConfig(pen=2)
