"""`lineart`: cartoon faces drawn by rules of their own, an out-of-distribution set for `toon`.

An evaluation set first: faces that `toon`'s rules did not draw, to tell whether an infill model
continues what the context shows or recalls `toon`'s palette and layout. This renderer shares no
drawing code and no palette with `toon`. It differs in:

* **line art**: most faces are outlined in thick ink (any dark colour), as in a comic, and their
  features are strokes (arcs, dots, crosses) rather than filled shapes;
* **fills**: flat, a two-colour linear gradient, or a cel shadow, where `toon` is flat only;
* **colours**: skin, hair and hats in any hue, including ones no human has (green, blue,
  purple), sampled continuously rather than from a list; backgrounds white, flat or gradient;
* **shapes and layouts**: round, egg, box, hexagon, blob and shield heads, tilted and off centre,
  with one, two or three eyes at any height and spacing, ears, hats, spikes and antennae.

Faces are drawn at 500x500 with cv2 (anti-aliased, sub-pixel) and preprocessed exactly like the
Cartoon Set (`preprocess_rgb`: centre crop 300, area resize to `size`), so the images have
`toon`'s geometry: (3, 36, 36) by default, (3, 37, 37) tokens. Image i of a split depends only on
(seed, split, i). Not for training a model meant for `lineart` itself (nothing stops it, but the
point of the set is that the model has not seen its style). `python -m pixelzoo.data.sheets`
redraws its contact sheet in docs/.
"""

from __future__ import annotations

import colorsys
import math
from pathlib import Path

import cv2
import numpy as np
from pydantic import Field

from pixelzoo.data.base import Dataset, DataSplits, Geometry
from pixelzoo.data.cache import source_digest
from pixelzoo.data.generated import GeneratedConfig, image_rng, load_generated
from pixelzoo.data.preprocess import preprocess_rgb

SIDE = 500      # canvas, as the Cartoon Set's images
CROP = 300      # the Cartoon Set preprocessing's centre crop
_BITS = 3       # fractional bits of cv2's fixed-point coordinates
_SCALE = 1 << _BITS

Color = tuple[int, int, int]


# --- small helpers (this module's own: nothing here comes from `toon`) -------------------------
def _rgb(h: float, s: float, v: float) -> Color:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def _darker(c: Color, f: float) -> Color:
    return (round(c[0] * f), round(c[1] * f), round(c[2] * f))


def _pts(xy: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(xy, dtype=np.float64) * _SCALE).astype(np.int32).reshape(-1, 1, 2)


def _poly(img: np.ndarray, xy: np.ndarray, color: Color) -> None:
    cv2.fillPoly(img, [_pts(xy)], color, cv2.LINE_AA, _BITS)


def _line(img: np.ndarray, xy: np.ndarray, color: Color, width: float,
          closed: bool = False) -> None:
    cv2.polylines(img, [_pts(xy)], closed, color, max(1, int(round(width))), cv2.LINE_AA, _BITS)


def _dot(img: np.ndarray, x: float, y: float, r: float, color: Color) -> None:
    cv2.circle(img, (int(round(x * _SCALE)), int(round(y * _SCALE))),
               max(1, int(round(r * _SCALE))), color, -1, cv2.LINE_AA, _BITS)


def _oval(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 2 * math.pi,
          n: int = 40) -> np.ndarray:
    t = np.linspace(a0, a1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _rotate(xy: np.ndarray, cx: float, cy: float, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    d = xy - (cx, cy)
    return np.stack([cx + c * d[:, 0] - s * d[:, 1], cy + s * d[:, 0] + c * d[:, 1]], axis=1)


def _mask_of(xy: np.ndarray) -> np.ndarray:
    m = np.zeros((SIDE, SIDE), np.uint8)
    cv2.fillPoly(m, [_pts(xy)], 255, cv2.LINE_AA, _BITS)
    return m


def _composite(img: np.ndarray, layer: np.ndarray, mask: np.ndarray) -> None:
    """img = img * (1 - mask) + layer * mask, with an anti-aliased uint8 mask (in place)."""
    x, y, w, h = cv2.boundingRect(mask)  # only where the mask is: most of the canvas is not
    if w == 0 or h == 0:
        return
    a = mask[y:y + h, x:x + w].astype(np.float32)[:, :, None] / 255.0
    roi = img[y:y + h, x:x + w]
    roi[:] = np.rint(roi * (1 - a) + layer[y:y + h, x:x + w] * a).astype(np.uint8)


def _linear_gradient(a: Color, b: Color, angle: float) -> np.ndarray:
    """A (500, 500, 3) uint8 ramp from colour `a` to `b` along `angle`."""
    # Made at a fifth of the size and enlarged bilinearly: a linear ramp loses nothing by it,
    # and the full-size arithmetic would cost more than drawing the face.
    k = SIDE // 5
    x = (np.arange(k, dtype=np.float32) + 0.5) * 5 - SIDE / 2
    t = (x[None, :] * math.cos(angle) + x[:, None] * math.sin(angle)) / (SIDE * 0.45)
    t = np.clip((t + 1) / 2, 0, 1)[:, :, None]
    small = np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t
    return cv2.resize(np.rint(small).astype(np.uint8), (SIDE, SIDE),
                      interpolation=cv2.INTER_LINEAR)


# --- one face ---------------------------------------------------------------------------------
HEAD_SHAPES = ("round", "egg", "box", "hexagon", "blob", "shield")
EYE_STYLES = ("ring", "dot", "arc", "cross", "visor", "big")
MOUTH_STYLES = ("arc", "line", "open", "zigzag", "o", "wave")


def _head_outline(rng: np.random.Generator, shape: str, cx: float, cy: float, rx: float,
                  ry: float) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, 120, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    if shape == "round":
        x, y = rx * c, ry * s
    elif shape == "egg":    # wider at the top or at the bottom
        k = rng.choice([-1.0, 1.0]) * rng.uniform(0.12, 0.25)
        x, y = rx * c * (1 + k * s), ry * s
    elif shape == "box":    # a superellipse: a rounded square
        p = rng.uniform(0.25, 0.45)
        x, y = rx * np.sign(c) * np.abs(c) ** p, ry * np.sign(s) * np.abs(s) ** p
    elif shape == "hexagon":
        k = int(rng.choice([5, 6, 8]))
        a = np.linspace(0, 2 * math.pi, k, endpoint=False) + rng.uniform(0, math.pi)
        return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)
    elif shape == "blob":   # a circle with a few random bumps
        r = 1 + sum(rng.uniform(0.02, 0.08) * np.cos(m * t + rng.uniform(0, 6))
                    for m in (2, 3, 5))
        x, y = rx * r * c, ry * r * s
    else:                   # shield: flat top, pointed chin
        y = ry * s
        x = rx * c * (1 - 0.55 * np.clip(s, 0, 1) ** 1.5)
    return np.stack([cx + x, cy + y], axis=1)


def _draw_eye(img: np.ndarray, rng: np.random.Generator, style: str, x: float, y: float,
              r: float, ink: Color, iris: Color, width: float) -> None:
    if style == "ring":
        _dot(img, x, y, r, (255, 255, 255))
        _line(img, _oval(x, y, r, r), ink, width * 0.6, closed=True)
        gx, gy = rng.uniform(-0.4, 0.4) * r, rng.uniform(-0.3, 0.3) * r
        _dot(img, x + gx, y + gy, r * 0.45, ink)
    elif style == "dot":
        _dot(img, x, y, r * 0.55, ink)
    elif style == "arc":    # closed eyes: a happy ^ or a sleepy u
        up = rng.random() < 0.5
        a0, a1 = (math.pi, 2 * math.pi) if up else (0.0, math.pi)
        _line(img, _oval(x, y + (r * 0.3 if up else -r * 0.3), r, r * 0.7, a0, a1, 16), ink,
              width * 0.7)
    elif style == "cross":
        d = r * 0.7
        _line(img, np.array([[x - d, y - d], [x + d, y + d]]), ink, width * 0.6)
        _line(img, np.array([[x - d, y + d], [x + d, y - d]]), ink, width * 0.6)
    else:                   # big: a tall eye with a coloured iris and two highlights
        _poly(img, _oval(x, y, r * 0.8, r * 1.2), (255, 255, 255))
        _poly(img, _oval(x, y + r * 0.2, r * 0.65, r * 0.9), iris)
        _dot(img, x, y + r * 0.3, r * 0.35, ink)
        _dot(img, x - r * 0.25, y - r * 0.15, r * 0.22, (255, 255, 255))
        _dot(img, x + r * 0.2, y + r * 0.55, r * 0.1, (255, 255, 255))
        _line(img, _oval(x, y, r * 0.8, r * 1.2), ink, width * 0.5, closed=True)


def _draw_mouth(img: np.ndarray, rng: np.random.Generator, style: str, x: float, y: float,
                w: float, ink: Color, width: float) -> None:
    if style == "arc":
        bend = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.6) * w
        t = np.linspace(-1, 1, 20)
        _line(img, np.stack([x + w * t, y + bend * (1 - t ** 2)], 1), ink, width * 0.7)
    elif style == "line":
        _line(img, np.array([[x - w, y], [x + w, y + rng.uniform(-0.15, 0.15) * w]]), ink,
              width * 0.7)
    elif style == "open":   # a D: dark inside, a tongue, an ink rim
        shape = _oval(x, y, w, w * rng.uniform(0.4, 0.8), 0, math.pi, 24)
        _poly(img, shape, (40, 10, 20))
        _poly(img, _oval(x, y + w * 0.35, w * 0.5, w * 0.2, math.pi, 2 * math.pi, 12),
              _rgb(rng.uniform(0.9, 1.0), 0.6, 0.9))
        _line(img, shape, ink, width * 0.6, closed=True)
    elif style == "zigzag":
        k = int(rng.integers(4, 8))
        xs = np.linspace(x - w, x + w, k)
        ys = y + np.where(np.arange(k) % 2 == 0, -0.15, 0.15) * w
        _line(img, np.stack([xs, ys], 1), ink, width * 0.6)
    elif style == "o":
        r = w * rng.uniform(0.25, 0.4)
        _dot(img, x, y, r, (40, 10, 20))
        _line(img, _oval(x, y, r, r), ink, width * 0.6, closed=True)
    else:                   # wave
        t = np.linspace(-1, 1, 30)
        _line(img, np.stack([x + w * t, y + 0.12 * w * np.sin(t * 3 * math.pi)], 1), ink,
              width * 0.6)


def draw_lineart_face(rng: np.random.Generator) -> np.ndarray:
    """One face: a (500, 500, 3) uint8 RGB image."""
    # Background: white, one colour, or a gradient.
    kind = rng.choice(3, p=[0.35, 0.35, 0.3])
    bg1 = _rgb(rng.random(), rng.uniform(0, 0.7), rng.uniform(0.25, 1.0))
    bg2 = _rgb(rng.random(), rng.uniform(0, 0.7), rng.uniform(0.25, 1.0))
    if kind == 0:
        img = np.full((SIDE, SIDE, 3), 255, np.uint8)
    elif kind == 1:
        img = np.empty((SIDE, SIDE, 3), np.uint8)
        img[:] = bg1
    else:
        img = _linear_gradient(bg1, bg2, rng.uniform(0, 2 * math.pi))

    ink = _rgb(rng.random(), rng.random(), rng.uniform(0.0, 0.25))
    outline = rng.random() < 0.85
    width = rng.uniform(4, 11)
    skin = _rgb(rng.random(), rng.uniform(0.2, 1.0), rng.uniform(0.35, 1.0))
    hair = _rgb(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.95))

    # The head: a shape, a size, a place near the centre of the crop, a tilt.
    shape = HEAD_SHAPES[int(rng.integers(len(HEAD_SHAPES)))]
    rx = rng.uniform(78, 120)
    ry = rx * rng.uniform(0.85, 1.3)
    cx = SIDE / 2 + rng.uniform(-22, 22)
    cy = SIDE / 2 + rng.uniform(-12, 22)
    tilt = rng.uniform(-0.2, 0.2)
    head = _rotate(_head_outline(rng, shape, cx, cy, rx, ry), cx, cy, tilt)

    # Ears behind the head.
    if rng.random() < 0.45:
        er = rng.uniform(0.18, 0.3) * ry
        for side in (-1, 1):
            ex = cx + side * rx * rng.uniform(0.92, 1.05)
            ear = _rotate(_oval(ex, cy, er * 0.7, er), cx, cy, tilt)
            _poly(img, ear, skin)
            if outline:
                _line(img, ear, ink, width * 0.8, closed=True)

    # The face's fill: flat, a gradient, or a cel shadow.
    mask = _mask_of(head)
    fill = int(rng.choice(3, p=[0.35, 0.35, 0.3]))
    if fill == 0:
        layer = np.empty_like(img)
        layer[:] = skin
    elif fill == 1:
        other = _rgb(*(np.array(colorsys.rgb_to_hsv(*[v / 255 for v in skin]))
                       + [rng.uniform(-0.15, 0.15), 0, -rng.uniform(0.15, 0.4)]))
        layer = _linear_gradient(skin, other, rng.uniform(0, 2 * math.pi))
    else:
        layer = np.empty_like(img)
        layer[:] = skin
        a = rng.uniform(0, 2 * math.pi)
        shifted = head + np.array([math.cos(a), math.sin(a)]) * rx * rng.uniform(0.25, 0.5)
        shadow = cv2.subtract(mask, _mask_of(shifted))
        layer[shadow > 127] = _darker(skin, rng.uniform(0.6, 0.8))
    _composite(img, layer, mask)

    # Hair or a hat over the top of the head.
    top = cy - ry
    crown = rng.choice(5, p=[0.25, 0.25, 0.2, 0.15, 0.15])
    if crown == 1:      # a cap of hair: the head's outline clipped to its top third
        band = _rotate(np.array([[cx - 2 * rx, top - 40], [cx + 2 * rx, top - 40],
                                 [cx + 2 * rx, top + ry * rng.uniform(0.45, 0.75)],
                                 [cx - 2 * rx, top + ry * rng.uniform(0.45, 0.75)]]),
                       cx, cy, tilt)
        cap = cv2.bitwise_and(_mask_of(_rotate(_head_outline(rng, "round", cx, cy - 6, rx * 1.05,
                                                             ry * 1.05), cx, cy, tilt)),
                              _mask_of(band))
        layer = np.empty_like(img)
        layer[:] = hair
        _composite(img, layer, cap)
    elif crown == 2:    # spikes
        k = int(rng.integers(4, 9))
        xs = np.linspace(cx - rx * 0.8, cx + rx * 0.8, k)
        for x in xs:
            h = rng.uniform(30, 60)
            base_y = top + ry * 0.25 * ((x - cx) / rx) ** 2
            tri = _rotate(np.array([[x - 18, base_y + 14], [x + rng.uniform(-8, 8), base_y - h],
                                    [x + 18, base_y + 14]]), cx, cy, tilt)
            _poly(img, tri, hair)
            if outline:
                _line(img, tri, ink, width * 0.6, closed=True)
    elif crown == 3:    # a hat: brim and crown
        hat = _rgb(rng.random(), rng.uniform(0.4, 1.0), rng.uniform(0.3, 1.0))
        brim_y = top + ry * rng.uniform(0.15, 0.35)
        crown_h = rng.uniform(50, 90)
        body = _rotate(np.array([[cx - rx * 0.7, brim_y], [cx - rx * 0.6, brim_y - crown_h],
                                 [cx + rx * 0.6, brim_y - crown_h], [cx + rx * 0.7, brim_y]]),
                       cx, cy, tilt)
        brim = _rotate(_oval(cx, brim_y, rx * 1.15, 12), cx, cy, tilt)
        for part in (body, brim):
            _poly(img, part, hat)
            if outline:
                _line(img, part, ink, width * 0.7, closed=True)
    elif crown == 4:    # antennae
        for side in (-1, 1):
            x0 = cx + side * rx * 0.35
            tip = (x0 + side * rng.uniform(10, 40), top - rng.uniform(40, 80))
            stalk = _rotate(np.array([[x0, top + 10], tip]), cx, cy, tilt)
            _line(img, stalk, ink, width * 0.6)
            _dot(img, stalk[1, 0], stalk[1, 1], rng.uniform(8, 14), hair)

    if outline:
        _line(img, head, ink, width, closed=True)

    # Eyes: one, two or three, at any height and spacing.
    n_eyes = int(rng.choice([1, 2, 3], p=[0.12, 0.76, 0.12]))
    eye_style = EYE_STYLES[int(rng.integers(len(EYE_STYLES)))]
    ey = cy - ry + 2 * ry * rng.uniform(0.32, 0.55)
    er = rng.uniform(0.12, 0.22) * rx
    spread = rng.uniform(0.3, 0.55) * rx
    iris = _rgb(rng.random(), rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.9))
    xs = {1: [cx], 2: [cx - spread, cx + spread], 3: [cx - spread * 1.2, cx, cx + spread * 1.2]}
    centres = _rotate(np.array([[x, ey] for x in xs[n_eyes]]), cx, cy, tilt)
    if eye_style == "visor":
        w = spread + er * 1.6
        band = _rotate(np.array([[cx - w, ey - er], [cx + w, ey - er], [cx + w, ey + er],
                                 [cx - w, ey + er]]), cx, cy, tilt)
        _poly(img, band, _rgb(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.1, 0.8)))
        _line(img, band, ink, width * 0.6, closed=True)
    else:
        for x, y in centres:
            _draw_eye(img, rng, eye_style, x, y, er, ink, iris, width)
    if rng.random() < 0.5:  # brows
        lift = rng.uniform(-0.3, 0.3)
        for (x, y), side in zip(centres, (-1, 1, 1)):
            brow = _rotate(np.array([[x - er, y - er * 1.9 + side * lift * er],
                                     [x + er, y - er * 1.9 - side * lift * er]]), x, y, 0.0)
            _line(img, brow, ink, width * 0.8)

    # Nose and mouth.
    ny = ey + (cy + ry - ey) * rng.uniform(0.25, 0.4)
    nose = int(rng.integers(4))
    nose_at = _rotate(np.array([[cx, ny]]), cx, cy, tilt)[0]
    if nose == 1:
        _line(img, np.array([nose_at + (0, -18), nose_at + (-10, 8), nose_at + (8, 8)]), ink,
              width * 0.5, closed=True)
    elif nose == 2:
        _line(img, np.array([nose_at + (0, -22), nose_at + (0, 6), nose_at + (12, 6)]), ink,
              width * 0.5)
    elif nose == 3:
        _dot(img, nose_at[0], nose_at[1], rng.uniform(6, 14), _darker(skin, 0.75))
    my = ey + (cy + ry - ey) * rng.uniform(0.55, 0.75)
    mouth_at = _rotate(np.array([[cx, my]]), cx, cy, tilt)[0]
    _draw_mouth(img, rng, MOUTH_STYLES[int(rng.integers(len(MOUTH_STYLES)))], mouth_at[0],
                mouth_at[1], rng.uniform(0.25, 0.6) * rx, ink, width)

    # Cheeks and freckles.
    if rng.random() < 0.35:
        blush = np.zeros_like(img)
        cheek_mask = np.zeros((SIDE, SIDE), np.uint8)
        for side in (-1, 1):
            c = _rotate(np.array([[cx + side * spread * 1.1, (ny + my) / 2]]), cx, cy, tilt)[0]
            cv2.ellipse(cheek_mask, (int(c[0]), int(c[1])), (int(er * 1.1), int(er * 0.6)), 0, 0,
                        360, 110, -1, cv2.LINE_AA)
        blush[:] = _rgb(rng.uniform(0.9, 1.05), rng.uniform(0.4, 0.8), 1.0)
        _composite(img, blush, cheek_mask)
    if rng.random() < 0.2:
        for _ in range(int(rng.integers(5, 12))):
            fx = cx + rng.uniform(-1, 1) * spread * 1.3
            fy = (ny + my) / 2 + rng.uniform(-0.5, 0.5) * er * 2
            _dot(img, fx, fy, rng.uniform(2, 4), _darker(skin, 0.6))
    return img


def render_lineart(n: int, seed: int, split: str = "test", start: int = 0) -> np.ndarray:
    """Faces start..start+n-1 of `split` at full size: (n, 500, 500, 3) uint8 RGB."""
    return np.stack([draw_lineart_face(image_rng("lineart", seed, split, start + k))
                     for k in range(n)]) if n else np.empty((0, SIDE, SIDE, 3), np.uint8)


# --- the dataset ------------------------------------------------------------------------------
class LineArtDataset(Dataset):
    """Outlined line-art faces in other shapes, layouts and colours than `toon`'s."""

    class Config(GeneratedConfig):
        crop: int | None = Field(CROP, ge=1, le=SIDE,
                                 description="centre crop before resizing (the Cartoon Set's)")

    config: Config

    def geometry(self) -> Geometry:
        return Geometry(3, self.config.size, self.config.size, None)

    def _make(self, split: str, n: int) -> np.ndarray:
        c = self.config
        out = np.empty((n, 3, c.size, c.size), np.uint8)
        for k in range(n):
            face = draw_lineart_face(image_rng("lineart", c.seed, split, k))
            out[k] = preprocess_rgb(face, crop=c.crop, size=c.size)
        return out

    def load(self) -> DataSplits:
        c = self.config
        return load_generated("lineart", c, self._make, {
            "code": source_digest(Path(__file__), Path(__file__).with_name("generated.py")),
            "size": c.size, "crop": c.crop})
