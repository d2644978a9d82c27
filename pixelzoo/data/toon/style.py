"""`toon`'s `varied` style: any skin or hair colour, outlines, shading and coloured backgrounds.

The classic style draws every face flat-shaded, with no outline, on white, in palette colours a
model soon learns by heart. `varied` keeps the classic face's shapes and overrides its look: skin
in a human tone (jittered) or in any colour at all, hair, irises and glasses frames in any
colour, an ink outline round every shape (or none), soft or cel shading under a light from a
random side (or none), and a white, flat or two-colour gradient background. Each look is drawn
from its own seed stream (`face.look_rng`), apart from the face's, so face i of the varied style
is face i of the classic style in other clothes. Not for new shapes or layouts: those are the
classic generator's; another style of drawing altogether is `pixelzoo.data.lineart`.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import cv2
import numpy as np

from pixelzoo.data.toon.palette import SKIN_TONES

RGB = tuple[int, int, int]

# Extra per-face attributes of the varied style, as `ATTRIBUTES` has for the classic ones.
LOOK_ATTRIBUTES: dict[str, int] = {
    "skin_kind": 2,    # 0: a human tone, 1: any colour
    "background": 3,   # 0: white, 1: flat colour, 2: gradient
    "outline": 2,      # 0: none, 1: ink outlines
    "shading": 3,      # 0: flat, 1: soft light, 2: cel shadow
}
# How close to pure white a pixel must be to count as background when the background is
# replaced: the drawing's own colours are kept further from white than this (see sample_look).
_WHITE_TOLERANCE = 8


@dataclass(frozen=True)
class Look:
    """The colours and finish of one varied face."""

    skin: RGB
    hair: RGB
    iris: RGB
    frame: RGB
    skin_kind: int
    background: int
    backdrop: tuple[RGB, RGB]        # flat: the first; gradient: from the first to the second
    backdrop_angle: float
    outline: int
    ink: RGB
    ink_width: int                   # canvas pixels
    shading: int
    light_angle: float               # where the light comes from, radians
    shade_strength: float

    def attributes(self) -> dict[str, int]:
        return {"skin_kind": self.skin_kind, "background": self.background,
                "outline": self.outline, "shading": self.shading}


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (int(round(r * 255)), int(round(g * 255)), int(round(b * 255)))


def sample_look(rng: np.random.Generator, attrs: dict[str, int]) -> Look:
    """Draw one varied look; a human skin tone starts from the face's classic palette entry."""
    if rng.random() < 0.4:
        base = np.asarray(SKIN_TONES[attrs["face_color"]], dtype=np.float64)
        jitter = rng.uniform(-14, 14, size=3)
        # Kept away from pure white, so the skin is never taken for background.
        skin = tuple(int(v) for v in np.clip(np.rint(base + jitter), 0, 255 - 2 * _WHITE_TOLERANCE))
        skin_kind = 0
    else:
        skin = _hsv(rng.random(), rng.uniform(0.15, 1.0), rng.uniform(0.3, 1.0))
        skin_kind = 1
    hair = _hsv(rng.random(), rng.random(), rng.uniform(0.08, 0.9))
    iris = _hsv(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.85))
    frame = _hsv(rng.random(), rng.random(), rng.uniform(0.05, 0.9))
    u = rng.random()
    background = 0 if u < 0.4 else (1 if u < 0.7 else 2)
    backdrop = (_hsv(rng.random(), rng.uniform(0, 0.8), rng.uniform(0.3, 1.0)),
                _hsv(rng.random(), rng.uniform(0, 0.8), rng.uniform(0.3, 1.0)))
    backdrop_angle = rng.uniform(0, 2 * math.pi)
    outline = int(rng.random() < 0.5)
    ink = _hsv(rng.random(), rng.random(), rng.uniform(0.0, 0.3))
    ink_width = int(rng.integers(3, 8))
    u = rng.random()
    shading = 0 if u < 0.4 else (1 if u < 0.7 else 2)
    light_angle = rng.uniform(0, 2 * math.pi)
    shade_strength = rng.uniform(0.12, 0.32)
    return Look(skin, hair, iris, frame, skin_kind, background, backdrop, backdrop_angle,
                outline, ink, ink_width, shading, light_angle, shade_strength)


def _background_mask(img: np.ndarray) -> np.ndarray:
    """Pure-white pixels connected to the canvas corners: the background of a classic face."""
    h, w = img.shape[:2]
    mask = np.zeros((h + 2, w + 2), np.uint8)
    tol = (_WHITE_TOLERANCE,) * 3
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        if (img[y, x] >= 255 - _WHITE_TOLERANCE).all() and not mask[y + 1, x + 1]:
            cv2.floodFill(img, mask, (x, y), (0, 0, 0), tol, tol, flags)
    return mask[1:-1, 1:-1].astype(bool)


def _ramp(h: int, w: int, angle: float, centre: tuple[float, float], span: float) -> np.ndarray:
    """Signed distance along `angle` from `centre`, over `span`, clipped to [-1, 1]: (h, w)."""
    x = (np.arange(w, dtype=np.float32) - centre[0]) * (math.cos(angle) / span)
    y = (np.arange(h, dtype=np.float32) - centre[1]) * (math.sin(angle) / span)
    return np.clip(y[:, None] + x[None, :], -1.0, 1.0)


def finish_look(img: np.ndarray, look: Look, centre: tuple[float, float]) -> np.ndarray:
    """Shade, outline and set the background of a face drawn on white in `look`'s colours."""
    h, w = img.shape[:2]
    background = _background_mask(img)
    out = img
    if look.shading:
        # The light comes from `light_angle`: the far side of the figure darkens.
        away = -_ramp(h, w, look.light_angle, centre, 160.0)
        if look.shading == 1:
            gain = 1.0 - look.shade_strength * away
        else:
            gain = np.where(away > 0.25, np.float32(1.0 - look.shade_strength), np.float32(1.0))
        gain[background] = 1.0
        out = cv2.multiply(img, cv2.merge([gain, gain, gain]), dtype=cv2.CV_8U, scale=1.0)
    if look.background:
        if look.background == 1:
            backdrop = np.empty_like(img)
            backdrop[:] = look.backdrop[0]
        else:
            t = (_ramp(h, w, look.backdrop_angle, (w / 2, h / 2), w / 2) + 1) / 2
            a, b = (np.asarray(c, dtype=np.float32) for c in look.backdrop)
            backdrop = np.clip(a + (b - a) * t[:, :, None] + 0.5, 0, 255).astype(np.uint8)
        out = out.copy() if out is img else out
        cv2.copyTo(backdrop, background.view(np.uint8), out)
    if look.outline:
        # Outlines follow every colour edge of the flat drawing (taken before shading, so a cel
        # shadow's boundary is not inked), thickened to the ink's width.
        g = cv2.morphologyEx(img, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        grad = np.maximum(np.maximum(g[:, :, 0], g[:, :, 1]), g[:, :, 2])
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (look.ink_width,) * 2)
        edges = cv2.dilate((grad > 48).astype(np.uint8), kernel).astype(bool)
        out = out.copy() if out is img else out
        out[edges] = look.ink
    return out
