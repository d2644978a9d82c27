"""`toon`: a built-in procedural cartoon-face generator, an offline stand-in for the Cartoon Set.

The Cartoon Set (500x500 PNG faces on a white background) is what the seed trained its infill
model on, but it is a download; `toon` draws faces of the same kind with cv2 so that every recipe,
test and benchmark runs offline. Each face is a flat-shaded head centred on a white canvas, with
random face shape, chin length, skin tone, hair style and colour, eyes (shape, colour, lids,
lashes, slant), eyebrows, nose, mouth, facial hair and glasses. Images are rendered at 500x500
and then take the same preprocessing path as `cartoonset` (`preprocess_rgb`: centre crop 300,
area resize to 36), and the discrete choices behind each face are returned as per-image attribute
labels, like the Cartoon Set's CSVs. Image i of a seed depends only on (seed, split, i), never on
how many images are generated; train, val and test draw from separate seed streams, so the test
faces are faces the training set never contained. Run `python -m pixelzoo.data.toon --sheet
docs/toon_contact_sheet.png` to redraw the contact sheets in `docs/`.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field, model_validator

from pixelzoo.data.base import Dataset, DatasetConfig, DataSplits, ImageSet
from pixelzoo.data.cache import CACHE_ENV, ArrayCache, make_key
from pixelzoo.data.preprocess import preprocess_rgb
from pixelzoo.data.splits import SPLITS, check_fractions

CANVAS = 500
WHITE = (255, 255, 255)

# cv2 draws at sub-pixel precision when coordinates are fixed-point with `shift` fractional bits.
# Without it, every vertex snaps to the pixel grid and small features (eyes, lashes) look jagged.
_SHIFT = 4
_ONE = 1 << _SHIFT
# Shapes are designed in a 500-unit space with the head about 200 units wide, then drawn zoomed
# about the centre so that the face fills the 300x300 centre crop as in the real set (hair on
# top and long hair below may run past the crop, as there).
_ZOOM = 1.15

# --- palettes (RGB) ---------------------------------------------------------------------------
# Discrete palettes, as in the Cartoon Set: colour is a categorical attribute, not a continuum.
SKIN_TONES: list[tuple[int, int, int]] = [
    (255, 229, 206), (250, 214, 186), (242, 200, 164), (236, 188, 150), (224, 172, 130),
    (204, 152, 110), (184, 132, 92), (160, 110, 74), (134, 90, 60), (108, 70, 46), (84, 54, 38),
]
HAIR_COLORS: list[tuple[int, int, int]] = [
    (34, 30, 32), (72, 46, 32), (116, 74, 44), (166, 118, 72), (150, 60, 34),
    (214, 112, 52), (234, 198, 116), (238, 226, 192), (150, 150, 156), (64, 96, 184),
    (226, 112, 164), (122, 70, 160),
]
# Natural colours dominate, dyed ones (blue, pink, purple) are rarer; likewise below.
_HAIR_COLOR_P = [14, 14, 12, 9, 7, 6, 9, 5, 7, 2.5, 2.5, 2.5]
EYE_COLORS: list[tuple[int, int, int]] = [
    (94, 60, 36), (60, 40, 28), (70, 120, 180), (80, 130, 80), (120, 120, 130),
]
GLASSES_COLORS: list[tuple[int, int, int]] = [
    (24, 24, 26), (104, 62, 36), (196, 160, 72), (168, 170, 178), (186, 40, 44), (40, 70, 150),
]
_TINTS = [None, (150, 110, 60), (40, 44, 52)]  # clear, tinted, dark (sunglasses)
_TINT_ALPHA = [0.0, 0.35, 0.88]
_MOUTH_DARK = (112, 40, 40)
_MOUTH_INSIDE = (120, 30, 40)
_TONGUE = (226, 110, 120)
_INK = (36, 30, 32)
_HAIR_TIES = [(220, 50, 60), (60, 150, 220), (250, 200, 40), (120, 200, 90)]

HAIR_STYLES: list[str] = [
    "bald", "buzz", "short", "side_swept", "middle_part", "bowl", "spiky", "curly", "afro",
    "mohawk", "quiff", "bob", "long", "long_wavy", "ponytail", "bun", "pigtails", "balding",
    "long_bangs", "shoulder_curly",
]
_HAIR_STYLE_P = [4, 5, 7, 7, 5, 5, 5, 5, 4, 3, 5, 6, 6, 5, 5, 4, 4, 4, 5, 4]
FACE_SHAPES = ["oval", "round", "square", "long", "heart", "pear", "diamond"]
EYE_SHAPES = ["round", "almond", "narrow", "wide", "dot"]
EYEBROW_SHAPES = ["straight", "arched", "angled", "soft", "raised", "flat_thick"]
NOSES = ["arc", "button", "hook", "shadow"]
MOUTHS = ["smile", "grin", "neutral", "o", "smirk", "laugh"]
FACIAL_HAIR = ["none", "stubble", "moustache", "handlebar", "goatee", "circle_beard",
               "full_beard", "chin_strap"]
GLASSES = ["none", "round", "rectangle", "oval", "cat_eye", "aviator", "browline"]

# Attribute name -> number of variants, in the spirit of the Cartoon Set's
# `"attribute", variant, total` CSV lines. Every face carries one int per attribute.
ATTRIBUTES: dict[str, int] = {
    "face_shape": len(FACE_SHAPES),
    "chin_length": 3,
    "face_color": len(SKIN_TONES),
    "hair": len(HAIR_STYLES),
    "hair_color": len(HAIR_COLORS),
    "eye_shape": len(EYE_SHAPES),
    "eye_color": len(EYE_COLORS),
    "eye_lid": 3,
    "eye_lashes": 2,
    "eye_slant": 3,
    "eye_eyebrow_distance": 3,
    "eyebrow_shape": len(EYEBROW_SHAPES),
    "eyebrow_thickness": 3,
    "nose": len(NOSES),
    "mouth": len(MOUTHS),
    "facial_hair": len(FACIAL_HAIR),
    "glasses": len(GLASSES),
    "glasses_color": len(GLASSES_COLORS),
    "glasses_tint": len(_TINTS),
}

# Each split draws from its own seed stream, so val and test faces are never training faces.
_STREAM = {name: i for i, name in enumerate(SPLITS)}


# --- drawing helpers ------------------------------------------------------------------------
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


# --- the face ---------------------------------------------------------------------------------
class _Head:
    """Geometry of one head: its outline and where the features sit, in design units (`_ZOOM`)."""

    def __init__(self, rng: np.random.Generator, shape: int, chin: int):
        a = rng.uniform(94, 110)          # half width at the cheeks
        bt = rng.uniform(118, 132)        # centre to crown
        bb = (112, 124, 136)[chin] + rng.uniform(-4, 4)  # centre to chin
        n_top, n_bot, taper, tp = 2.0, 2.0, 0.10, 2.0
        if shape == 1:      # round: wider, shorter, fuller jaw
            a *= 1.07; bb *= 0.93; n_top, n_bot, taper = 2.2, 2.4, 0.0
        elif shape == 2:    # square: flat jaw
            n_top, n_bot, taper = 2.5, 3.6, 0.10
        elif shape == 3:    # long
            a *= 0.9; bt *= 1.03; bb *= 1.08; n_top, n_bot = 2.2, 2.3
        elif shape == 4:    # heart: broad temples, pointed chin
            n_top, n_bot, taper, tp = 2.5, 1.7, 0.22, 1.0
        elif shape == 5:    # pear: narrow crown, wide jaw
            a *= 0.97; n_top, n_bot, taper = 1.8, 3.0, -0.06
        elif shape == 6:    # diamond: cheekbones widest
            a *= 1.04; n_top, n_bot, taper = 1.7, 1.75, 0.04
        self.a, self.bt, self.bb = a, bt, bb
        self.cx = CANVAS / 2 + rng.uniform(-3, 3)
        # Centre the head's extent (crown to chin) slightly below the canvas centre: hair adds
        # height on top, and the real set's faces sit in the middle of the 300x300 crop.
        self.cy = CANVAS / 2 + (bt - bb) / 2 + rng.uniform(-3, 3)

        t = np.linspace(0, 2 * math.pi, 144, endpoint=False)
        c, s = np.cos(t), np.sin(t)
        lower = s > 0
        x = np.where(lower, _spow(c, 2 / n_bot), _spow(c, 2 / n_top)) * a
        x = x * np.where(lower, 1 - taper * np.clip(s, 0, 1) ** tp, 1.0)
        y = np.where(lower, bb * _spow(s, 2 / n_bot), bt * _spow(s, 2 / n_top))
        self.outline = np.stack([self.cx + x, self.cy + y], axis=1)
        # Half width as a function of height, for hair sides, beards and glasses' arms.
        right = self.outline[self.outline[:, 0] >= self.cx]
        order = np.argsort(right[:, 1])
        self._hy, self._hx = right[order, 1], right[order, 0] - self.cx

        self.top, self.chin = self.cy - bt, self.cy + bb
        self.eye_y = self.cy + (bb - bt) * 0.5 + rng.uniform(0, 10)
        self.eye_dx = a * rng.uniform(0.40, 0.47)
        self.nose_y = self.eye_y + (self.chin - self.eye_y) * rng.uniform(0.36, 0.44)
        self.mouth_y = self.eye_y + (self.chin - self.eye_y) * rng.uniform(0.64, 0.70)

    def half_width(self, y: float | np.ndarray) -> Any:
        return np.interp(y, self._hy, self._hx)


def sample_attributes(rng: np.random.Generator) -> dict[str, int]:
    """Draw the discrete choices behind one face (one int per name in `ATTRIBUTES`)."""
    def pick(n: int, p: Sequence[float] | None = None) -> int:
        if p is None:
            return int(rng.integers(n))
        w = np.asarray(p, dtype=np.float64)
        return int(rng.choice(n, p=w / w.sum()))

    return {
        "face_shape": pick(len(FACE_SHAPES)),
        "chin_length": pick(3),
        "face_color": pick(len(SKIN_TONES)),
        "hair": pick(len(HAIR_STYLES), _HAIR_STYLE_P),
        "hair_color": pick(len(HAIR_COLORS), _HAIR_COLOR_P),
        "eye_shape": pick(len(EYE_SHAPES), [5, 5, 3, 4, 2]),
        "eye_color": pick(len(EYE_COLORS)),
        "eye_lid": pick(3, [6, 3, 2]),
        "eye_lashes": pick(2),
        "eye_slant": pick(3),
        "eye_eyebrow_distance": pick(3),
        "eyebrow_shape": pick(len(EYEBROW_SHAPES)),
        "eyebrow_thickness": pick(3),
        "nose": pick(len(NOSES)),
        "mouth": pick(len(MOUTHS)),
        # Most faces are clean-shaven and glasses-free, as in the real set.
        "facial_hair": pick(len(FACIAL_HAIR), [14, 1.5, 1.5, 1, 1, 1, 1.5, 1]),
        "glasses": pick(len(GLASSES), [14, 1.5, 1.5, 1.5, 1, 1, 1]),
        "glasses_color": pick(len(GLASSES_COLORS)),
        "glasses_tint": pick(3, [6, 2, 2]),
    }


def draw_face(attrs: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    """Render the face `attrs` describes; `rng` supplies the continuous details (sizes, offsets).

    Returns a (500, 500, 3) uint8 RGB image on a white background.
    """
    img = np.full((CANVAS, CANVAS, 3), 255, dtype=np.uint8)
    head = _Head(rng, attrs["face_shape"], attrs["chin_length"])
    skin = SKIN_TONES[attrs["face_color"]]
    hair_c = HAIR_COLORS[attrs["hair_color"]]
    hair = _HairPlan(rng, head, attrs["hair"])

    hair.draw_back(img, hair_c)
    _fill(img, head.outline, skin)
    _draw_nose(img, rng, head, attrs["nose"], skin)
    _draw_facial_hair(img, rng, head, attrs["facial_hair"], hair_c, skin, before_mouth=True)
    _draw_mouth(img, rng, head, attrs["mouth"])
    _draw_facial_hair(img, rng, head, attrs["facial_hair"], hair_c, skin, before_mouth=False)
    eyes = _draw_eyes(img, rng, head, attrs, skin)
    brow_c = _shade(hair_c, 0.8) if attrs["hair"] != 0 or rng.random() < 0.5 else (70, 50, 40)
    _draw_brows(img, rng, head, attrs, eyes, brow_c)
    hair.draw_front(img, hair_c, skin)
    if attrs["glasses"]:
        _draw_glasses(img, rng, head, attrs, eyes)
    return img


def render_face(rng: np.random.Generator) -> np.ndarray:
    """One random face: a (500, 500, 3) uint8 RGB image on a white background."""
    return draw_face(sample_attributes(rng), rng)


def face_rng(seed: int, index: int, split: str = "train") -> np.random.Generator:
    """The generator for face `index` of `split` under `seed`: independent of any other face."""
    # SeedSequence hashes the whole tuple, so neighbouring seeds and indices give unrelated
    # streams, and the split id keeps val/test faces out of the training stream.
    return np.random.default_rng(np.random.SeedSequence([seed % 2**63, _STREAM[split], index]))


def render_faces(n: int, seed: int, start: int = 0, *, split: str = "train") -> np.ndarray:
    """Faces start..start+n-1 of `split` under `seed`, as (n, 500, 500, 3) uint8 RGB."""
    out = np.empty((n, CANVAS, CANVAS, 3), dtype=np.uint8)
    for k in range(n):
        out[k] = render_face(face_rng(seed, start + k, split))
    return out


def generate(n: int, seed: int, *, split: str = "train", start: int = 0, crop: int | None = 300,
             size: int = 36) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render and preprocess faces start..start+n-1: (n, 3, size, size) uint8 and attributes.

    Each face is preprocessed as soon as it is drawn, so memory stays at the small images.
    """
    images = np.empty((n, 3, size, size), dtype=np.uint8)
    attrs = {k: np.empty(n, dtype=np.int64) for k in ATTRIBUTES}
    for k in range(n):
        rng = face_rng(seed, start + k, split)
        a = sample_attributes(rng)
        images[k] = preprocess_rgb(draw_face(a, rng), crop=crop, size=size)
        for name, v in a.items():
            attrs[name][k] = v
    return images, attrs


# --- hair -------------------------------------------------------------------------------------
class _HairPlan:
    """One hair style's geometry: a back layer (behind the head) and a front cap (over it)."""

    def __init__(self, rng: np.random.Generator, head: _Head, style: int):
        self.rng, self.h, self.name = rng, head, HAIR_STYLES[style]
        self.flip = rng.random() < 0.5
        self.ties: list[tuple[float, float]] = []  # pigtail bands, set by draw_back
        h = head
        # Front cap defaults; each style adjusts them. vt/vs: hair volume above and beside the
        # skull; hairline: centre height as a fraction of the way from crown to eyes.
        self.vt, self.vs = rng.uniform(12, 22), rng.uniform(6, 12)
        self.hairline = rng.uniform(0.30, 0.42)
        self.line = "round"
        self.side_bottom = h.eye_y - rng.uniform(10, 30)   # where sideburns end
        self.inset = rng.uniform(5, 10)                    # how far sides reach onto the face
        self.outer = "smooth"
        n = self.name
        if n == "buzz":
            self.vt, self.vs, self.hairline = rng.uniform(3, 6), rng.uniform(2, 4), 0.28
            self.inset = 4
        elif n == "side_swept":
            self.line, self.hairline = "swept", rng.uniform(0.30, 0.42)
        elif n == "middle_part":
            self.line = "part"
        elif n == "bowl":
            self.line, self.hairline = "straight", rng.uniform(0.52, 0.62)
            self.side_bottom = h.eye_y + rng.uniform(-5, 15)
            self.inset = rng.uniform(10, 16)
        elif n == "spiky":
            self.outer, self.line, self.vt = "spiky", "zigzag", rng.uniform(18, 30)
        elif n in ("curly", "shoulder_curly"):
            self.outer, self.line, self.vt, self.vs = "curly", "scallop", rng.uniform(16, 26), 12
        elif n == "afro":
            self.outer, self.line, self.vt, self.vs = "curly", "scallop", 8, 8
            self.hairline = rng.uniform(0.22, 0.30)
        elif n == "quiff":
            self.line, self.hairline = "swept", rng.uniform(0.26, 0.34)
            self.vt = rng.uniform(14, 20)
        elif n in ("long", "long_wavy"):
            self.line = "part" if rng.random() < 0.6 else "swept"
            self.side_bottom = h.mouth_y + rng.uniform(-20, 20)
            self.inset = rng.uniform(10, 20)
        elif n == "long_bangs":
            self.line, self.hairline = "straight", rng.uniform(0.5, 0.6)
            self.side_bottom = h.mouth_y + rng.uniform(-20, 10)
            self.inset = rng.uniform(12, 20)
        elif n == "bob":
            self.line = "straight" if rng.random() < 0.5 else "swept"
            self.hairline = rng.uniform(0.45, 0.58) if self.line == "straight" else 0.35
            self.side_bottom = h.mouth_y + rng.uniform(-10, 15)
            self.inset = rng.uniform(10, 18)
        elif n in ("ponytail", "bun", "pigtails"):
            self.vt, self.vs = rng.uniform(6, 12), rng.uniform(4, 8)
            self.line = "part" if n == "pigtails" else "round"
            self.hairline = rng.uniform(0.22, 0.32)
        # Keep a fringe clear of the eyebrows whatever the jitter did.
        self.line_y = h.top + self.hairline * (h.eye_y - h.top)
        self.line_y = min(self.line_y, h.eye_y - 48)

    # Back layer: everything that hangs behind the head.
    def draw_back(self, img: np.ndarray, color: Sequence[int]) -> None:
        h, rng, n = self.h, self.rng, self.name
        rx, ry = h.a + self.vs, h.bt + self.vt
        if n in ("long", "long_wavy", "long_bangs", "bob", "shoulder_curly"):
            bottom = {"bob": h.chin - rng.uniform(5, 30), "shoulder_curly": h.chin + 30}.get(
                n, min(CANVAS - 8, h.chin + rng.uniform(40, 100)))
            flare = rng.uniform(8, 26)
            ends = int(rng.integers(3)) if n != "bob" else 1
            round_r = 26.0 if ends == 1 else 0.0   # depth of a rounded, curled-in end
            top = _ellipse(h.cx, h.cy, rx + 2, ry, math.pi, 2 * math.pi, 40)
            ys = np.linspace(h.cy, bottom - round_r, 24)
            wave = 0.0
            if n == "long_wavy":
                wave = 6 * np.sin((ys - h.cy) / rng.uniform(14, 20) + rng.uniform(0, 6))
            grow = rx + 2 + flare * ((ys - h.cy) / max(1.0, bottom - h.cy)) ** 1.5 + wave
            right = np.stack([h.cx + grow, ys], 1)
            left = np.stack([h.cx - grow, ys], 1)[::-1]
            w = grow[-1]
            if ends == 0:       # straight-cut ends
                base = np.array([[h.cx + w, bottom], [h.cx - w, bottom]])
            elif ends == 1:     # rounded: the sides run into a half ellipse
                base = _ellipse(h.cx, bottom - round_r, w, round_r, 0, math.pi, 24)[1:-1]
            else:               # layered points
                xs = np.linspace(h.cx + w, h.cx - w, 9)
                yb = bottom - np.where(np.arange(9) % 2 == 1, rng.uniform(14, 24), 0)
                base = np.stack([xs, yb], 1)
            poly = np.concatenate([top, right, base, left])
            if n == "shoulder_curly":
                self._bumpy(img, poly, color, 11)
            _fill(img, poly, color)
        elif n == "afro":
            arx, ary = h.a + rng.uniform(45, 65), h.bt + rng.uniform(35, 55)
            acy = h.cy - rng.uniform(10, 30)
            t = np.linspace(0, 2 * math.pi, 90, endpoint=False)
            r = 1 + 0.035 * np.sin(t * 13 + rng.uniform(0, 6))
            poly = np.stack([h.cx + arx * r * np.cos(t), acy + ary * r * np.sin(t)], 1)
            _fill(img, poly, color)
        elif n == "ponytail":
            side = -1 if self.flip else 1
            px, py = h.cx + side * (rx - 6), h.cy - ry * 0.55
            tail = np.array([[px - side * 20, py - 18], [px + side * 46, py + 20],
                             [px + side * 56, py + 110], [px + side * 30, py + 160],
                             [px + side * 18, py + 90], [px - side * 8, py + 30]])
            _fill(img, _smooth(tail, closed=True), color)
        elif n == "bun":
            r = rng.uniform(30, 40)
            if rng.random() < 0.65:
                _disc(img, h.cx, h.top - self.vt - r * 0.55, r, color)
            else:   # two buns high on either side
                for s in (-1, 1):
                    _disc(img, h.cx + s * h.a * 0.72, h.top + 6 - r * 0.3, r * 0.8, color)
        elif n == "pigtails":
            # Tied at each side of the head, hanging down past the jaw.
            length = rng.uniform(100, 140)
            ty = h.eye_y - rng.uniform(20, 35)
            self.ties = []
            for s in (-1, 1):
                tx = h.cx + s * (float(h.half_width(ty)) + 6)
                tail = np.array([[tx, ty - 10], [tx + s * 22, ty + 6],
                                 [tx + s * 34, ty + length * 0.45], [tx + s * 22, ty + length],
                                 [tx + s * 8, ty + length * 0.5], [tx - s * 4, ty + 12]])
                _fill(img, _smooth(tail, closed=True), color)
                self.ties.append((tx + s * 2, ty + 2))

    def _bumpy(self, img: np.ndarray, poly: np.ndarray, color: Sequence[int], r: float) -> None:
        """Curls: discs along an outline turn a smooth silhouette into a curly one."""
        seg = np.diff(np.concatenate([poly, poly[:1]]), axis=0)
        length = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate([[0], np.cumsum(length)])
        for d in np.arange(0, cum[-1], r * 1.3):
            i = min(int(np.searchsorted(cum, d, side="right")) - 1, len(poly) - 1)
            f = (d - cum[i]) / max(length[i], 1e-6)
            p = poly[i] + f * seg[i]
            _disc(img, p[0], p[1], r, color)

    # Front layer: the cap over the crown, its sides and the fringe.
    def draw_front(self, img: np.ndarray, color: Sequence[int], skin: Sequence[int]) -> None:
        h, rng, n = self.h, self.rng, self.name
        if n == "bald":
            return
        rx, ry = h.a + self.vs, h.bt + self.vt
        if n == "balding":
            # Hair only around the sides, above the ears.
            for s in (-1, 1):
                y0, y1 = h.cy - h.bt * 0.55, h.eye_y + rng.uniform(-10, 10)
                hw0, hw1 = h.half_width(y0), h.half_width(y1)
                poly = np.array([[h.cx + s * (hw0 - 8), y0 - 4], [h.cx + s * (hw0 + 10), y0 - 6],
                                 [h.cx + s * (hw1 + 10), y1], [h.cx + s * (hw1 - 10), y1 - 6]])
                _fill(img, _smooth(poly, closed=True), color)
            return
        if n == "mohawk":
            # Shaved sides in a skin/hair mix, then the crest.
            self._cap(img, _mix(skin, color, 0.35), h.a + 2, h.bt + 2, h.top + 0.3 * (
                h.eye_y - h.top), "round", inset=4)
            w = rng.uniform(24, 32)
            t = np.linspace(math.pi + 0.35, 2 * math.pi - 0.35, 24)
            crest_top = h.cy - (h.bt + rng.uniform(35, 55))
            ys = h.cy + (h.cy - crest_top) * np.sin(t)
            xs = h.cx + w * np.cos(t) * 0.2
            poly = np.concatenate([np.stack([xs - w, ys], 1)[: len(t) // 2],
                                   [[h.cx, ys.min() - 6]],
                                   np.stack([xs + w, ys], 1)[len(t) // 2:]])
            poly = np.concatenate([[[h.cx - w * 0.7, h.top + 30]], poly,
                                   [[h.cx + w * 0.7, h.top + 30]]])
            _fill(img, _smooth(poly, closed=True), color)
            return
        self._cap(img, color, rx, ry, self.line_y, self.line, self.inset)
        if n == "quiff":
            # A swoop of hair rising off the forehead and leaning to one side.
            s = -1 if self.flip else 1
            lift = rng.uniform(28, 42)
            q = np.array([[h.cx - s * rx * 0.7, h.top + 22], [h.cx - s * rx * 0.5, h.top - 6],
                          [h.cx - s * rx * 0.05, h.top - lift * 0.9],
                          [h.cx + s * rx * 0.4, h.top - lift],
                          [h.cx + s * rx * 0.68, h.top - lift * 0.45],
                          [h.cx + s * rx * 0.7, h.top + 14], [h.cx + s * rx * 0.4, self.line_y],
                          [h.cx - s * rx * 0.3, self.line_y - 6]])
            _fill(img, _smooth(q, closed=True), color)
        elif n == "pigtails":
            # Bands where the tails are tied: a small dot of colour sells the style.
            band = _HAIR_TIES[int(rng.integers(len(_HAIR_TIES)))]
            for x, y in self.ties:
                _disc(img, x, y, 7, band)
        elif n == "curly":
            top = _ellipse(h.cx, h.cy, rx, ry, math.pi + 0.15, 2 * math.pi - 0.15, 14)
            for x, y in top:
                _disc(img, x, y, rng.uniform(11, 15), color)

    def _cap(self, img: np.ndarray, color: Sequence[int], rx: float, ry: float, line_y: float,
             line: str, inset: float) -> None:
        h, rng = self.h, self.rng
        sb = self.side_bottom
        # Outer silhouette: the skull ellipse from one sideburn, over the crown, to the other.
        th = math.asin(max(-0.95, min(0.95, (sb - h.cy) / ry)))
        t = np.linspace(th, -math.pi - th, 64)
        r = np.ones_like(t)
        if self.outer == "spiky":
            k = np.arange(len(t))
            r = r + np.where(k % 6 == 3, rng.uniform(0.10, 0.2), 0.0) * (np.sin(t) < -0.35)
        outer = np.stack([h.cx + rx * r * np.cos(t), h.cy + ry * r * np.sin(t)], 1)
        if self.outer == "curly":
            for x, y in outer[::5]:
                _disc(img, x, y, 12, color)
        # Inner edge: up the face's left side from the sideburn, across the hairline, down the
        # right side. The sides follow the face outline `inset` inside it, so hair and face
        # always overlap and no sliver of skin or background shows between them.
        ty = line_y + (sb - line_y) * 0.35
        u = np.linspace(-1, 1, 41)
        if line == "straight":
            ly = line_y + 6 * u ** 2
        elif line == "swept":
            s = -1 if self.flip else 1
            ly = line_y + 28 * ((1 + s * u) / 2) ** 1.3 - 12
        elif line == "part":
            ly = line_y - 22 + 30 * np.abs(u) ** 0.8
            ly = ly + 8 * np.sin(np.pi * np.abs(u)) ** 2
        elif line == "zigzag":
            ly = line_y - 4 + 14 * np.abs(((np.arange(len(u)) / 5.0) % 2) - 1)
        elif line == "scallop":
            ly = line_y - 4 + 10 * np.abs(np.sin(np.pi * 3.5 * (u + 1) / 2))
        else:   # round: highest in the middle, sweeping down to the temples
            ly = line_y + (ty - line_y) * np.abs(u) ** 2.2
        ly = np.minimum(ly, sb)
        xl = h.cx - (h.half_width(ly[0]) - inset)
        xr = h.cx + (h.half_width(ly[-1]) - inset)
        inner = np.stack([xl + (xr - xl) * (u + 1) / 2, ly], 1)
        ys_l = np.linspace(sb, ly[0], 10)
        ys_r = np.linspace(ly[-1], sb, 10)
        sides_l = np.stack([h.cx - (h.half_width(ys_l) - inset), ys_l], 1)
        sides_r = np.stack([h.cx + (h.half_width(ys_r) - inset), ys_r], 1)
        poly = np.concatenate([outer, sides_l, inner, sides_r])
        _fill(img, poly, color)


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


# --- eyes, brows, nose, mouth, facial hair, glasses --------------------------------------------
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
               skin: Sequence[int]) -> list[tuple[float, float, float, float]]:
    """Both eyes; returns (x, y, rx, ry) for each, which brows and glasses are placed around."""
    shape = attrs["eye_shape"]
    rx = {0: 18, 1: 21, 2: 21, 3: 23, 4: 7}[shape] + rng.uniform(-2, 3)
    ry = {0: 17, 1: 12, 2: 8, 3: 19, 4: 10}[shape] + rng.uniform(-1.5, 2)
    slant = (-0.16, 0.0, 0.16)[attrs["eye_slant"]] + rng.uniform(-0.04, 0.04)
    iris_c = EYE_COLORS[attrs["eye_color"]]
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
                  eyes: list[tuple[float, float, float, float]]) -> None:
    kind = GLASSES[attrs["glasses"]]
    frame = GLASSES_COLORS[attrs["glasses_color"]]
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


# --- the dataset ------------------------------------------------------------------------------
_CACHE_OFF = ("off", "0", "none", "false")


def _cache() -> ArrayCache | None:
    """The shared array cache in `$PIXELZOO_CACHE` (or ~/.cache/pixelzoo); None when it is off.

    `toon` has no data folder of its own to keep a cache next to, unlike the file datasets, so
    it goes straight to the user cache folder.
    """
    env = os.environ.get(CACHE_ENV, "").strip()
    if env.lower() in _CACHE_OFF:
        return None
    folder = Path(env).expanduser() if env else Path.home() / ".cache" / "pixelzoo"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable cache only costs regenerating next time
    return ArrayCache(folder)


def _source_digest() -> str:
    # Any edit to the generator may change its pictures, so the code itself is part of the key.
    return hashlib.sha1(Path(__file__).read_bytes()).hexdigest()


class ToonDataset(Dataset):
    """Procedural Cartoon Set look-alike: (3, size, size) uint8 faces plus attribute labels."""

    class Config(DatasetConfig):
        count: int = Field(6000, ge=3, description="total images over train, val and test")
        size: int = Field(36, ge=2, le=CANVAS)
        crop: int | None = Field(300, ge=1, le=CANVAS)  # centre crop before resizing; None: all
        val_fraction: float = Field(0.1, ge=0, lt=1)
        test_fraction: float = Field(0.1, ge=0, lt=1)
        channels: Literal[3] = 3  # always RGB; accepted so that a recipe may state it
        cache: bool = True         # keep generated arrays in the shared array cache

        @model_validator(mode="after")
        def _fractions(self) -> ToonDataset.Config:
            check_fractions(self.val_fraction, self.test_fraction)
            return self

    config: Config

    def split_sizes(self) -> dict[str, int]:
        """How many faces each split gets, after `limit`."""
        c = self.config
        n_val, n_test = round(c.count * c.val_fraction), round(c.count * c.test_fraction)
        sizes = {"train": c.count - n_val - n_test, "val": n_val, "test": n_test}
        if c.limit is not None:
            # limit keeps the first N of each split; face i never depends on how many are
            # drawn, so only those N are generated.
            sizes = {k: min(v, c.limit) for k, v in sizes.items()}
        return sizes

    def load(self) -> DataSplits:
        c = self.config
        sets: dict[str, ImageSet] = {}
        attributes: dict[str, Any] = {}
        for split, n in self.split_sizes().items():
            images, attrs = self._split(split, n)
            sets[split] = ImageSet(images, None,
                                   [f"toon-{c.seed}-{split}-{i:06d}" for i in range(n)])
            attributes[split] = attrs
        return DataSplits(train=sets["train"], val=sets["val"], test=sets["test"],
                          num_classes=None, attributes=attributes)

    def _split(self, split: str, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        c = self.config
        cache = _cache() if c.cache and n > 0 else None
        if cache is None:
            return generate(n, c.seed, split=split, crop=c.crop, size=c.size)
        payload = {"code": _source_digest(), "seed": c.seed, "split": split, "n": n,
                   "crop": c.crop, "size": c.size}
        key = make_key(payload)
        name = f"toon-{key[:16]}"
        hit = cache.load(name, key)
        if hit is not None and "images" in hit and all(k in hit for k in ATTRIBUTES):
            return hit["images"], {k: hit[k] for k in ATTRIBUTES}
        images, attrs = generate(n, c.seed, split=split, crop=c.crop, size=c.size)
        cache.save(name, key, {"images": images, **attrs})
        return images, attrs


# --- contact sheets ---------------------------------------------------------------------------
def _grid(tiles: np.ndarray, cols: int, gap: int = 4) -> np.ndarray:
    n, th, tw, _ = tiles.shape
    rows = -(-n // cols)
    sheet = np.full((rows * th + (rows + 1) * gap, cols * tw + (cols + 1) * gap, 3), 200,
                    dtype=np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = gap + r * (th + gap), gap + c * (tw + gap)
        sheet[y:y + th, x:x + tw] = t
    return sheet


def contact_sheet(path: str | os.PathLike[str], *, preprocessed: str | os.PathLike[str] | None
                  = None, n: int = 64, seed: int = 0, thumb: int = 96, crop: int | None = 300,
                  size: int = 36, zoom: int = 3) -> None:
    """Save an 8-column sheet of `n` faces (500x500 shrunk to `thumb`), and optionally the same
    faces after the dataset's preprocessing, enlarged `zoom`x with nearest-neighbour."""
    faces = render_faces(n, seed)
    thumbs = np.stack([cv2.resize(f, (thumb, thumb), interpolation=cv2.INTER_AREA)
                       for f in faces])
    _save_png(path, _grid(thumbs, 8))
    if preprocessed is not None:
        small = [preprocess_rgb(f, crop=crop, size=size).transpose(1, 2, 0) for f in faces]
        big = np.stack([cv2.resize(np.ascontiguousarray(s), (size * zoom, size * zoom),
                                   interpolation=cv2.INTER_NEAREST) for s in small])
        _save_png(preprocessed, _grid(big, 8))


def _save_png(path: str | os.PathLike[str], rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise OSError(f"could not encode {path}")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data.tobytes())
    os.replace(tmp, p)


def _main(argv: Sequence[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m pixelzoo.data.toon",
                                 description="Draw contact sheets of the toon generator.")
    ap.add_argument("--sheet", default="docs/toon_contact_sheet.png")
    ap.add_argument("--preprocessed", default=None,
                    help="also save the preprocessed faces (default: next to --sheet)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-n", type=int, default=64)
    args = ap.parse_args(argv)
    pre = args.preprocessed or str(Path(args.sheet).with_name("toon_preprocessed.png"))
    contact_sheet(args.sheet, preprocessed=pre, n=args.n, seed=args.seed)
    print(f"wrote {args.sheet} and {pre}")


if __name__ == "__main__":
    _main()
