"""`toon`'s hair styles: a back layer drawn behind the head and a front cap drawn over it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pixelzoo.data.toon.draw import _disc, _ellipse, _fill, _mix, _smooth
from pixelzoo.data.toon.head import _Head
from pixelzoo.data.toon.palette import _HAIR_TIES, CANVAS, HAIR_STYLES


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
