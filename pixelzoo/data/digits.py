"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 real images, no download).

The images' 0..16 intensities are scaled to 0..255. A fixed, stratified 20% hold-out is the test
split (seeded by the dataset's `seed`), and a further slice of the training part is validation.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from pixelzoo.data.base import DataSplits, Dataset, DatasetConfig, Geometry, ImageSet


class DigitsConfig(DatasetConfig):
    test_fraction: float = Field(0.2, gt=0, lt=1)
    val_fraction: float = Field(0.1, ge=0, lt=1, description="of the non-test images")


class DigitsDataset(Dataset):
    """scikit-learn's `load_digits`, as uint8 (1, 8, 8) images with labels 0..9."""

    Config = DigitsConfig

    def load(self) -> DataSplits:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        cfg = self.config
        bunch = load_digits()
        images = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)[:, None]
        labels = bunch.target.astype(np.int64)
        idx = np.arange(len(images))
        rest, test = train_test_split(idx, test_size=cfg.test_fraction, random_state=cfg.seed,
                                      stratify=labels)
        if cfg.val_fraction > 0:
            train, val = train_test_split(rest, test_size=cfg.val_fraction,
                                          random_state=cfg.seed, stratify=labels[rest])
        else:
            train, val = rest, rest[:0]

        def part(ix: np.ndarray) -> ImageSet:
            return ImageSet(images[ix], labels[ix], [f"digit-{i}" for i in ix]).take(cfg.limit)

        return DataSplits(part(train), part(val), part(test), num_classes=10,
                          class_names=[str(i) for i in range(10)])

    def geometry(self) -> Geometry:
        return Geometry(1, 8, 8, 10)
