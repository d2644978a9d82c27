"""`toon`'s facial features: eyes, brows, nose, mouth, facial hair and glasses."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pixelzoo.data.toon.draw import (_blend_poly, _disc, _ellipse, _fill, _mix, _place, _shade,
                                     _smooth, _spow, _stroke)
from pixelzoo.data.toon.head import _Head
from pixelzoo.data.toon.palette import (_INK, _MOUTH_DARK, _MOUTH_INSIDE, _TINT_ALPHA, _TINTS,
                                        _TONGUE, EYE_COLORS, FACIAL_HAIR, GLASSES,
                                        GLASSES_COLORS, WHITE)


def _eye_local(shape: int, rx: float, ry: float, n: int = 36) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    if shape == 1:      # almond: pointed corners, fuller upper lid
        x, y = rx * _spow(c, 1.5), ry * s * np.where(s < 0, 1.0, 0.8)
    elif shape == 2:    # narrow
        x, y = rx * _spow(c, 1.3), ry * s
    else:
        x, y = rx * c, ry * s
    return np.stack([x, y], 1)


def _draw_eyes(img: np.ndarray, rng: np.random.Generator, head: _Head, attrs: dict[str, int],
               skin: Sequence[int], iris: Sequence[int] | None = None
               ) -> list[tuple[float, float, float, float]]:
    """Both eyes; returns (x, y, rx, ry) for each, which brows and glasses are placed around.

    `iris` overrides the palette's eye colour (the `varied` style)."""
    shape = attrs["eye_shape"]
    rx = {0: 18, 1: 21, 2: 21, 3: 23, 4: 7}[shape] + rng.uniform(-2, 3)
    ry = {0: 17, 1: 12, 2: 8, 3: 19, 4: 10}[shape] + rng.uniform(-1.5, 2)
    slant = (-0.16, 0.0, 0.16)[attrs["eye_slant"]] + rng.uniform(-0.04, 0.04)
    iris_c = EYE_COLORS[attrs["eye_color"]] if iris is None else iris
    lid = attrs["eye_lid"]
    gaze = rng.uniform(-0.2, 0.2) * rx
    out = []
    for side in (-1, 1):
        ex, ey = head.cx + side * head.eye_dx, head.eye_y
        # A positive slant lifts the outer corners; mirror so both eyes tilt symmetrically.
        ang = -side * slant
        if shape == 4:  # dot eyes: a dark oval and a glint
            _fill(img, _place(_eye_local(0, rx, ry), ex, ey, ang), _INK)
            _disc(img, ex - 2, ey - ry * 0.4, 2.2, WHITE)
            out.append((ex, ey, rx + 8, ry + 8))
            continue
        sclera = _place(_eye_local(shape, rx, ry), ex, ey, ang, mirror=side < 0)
        _fill(img, sclera, WHITE)
        ir = min(ry * 0.92, rx * 0.62)
        ix = ex + gaze
        _disc(img, ix, ey + 1, ir, iris_c)
        _disc(img, ix, ey + 1, ir * 0.5, (18, 16, 18))
        _disc(img, ix + ir * 0.35, ey - ir * 0.35, max(1.6, ir * 0.22), WHITE)
        # The iris disc can overhang narrow eyes: repaint skin outside the sclera's outline
        # with a thick ring rather than clipping (one cheap draw call instead of a mask).
        _stroke(img, _place(_eye_local(shape, rx + 5, ry + 5), ex, ey, ang, mirror=side < 0),
                skin, 10, closed=True)
        if lid:
            cut = -ry + ry * (0.55 if lid == 1 else 0.95)
            loc = _eye_local(shape, rx + 1.5, ry + 1.5, 48)
            top = loc[loc[:, 1] < cut]
            top = top[np.argsort(top[:, 0])]
            edge = np.stack([top[::-1, 0], np.full(len(top), cut) + 2 * np.cos(
                np.linspace(-1.2, 1.2, len(top)))], 1)
            lid_poly = _place(np.concatenate([top, edge]), ex, ey, ang, mirror=side < 0)
            _fill(img, lid_poly, _shade(skin, 0.88))
            _stroke(img, _place(edge, ex, ey, ang, mirror=side < 0), _INK, 2)
        # Lash line: bold along the top, fine along the bottom.
        up = _eye_local(shape, rx, ry, 37)
        upper = up[(np.arange(len(up)) >= 18)]
        upper = np.concatenate([upper, up[:1]])
        _stroke(img, _place(upper, ex, ey, ang, mirror=side < 0), _INK, 3)
        _stroke(img, _place(up[:19], ex, ey, ang, mirror=side < 0), _shade(skin, 0.6), 1)
        if attrs["eye_lashes"]:
            base = np.array([[rx * 0.95, -ry * 0.25], [rx * 0.78, -ry * 0.7]])
            tips = base + np.array([[9, -6], [8, -10]])
            for b, tp in zip(base, tips):
                _stroke(img, _place(np.stack([b, tp]), ex, ey, ang, mirror=side < 0), _INK, 2)
        out.append((ex, ey, rx, ry))
    return out


def _draw_brows(img: np.ndarray, rng: np.random.Generator, head: _Head, attrs: dict[str, int],
                eyes: list[tuple[float, float, float, float]], color: Sequence[int]) -> None:
    shape = attrs["eyebrow_shape"]
    thick = (5, 8, 12)[attrs["eyebrow_thickness"]] + rng.uniform(-1, 1)
    if shape == 5:
        thick += 4
    gap = (10, 17, 25)[attrs["eye_eyebrow_distance"]] + rng.uniform(-2, 2)
    width = rng.uniform(1.2, 1.5)
    u = np.linspace(0, 1, 16)               # 0 at the inner end, 1 at the outer end
    if shape == 0:
        arch = 2 * np.sin(np.pi * u)
    elif shape == 1:
        arch = 9 * np.sin(np.pi * u ** 0.8)
    elif shape == 2:
        arch = 10 * np.minimum(u / 0.6, (1 - u) / 0.4)
    elif shape == 3:
        arch = 5 * np.sin(np.pi * u) - 5 * u
    elif shape == 4:
        arch = 6 * np.sin(np.pi * u) + 8 * (1 - u)
    else:
        arch = 1.5 * np.sin(np.pi * u)
    for (ex, ey, rx, ry), side in zip(eyes, (-1, 1)):
        x0 = ex - side * rx * 0.75
        x = x0 + side * u * rx * 2 * width * 0.85
        y = ey - ry - gap - arch
        # A tapered ribbon: full thickness at the inner end, thinning towards the tail.
        w = thick * (1.0 - 0.55 * u ** 1.5) / 2
        poly = np.concatenate([np.stack([x, y - w], 1), np.stack([x, y + w], 1)[::-1]])
        _fill(img, poly, color)


def _draw_nose(img: np.ndarray, rng: np.random.Generator, head: _Head, kind: int,
               skin: Sequence[int]) -> None:
    x, y = head.cx, head.nose_y
    dark = _shade(skin, 0.75)
    w = rng.uniform(10, 16)
    if kind == 0:       # a soft arc under the tip
        _stroke(img, _ellipse(x, y - 4, w, 8, 0.3, math.pi - 0.3, 16), dark, 3)
    elif kind == 1:     # button
        _disc(img, x, y, w * 0.75, _shade(skin, 0.86))
    elif kind == 2:     # hook: bridge line ending in a curl
        pts = np.array([[x - 3, y - 34], [x - 1, y - 14], [x + 6, y - 2], [x + 2, y + 5],
                        [x - 7, y + 3]])
        _stroke(img, _smooth(pts, closed=False, n=6), dark, 3)
    else:               # a small triangle of shade
        _fill(img, np.array([[x, y - 22], [x + w * 0.75, y + 4], [x - w * 0.75, y + 4]]),
              _shade(skin, 0.86))


def _draw_mouth(img: np.ndarray, rng: np.random.Generator, head: _Head, kind: int) -> None:
    x, y = head.cx, head.mouth_y
    w = rng.uniform(22, 34)
    if kind == 0:       # closed smile
        _stroke(img, _ellipse(x, y - 8, w, 12, 0.35, math.pi - 0.35, 20), _MOUTH_DARK, 4)
    elif kind in (1, 5):  # open grin / laugh: dark mouth, teeth, tongue for the laugh
        d = rng.uniform(13, 19) if kind == 1 else rng.uniform(20, 26)
        mouth = _ellipse(x, y - 4, w, d, 0, math.pi, 24)
        _fill(img, mouth, _MOUTH_INSIDE)
        tooth = d * 0.35
        k = math.asin(min(1.0, tooth / d))
        arc = _ellipse(x, y - 4, w, d, 0, k, 6)
        teeth = np.concatenate([arc, arc[::-1] * [-1, 1] + [2 * x, 0]])
        _fill(img, teeth, WHITE)
        if kind == 5:
            _fill(img, _ellipse(x, y - 4 + d, w * 0.5, d * 0.45, math.pi, 2 * math.pi, 16),
                  _TONGUE)
        _stroke(img, mouth, _MOUTH_DARK, 2, closed=True)
    elif kind == 2:     # neutral
        _stroke(img, np.array([[x - w * 0.8, y], [x, y + 1.5], [x + w * 0.8, y]]), _MOUTH_DARK,
                4)
    elif kind == 3:     # small "o"
        _fill(img, _ellipse(x, y, 8, 10), _MOUTH_INSIDE)
        _stroke(img, _ellipse(x, y, 8, 10), _MOUTH_DARK, 2, closed=True)
    else:               # smirk: one corner up
        s = 1 if rng.random() < 0.5 else -1
        pts = np.array([[x - s * w * 0.8, y + 1], [x, y + 3], [x + s * w * 0.7, y - 2],
                        [x + s * w * 0.95, y - 8]])
        _stroke(img, _smooth(pts, closed=False, n=6), _MOUTH_DARK, 4)


def _draw_facial_hair(img: np.ndarray, rng: np.random.Generator, head: _Head, kind: int,
                      color: Sequence[int], skin: Sequence[int], before_mouth: bool) -> None:
    """Beards go under the mouth, moustaches over it; called once for each layer."""
    name = FACIAL_HAIR[kind]
    h = head
    if name == "none":
        return
    if before_mouth and name in ("stubble", "full_beard", "chin_strap", "goatee",
                                 "circle_beard"):
        c = _mix(skin, color, 0.3) if name == "stubble" else color
        if name in ("stubble", "full_beard", "chin_strap"):
            top = h.eye_y + (h.nose_y - h.eye_y) * (0.55 if name != "chin_strap" else 0.3)
            lower = h.outline[h.outline[:, 1] > top]
            lower = lower[np.argsort(-np.arctan2(lower[:, 1] - h.cy, lower[:, 0] - h.cx))]
            # Beards sit proud of the jaw; stubble stays on it.
            grow = 0 if name == "stubble" else (rng.uniform(6, 14) if name == "full_beard" else 3)
            d = lower - (h.cx, h.cy)
            scale = 1 + grow / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1)
            lower = (h.cx, h.cy) + d * scale[:, None]
            lower[:, 1] += grow * 0.8 * ((lower[:, 1] - top) / (h.chin - top)) ** 2
            if name == "chin_strap":
                inner = (h.cx, h.cy) + (lower - (h.cx, h.cy)) * 0.9
                inner[:, 1] -= 3
                poly = np.concatenate([lower, inner[::-1]])
            else:
                # The upper edge dips under the nose and around the mouth, like a real beard.
                hw = h.half_width(top)
                lip_y = (h.nose_y + h.mouth_y) / 2 + 4
                upper = np.array([[h.cx + hw, top], [h.cx + hw * 0.55, top + 14],
                                  [h.cx + 26, lip_y - 4], [h.cx, lip_y - 8],
                                  [h.cx - 26, lip_y - 4], [h.cx - hw * 0.55, top + 14],
                                  [h.cx - hw, top]])
                # lower runs left to right, upper right to left: one simple loop.
                poly = np.concatenate([lower, _smooth(upper, closed=False, n=5)])
            _fill(img, poly, c)
        elif name == "goatee":
            y0 = h.mouth_y + 10
            w = rng.uniform(20, 26)
            pts = np.array([[h.cx - w, y0 + 4], [h.cx, y0 - 2], [h.cx + w, y0 + 4],
                            [h.cx + w * 0.9, h.chin - 4], [h.cx, h.chin + 12],
                            [h.cx - w * 0.9, h.chin - 4]])
            _fill(img, _smooth(pts, closed=True, n=5), c)
        else:  # circle beard: ring round the mouth down to the chin
            w = rng.uniform(36, 44)
            pts = np.array([[h.cx - w * 0.8, h.mouth_y - 16], [h.cx, h.mouth_y - 26],
                            [h.cx + w * 0.8, h.mouth_y - 16], [h.cx + w, h.mouth_y + 14],
                            [h.cx + 20, h.chin + 6], [h.cx - 20, h.chin + 6],
                            [h.cx - w, h.mouth_y + 14]])
            _fill(img, _smooth(pts, closed=True, n=6), c)
    if not before_mouth and name in ("moustache", "handlebar", "full_beard", "circle_beard"):
        y = (h.nose_y + h.mouth_y) / 2 + 2
        w = rng.uniform(24, 32)
        if name == "handlebar":
            pts = np.array([[h.cx, y - 8], [h.cx + w * 0.7, y - 4], [h.cx + w * 1.2, y + 2],
                            [h.cx + w * 1.35, y - 10], [h.cx + w * 1.1, y + 8],
                            [h.cx + w * 0.6, y + 6], [h.cx, y + 2]])
        else:
            pts = np.array([[h.cx, y - 9], [h.cx + w * 0.75, y - 6], [h.cx + w * 1.05, y + 10],
                            [h.cx + w * 0.6, y + 6], [h.cx, y + 4]])
        left = pts[::-1] * [-1, 1] + [2 * h.cx, 0]
        _fill(img, _smooth(np.concatenate([pts, left[1:-1]]), closed=True, n=5), color)


def _draw_glasses(img: np.ndarray, rng: np.random.Generator, head: _Head, attrs: dict[str, int],
                  eyes: list[tuple[float, float, float, float]],
                  frame: Sequence[int] | None = None) -> None:
    kind = GLASSES[attrs["glasses"]]
    frame = GLASSES_COLORS[attrs["glasses_color"]] if frame is None else frame
    tint = _TINTS[attrs["glasses_tint"]]
    alpha = _TINT_ALPHA[attrs["glasses_tint"]]
    thick = rng.uniform(3, 6)
    lw = max(28.0, max(e[2] for e in eyes) + rng.uniform(8, 14))
    lh = max(22.0, max(e[3] for e in eyes) + rng.uniform(8, 12))
    # Lenses can't overlap across the nose: cap their width by the eye spacing.
    lw = min(lw, head.eye_dx - 6)
    t = np.linspace(0, 2 * math.pi, 40, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    if kind == "round":
        r = min(lw, lh + 4)
        local = np.stack([r * c, r * s], 1)
    elif kind in ("rectangle", "browline"):
        local = np.stack([lw * _spow(c, 0.3), lh * 0.78 * _spow(s, 0.3)], 1)
    elif kind == "oval":
        local = np.stack([lw * c, lh * 0.78 * s], 1)
    elif kind == "cat_eye":
        x, y = lw * _spow(c, 0.5), lh * 0.8 * _spow(s, 0.7)
        # Outer top corner swept up into a point.
        y = y - 16 * np.clip(c, 0, 1) ** 4 * (s < 0.2)
        x = x + 6 * np.clip(c, 0, 1) ** 4 * (s < 0)
        local = np.stack([x, y], 1)
    else:  # aviator: flat top, deep teardrop bottom sagging towards the nose
        x = lw * _spow(c, 0.7)
        y = np.where(s < 0, lh * 0.6 * _spow(s, 0.5), lh * 1.15 * s)
        x = x - 5 * np.clip(s, 0, 1) * np.clip(-c, 0, 1)
        local = np.stack([x, y], 1)
    ends = []
    for (ex, ey, _, _), side in zip(eyes, (-1, 1)):
        lens = _place(local, ex, ey + 2, 0.0, mirror=side < 0)
        if tint is not None:
            _blend_poly(img, lens, tint, alpha)
        if kind == "browline":
            top = lens[lens[:, 1] < ey + 2]
            top = top[np.argsort(top[:, 0])]
            _stroke(img, top, frame, thick + 3)
            _stroke(img, lens, frame, 2, closed=True)
        else:
            _stroke(img, lens, frame, thick, closed=True)
        inner = lens[np.argmin(side * lens[:, 0])]
        outer = lens[np.argmax(side * lens[:, 0])]
        ends.append((inner, outer))
        # The arm: from the lens' outer edge back to the side of the head.
        hw = float(head.half_width(ey))
        _stroke(img, np.array([[outer[0], ey - lh * 0.25],
                               [head.cx + side * (hw + 2), ey - lh * 0.35]]), frame, thick)
    (li, _), (ri, _) = ends
    bridge = _smooth(np.array([[li[0], ey - 2], [head.cx, ey - 10], [ri[0], ey - 2]]),
                     closed=False, n=6)
    _stroke(img, bridge, frame, thick)
