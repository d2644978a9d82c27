"""What the generated datasets share: options, split sizes, per-image seed streams and caching.

A generated dataset (`lineart`, `toon_transformed`, `skimage_photos`) makes each image from its
own seed stream, keyed by (seed, dataset, split, index), so image i never depends on how many are
made, and train, val and test never share an image. Its splits are cached in the shared array
cache under a key that holds the generator's source digest and every option that changes the
pixels. `toon` predates this module and keeps its own copy of the same rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from pixelzoo.data.base import DatasetConfig, DataSplits, ImageSet
from pixelzoo.data.cache import make_key, shared_cache
from pixelzoo.data.splits import SPLITS, check_fractions

_SPLIT_ID = {name: i for i, name in enumerate(SPLITS)}


class GeneratedConfig(DatasetConfig):
    """Options every generated dataset accepts."""

    count: int = Field(2000, ge=3, description="total images over train, val and test")
    size: int = Field(36, ge=2, le=500, description="side of the square images")
    val_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.1, ge=0, lt=1)
    cache: bool = Field(True, description="keep generated arrays in the shared array cache")

    @model_validator(mode="after")
    def _fractions(self) -> GeneratedConfig:
        check_fractions(self.val_fraction, self.test_fraction)
        return self


def split_sizes(c: GeneratedConfig) -> dict[str, int]:
    """Images per split, after `limit` (the first N of each split: only those are made)."""
    n_val, n_test = round(c.count * c.val_fraction), round(c.count * c.test_fraction)
    sizes = {"train": c.count - n_val - n_test, "val": n_val, "test": n_test}
    if c.limit is not None:
        sizes = {k: min(v, c.limit) for k, v in sizes.items()}
    return sizes


def image_rng(dataset: str, seed: int, split: str, index: int) -> np.random.Generator:
    """The generator for image `index` of `split`: independent of every other image, split,
    seed and dataset (the dataset's name is hashed into the seed)."""
    tag = zlib.crc32(dataset.encode())
    return np.random.default_rng(np.random.SeedSequence(
        [seed % 2**63, tag, _SPLIT_ID[split], index]))


def load_generated(dataset: str, config: GeneratedConfig,
                   make: Callable[[str, int], np.ndarray], key: dict[str, Any]) -> DataSplits:
    """Make (or load from the cache) every split with `make(split, n)` -> uint8 (n, C, H, W).

    `key` names what the pixels depend on besides seed, split and count: the generator's
    source digest and its options.
    """
    sets: dict[str, ImageSet] = {}
    for split, n in split_sizes(config).items():
        cache = shared_cache() if config.cache and n > 0 else None
        images = None
        if cache is not None:
            entry_key = make_key({**key, "dataset": dataset, "seed": config.seed,
                                  "split": split, "n": n})
            name = f"{dataset}-{entry_key[:16]}"
            hit = cache.load(name, entry_key)
            if hit is not None and "images" in hit:
                images = hit["images"]
        if images is None:
            images = make(split, n)
            if cache is not None:
                cache.save(name, entry_key, {"images": images})
        sets[split] = ImageSet(images, None,
                               [f"{dataset}-{config.seed}-{split}-{i:06d}" for i in range(n)])
    return DataSplits(train=sets["train"], val=sets["val"], test=sets["test"])
