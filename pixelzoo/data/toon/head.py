"""`toon`'s head geometry: the outline of one face shape and where its features sit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pixelzoo.data.toon.draw import _spow
from pixelzoo.data.toon.palette import CANVAS


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

