"""`strokes`: free-form brush strokes, the irregular holes of LaMa-style inpainting benchmarks.

Each stroke is a polyline of a few segments whose direction wanders, drawn with `cv2.line` (and
round joints) straight onto the H x W grid. Lengths and widths are fractions of the image side, so
the thin / medium / thick presets mean the same thing at 28x28 as at 36x36; widths never drop
below one pixel, which is what keeps `thin` visible on tiny images. Any preset value can be
overridden. Holes cover every channel.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import model_validator

from pixelzoo.masks.base import MaskConfig, MaskGenerator

Range = tuple[float, float]

# strokes per image, segments per stroke, width and segment length as fractions of the side.
PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    "thin": {"strokes": (3, 8), "vertices": (2, 5), "width": (0.02, 0.06), "length": (0.1, 0.3)},
    "medium": {"strokes": (2, 4), "vertices": (2, 5), "width": (0.06, 0.12),
               "length": (0.15, 0.4)},
    "thick": {"strokes": (1, 3), "vertices": (2, 4), "width": (0.12, 0.22),
              "length": (0.2, 0.5)},
}
MAX_TURN = math.pi / 3  # how far a stroke may bend at each joint


class StrokesMask(MaskGenerator):
    """Random free-form brush strokes, by preset."""

    class Config(MaskConfig):
        preset: Literal["thin", "medium", "thick"] = "medium"
        strokes: tuple[int, int] | None = None  # overrides, inclusive ranges
        vertices: tuple[int, int] | None = None
        width: Range | None = None
        length: Range | None = None

        @model_validator(mode="after")
        def _ranges(self) -> StrokesMask.Config:
            for name in ("strokes", "vertices", "width", "length"):
                r = getattr(self, name)
                if r is not None and not 0 < r[0] <= r[1]:
                    raise ValueError(f"{name} must be [min, max] with 0 < min <= max")
            return self

    config: Config

    def params(self) -> dict[str, tuple[float, float]]:
        """The preset, with any overrides applied."""
        p = dict(PRESETS[self.config.preset])
        for name in p:
            if getattr(self.config, name) is not None:
                p[name] = getattr(self.config, name)
        return p

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        import cv2

        H, W = self.height, self.width
        side = min(H, W)
        p = self.params()
        out = self._empty(n)
        canvas = np.zeros((H, W), np.uint8)
        for i in range(n):
            canvas[...] = 0
            for _ in range(int(rng.integers(p["strokes"][0], p["strokes"][1] + 1))):
                x, y = rng.uniform(0, W - 1), rng.uniform(0, H - 1)
                angle = rng.uniform(0, 2 * math.pi)
                width = max(1, round(rng.uniform(*p["width"]) * side))
                for _ in range(int(rng.integers(p["vertices"][0], p["vertices"][1] + 1))):
                    angle += rng.uniform(-MAX_TURN, MAX_TURN)
                    length = rng.uniform(*p["length"]) * side
                    nx = float(np.clip(x + length * math.cos(angle), 0, W - 1))
                    ny = float(np.clip(y + length * math.sin(angle), 0, H - 1))
                    a, b = (round(x), round(y)), (round(nx), round(ny))
                    cv2.line(canvas, a, b, 1, thickness=width, lineType=cv2.LINE_8)
                    if width > 2:  # round joints; a 1-2 px line needs none
                        cv2.circle(canvas, b, width // 2, 1, thickness=-1)
                    x, y = nx, ny
            out[i, :] = canvas.astype(bool)
        return out
