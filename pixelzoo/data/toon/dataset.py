"""The `toon` dataset: faces rendered, preprocessed like the Cartoon Set, split and cached."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from pixelzoo.data.base import Dataset, DatasetConfig, DataSplits, ImageSet
from pixelzoo.data.cache import make_key, shared_cache, source_digest
from pixelzoo.data.preprocess import preprocess_rgb
from pixelzoo.data.splits import check_fractions
from pixelzoo.data.toon.face import draw_face, face_rng, look_rng, sample_attributes
from pixelzoo.data.toon.palette import ATTRIBUTES, CANVAS
from pixelzoo.data.toon.style import LOOK_ATTRIBUTES, sample_look


Style = Literal["classic", "varied"]


def attribute_names(style: str = "classic") -> dict[str, int]:
    """The attribute columns a style's faces carry, with their number of variants."""
    return {**ATTRIBUTES, **(LOOK_ATTRIBUTES if style == "varied" else {})}


def generate(n: int, seed: int, *, split: str = "train", start: int = 0, crop: int | None = 300,
             size: int = 36, style: Style = "classic"
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render and preprocess faces start..start+n-1: (n, 3, size, size) uint8 and attributes.

    Each face is preprocessed as soon as it is drawn, so memory stays at the small images.
    """
    images = np.empty((n, 3, size, size), dtype=np.uint8)
    attrs = {k: np.empty(n, dtype=np.int64) for k in attribute_names(style)}
    for k in range(n):
        rng = face_rng(seed, start + k, split)
        a = sample_attributes(rng)
        look = None
        if style == "varied":
            look = sample_look(look_rng(seed, start + k, split), a)
            a = {**a, **look.attributes()}
        images[k] = preprocess_rgb(draw_face(a, rng, look), crop=crop, size=size)
        for name, v in a.items():
            attrs[name][k] = v
    return images, attrs


def _source_digest() -> str:
    # Any edit to the generator may change its pictures, so every module of this package is
    # part of the key.
    return source_digest(Path(__file__).parent)


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
        style: Style = Field(
            "classic", description="classic: palette colours, flat, no outline, on white (the "
            "faces of the shipped weights' tables); varied: the same faces in any skin and hair "
            "colour, with outlines, shading and backgrounds")

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
            tag = "toon" if c.style == "classic" else f"toon_{c.style}"
            sets[split] = ImageSet(images, None,
                                   [f"{tag}-{c.seed}-{split}-{i:06d}" for i in range(n)])
            attributes[split] = attrs
        return DataSplits(train=sets["train"], val=sets["val"], test=sets["test"],
                          num_classes=None, attributes=attributes)

    def _split(self, split: str, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        c = self.config
        cache = shared_cache() if c.cache and n > 0 else None
        if cache is None:
            return generate(n, c.seed, split=split, crop=c.crop, size=c.size, style=c.style)
        payload = {"code": _source_digest(), "seed": c.seed, "split": split, "n": n,
                   "crop": c.crop, "size": c.size, "style": c.style}
        key = make_key(payload)
        name = f"toon-{key[:16]}"
        hit = cache.load(name, key)
        columns = attribute_names(c.style)
        if hit is not None and "images" in hit and all(k in hit for k in columns):
            return hit["images"], {k: hit[k] for k in columns}
        images, attrs = generate(n, c.seed, split=split, crop=c.crop, size=c.size,
                                 style=c.style)
        cache.save(name, key, {"images": images, **attrs})
        return images, attrs
