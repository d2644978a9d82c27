"""`rowconv_scribble`: wandering pen-scribble holes, a mask plugin from a third-party package.

It is here to show that every pixelzoo registry is open, not only combiners: this package adds a
hole mask through the `pixelzoo.masks` entry-point group exactly as it adds `row_conv`. Each
scribble is a random walk on the 8-neighbour pixel grid that mostly keeps its heading and now
and then turns by 45 degrees, bouncing off the image border, drawn with a square pen of `width`
pixels. Unlike straight brush strokes, scribbles curl and cross themselves, leaving thin holes
whose neighbours lie on every side. Holes cover every channel; walk lengths are fractions of the
image side, so the same settings mean the same thing at 28x28 and 36x36. The name carries the
package's short name as a prefix, so it can never clash with a future built-in `scribble`.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from pixelzoo.masks.base import MaskConfig, MaskGenerator

# The 8 headings in turning order, so that +-1 is a 45-degree turn.
HEADINGS = np.array([(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)])


class ScribbleConfig(MaskConfig):
    """Parameters of `rowconv_scribble`."""

    scribbles: tuple[int, int] = Field((1, 3), description="scribbles per image, [min, max]")
    length: tuple[float, float] = Field(
        (0.5, 1.5), description="steps per scribble as a fraction of the image side, [min, max]")
    width: int = Field(1, ge=1, description="pen width in pixels")
    turn: float = Field(0.3, ge=0.0, le=1.0, description="chance of a 45-degree turn each step")

    @model_validator(mode="after")
    def _ranges(self) -> ScribbleConfig:
        for name in ("scribbles", "length"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be [min, max] with 0 < min <= max, "
                                 f"got [{lo}, {hi}]")
        return self


class ScribbleMask(MaskGenerator):
    """Random pen scribbles over every channel (see module docs)."""

    Config = ScribbleConfig
    config: ScribbleConfig

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = self._empty(n)
        for i in range(n):
            canvas = self.draw(rng)
            out[i, :] = canvas
        return out

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One (H, W) boolean scribble canvas."""
        cfg = self.config
        H, W = self.height, self.width
        canvas = np.zeros((H, W), dtype=bool)
        pen = min(cfg.width, H, W)
        for _ in range(int(rng.integers(cfg.scribbles[0], cfg.scribbles[1] + 1))):
            y, x = int(rng.integers(0, H)), int(rng.integers(0, W))
            heading = int(rng.integers(0, 8))
            steps = max(1, round(rng.uniform(*cfg.length) * min(H, W)))
            for _ in range(steps + 1):
                top, left = min(max(y - pen // 2, 0), H - pen), min(max(x - pen // 2, 0), W - pen)
                canvas[top:top + pen, left:left + pen] = True
                if rng.random() < cfg.turn:
                    heading = (heading + (1 if rng.random() < 0.5 else -1)) % 8
                dy, dx = HEADINGS[heading]
                # bounce: a step that would leave the image flips that component of the heading
                if not 0 <= y + dy < H:
                    dy = -dy
                if not 0 <= x + dx < W:
                    dx = -dx
                heading = _heading_of(dy, dx)
                y, x = min(max(y + dy, 0), H - 1), min(max(x + dx, 0), W - 1)
        return canvas


def _heading_of(dy: int, dx: int) -> int:
    return int(np.flatnonzero((HEADINGS[:, 0] == dy) & (HEADINGS[:, 1] == dx))[0])
