"""`toon`'s drawing helpers: cv2 shapes at sub-pixel precision in a zoomed design space.

Shapes are designed in 500 units with the head about 200 wide and drawn zoomed about the centre
(`_px`); colours are plain int triples (`_c`), shaded (`_shade`) or mixed (`_mix`). Not for the
face's layout: that is `head`, `hair`, `features` and `face`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from pixelzoo.data.toon.palette import CANVAS


# cv2 draws at sub-pixel precision when coordinates are fixed-point with `shift` fractional bits.
# Without it, every vertex snaps to the pixel grid and small features (eyes, lashes) look jagged.
_SHIFT = 4
_ONE = 1 << _SHIFT
# Shapes are designed in a 500-unit space with the head about 200 units wide, then drawn zoomed
# about the centre so that the face fills the 300x300 centre crop as in the real set (hair on
# top and long hair below may run past the crop, as there).
_ZOOM = 1.15


def _px(pts: np.ndarray) -> np.ndarray:
    """Design coordinates -> canvas pixels (a zoom about the canvas centre)."""
    return (np.asarray(pts, dtype=np.float64) - CANVAS / 2) * _ZOOM + CANVAS / 2


def _fix(px: np.ndarray) -> np.ndarray:
    return np.round(px * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _fill(img: np.ndarray, pts: np.ndarray, color: Sequence[int]) -> None:
    cv2.fillPoly(img, [_fix(_px(pts))], _c(color), cv2.LINE_AA, _SHIFT)


def _stroke(img: np.ndarray, pts: np.ndarray, color: Sequence[int], thick: float,
            closed: bool = False) -> None:
    cv2.polylines(img, [_fix(_px(pts))], closed, _c(color), max(1, int(round(thick * _ZOOM))),
                     cv2.LINE_AA, _SHIFT)


def _disc(img: np.ndarray, x: float, y: float, r: float, color: Sequence[int]) -> None:
    (px, py), = _px([[x, y]])
    cv2.circle(img, (int(round(px * _ONE)), int(round(py * _ONE))),
                  int(round(r * _ZOOM * _ONE)), _c(color), -1, cv2.LINE_AA, _SHIFT)


def _c(color: Sequence[float]) -> tuple[int, int, int]:
    # cv2 rejects numpy scalars in colour tuples on some builds; plain ints always work.
    return (int(color[0]), int(color[1]), int(color[2]))


def _shade(color: Sequence[int], f: float) -> tuple[int, int, int]:
    return _c([min(255, max(0, round(v * f))) for v in color])


def _mix(a: Sequence[int], b: Sequence[int], t: float) -> tuple[int, int, int]:
    return _c([round(x * (1 - t) + y * t) for x, y in zip(a, b)])


def _spow(v: np.ndarray, p: float) -> np.ndarray:
    """Signed power: the superellipse's building block (p < 1 squarer, p > 1 pointier)."""
    return np.sign(v) * np.abs(v) ** p


def _ellipse(cx: float, cy: float, rx: float, ry: float, t0: float = 0.0,
             t1: float = 2 * math.pi, n: int = 48) -> np.ndarray:
    t = np.linspace(t0, t1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _place(local: np.ndarray, cx: float, cy: float, angle: float = 0.0,
           mirror: bool = False) -> np.ndarray:
    """Local shape coordinates -> canvas: optional left-right mirror, rotation, translation."""
    p = local.copy()
    if mirror:
        p[:, 0] = -p[:, 0]
    if angle:
        c, s = math.cos(angle), math.sin(angle)
        p = np.stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]], axis=1)
    p[:, 0] += cx
    p[:, 1] += cy
    return p


def _blend_poly(img: np.ndarray, pts: np.ndarray, color: Sequence[int], alpha: float) -> None:
    """Fill a polygon at partial opacity, touching only its bounding box (keeps tints cheap)."""
    px = _px(pts)
    x0, y0 = np.floor(px.min(0)).astype(int) - 2
    x1, y1 = np.ceil(px.max(0)).astype(int) + 3
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    over = roi.copy()
    cv2.fillPoly(over, [_fix(px - (x0, y0))], _c(color), cv2.LINE_AA, _SHIFT)
    cv2.addWeighted(over, alpha, roi, 1 - alpha, 0, dst=roi)



def _smooth(pts: np.ndarray, closed: bool = True, n: int = 8) -> np.ndarray:
    """Catmull-Rom through a few control points: blobby hair shapes without hand-made curves."""
    p = np.asarray(pts, dtype=np.float64)
    if closed:
        p = np.concatenate([p[-1:], p, p[:2]])
    else:
        p = np.concatenate([p[:1], p, p[-1:]])
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    return np.concatenate(out)
