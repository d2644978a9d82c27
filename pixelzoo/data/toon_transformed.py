"""`toon_transformed`: `toon` faces recoloured and moved, an out-of-distribution set for `toon`.

An evaluation set: the shapes are `toon`'s own, but no `toon` face looks like these. Each face is
a `toon` face (of the same split, so test faces are faces no training run saw) with, per image:

* its **hue rotated** by 40..320 degrees (never near 0: skin turns green, blue or purple; greys,
  white and outlines stay as they were), and/or its **channels permuted** (RGB -> GBR, ...);
* **mirrored** left-right, half the time;
* **rescaled** by 0.7..1.3 about the centre and **shifted** up to 15% of the side, the uncovered
  border white, where `toon` always centres one head size.

Every face gets a colour change (hue, a permutation or both) and each of the geometric changes
with probability `p`. The parameters of image i come from its own seed stream, so image i of a
split is always the same. The transforms are the functional forms of `pixelzoo.augmentations`:
a model trained with those augmentations has seen this kind of change, so this set measures
exactly what augmentation teaches; `lineart` and `skimage_photos` are the checks that it does
not. Not for training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from pixelzoo.augmentations.channel_permute import permute_channels
from pixelzoo.augmentations.flip import flip
from pixelzoo.augmentations.hue import rotate_hue
from pixelzoo.augmentations.scale_shift import scale_shift
from pixelzoo.data.base import Dataset, DataSplits, Geometry
from pixelzoo.data.cache import source_digest
from pixelzoo.data.generated import GeneratedConfig, image_rng, load_generated

# Permutations that move at least one channel (the identity would leave the colours alone).
_ORDERS = np.array([[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])


def transform_faces(images: np.ndarray, rngs: list[np.random.Generator], *, p: float = 0.5,
                    scale: float = 0.3, shift: float = 0.15) -> np.ndarray:
    """Recolour and move uint8 (n, 3, H, W) faces, image i with generator `rngs[i]`."""
    out = np.empty_like(images)
    side = np.array([images.shape[3], images.shape[2]], dtype=np.float64)
    for i, (img, rng) in enumerate(zip(images, rngs, strict=True)):
        x = img[None]
        colour = int(rng.integers(3))            # 0: hue, 1: permutation, 2: both
        degrees = rng.uniform(40, 320)
        order = _ORDERS[int(rng.integers(len(_ORDERS)))]
        mirror, move = rng.random() < p, rng.random() < p
        s = rng.uniform(1 - scale, 1 + scale)
        d = rng.uniform(-shift, shift, size=2) * side
        if colour in (0, 2):
            x = rotate_hue(x, degrees)
        if colour in (1, 2):
            x = permute_channels(x, order[None])
        if mirror:
            x = flip(x)
        if move:
            # White, as toon's background: an edge repeated would streak hair across.
            x = scale_shift(x, np.array([s]), d[None], border="constant", fill=255)
        out[i] = x[0]
    return out


class ToonTransformedDataset(Dataset):
    """`toon` faces, hue-rotated or channel-permuted, mirrored, rescaled and shifted."""

    class Config(GeneratedConfig):
        style: Literal["classic", "varied"] = Field(
            "classic", description="the style of the toon faces underneath")
        p: float = Field(0.5, ge=0, le=1,
                         description="probability of each geometric change (mirror, move)")
        scale: float = Field(0.3, ge=0, lt=1, description="zoom factor spread about 1")
        shift: float = Field(0.15, ge=0, le=0.5, description="largest shift, a fraction of side")

    config: Config

    def __init__(self, config: Config):
        super().__init__(config)
        self._faces: DataSplits | None = None

    def geometry(self) -> Geometry:
        return Geometry(3, self.config.size, self.config.size, None)

    def _toon(self) -> DataSplits:
        """The toon faces underneath: a toon set with this set's split sizes (the first N faces
        of each of toon's splits, so the test faces are toon test faces), loaded once."""
        from pixelzoo.data.toon import ToonDataset

        if self._faces is None:
            c = self.config
            self._faces = ToonDataset(ToonDataset.Config(
                count=c.count, val_fraction=c.val_fraction, test_fraction=c.test_fraction,
                limit=c.limit, seed=c.seed, size=c.size, style=c.style, cache=c.cache)).load()
        return self._faces

    def _make(self, split: str, n: int) -> np.ndarray:
        c = self.config
        faces = getattr(self._toon(), split).images
        if len(faces) != n:  # the split rules are the same as toon's, so this cannot happen
            raise AssertionError(f"toon gave {len(faces)} {split} faces for {n}")
        rngs = [image_rng("toon_transformed", c.seed, split, i) for i in range(n)]
        return transform_faces(faces, rngs, p=c.p, scale=c.scale, shift=c.shift)

    def load(self) -> DataSplits:
        c = self.config
        here = Path(__file__).parent
        return load_generated("toon_transformed", c, self._make, {
            "code": source_digest(Path(__file__), here / "generated.py", here / "toon",
                                  here.parent / "augmentations"),
            "size": c.size, "style": c.style, "p": c.p, "scale": c.scale, "shift": c.shift})
