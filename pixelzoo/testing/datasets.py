"""Conformance checks for datasets: the `DataSplits` they load (shapes, dtype, value range,
labels), determinism and building from a recipe.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelzoo.errors import PixelzooError
from pixelzoo.recipe import build_part
from pixelzoo.testing._kit import _check_config_class, _check_recipe, _resolve


def check_dataset(dataset: str | type, params: dict[str, Any] | None = None) -> None:
    """Check a dataset (see `pixelzoo.data.base`) by loading it with `params`.

    Interface and Config (derived from `DatasetConfig`, so `limit` and `seed` work); `load()`
    returning `DataSplits` of uint8 (N, C, H, W) images with one geometry across splits and, for
    labelled data, int64 labels in 0..num_classes-1; `geometry()` agreeing with the data;
    `limit` honoured; determinism (two loads are identical); and building from a recipe. A
    `PixelzooError` from `load()` (a missing file) is raised as it is, not as a failed check.
    """
    from pixelzoo.data.base import Dataset, DatasetConfig, DataSplits, ImageSet

    with _resolve("datasets", dataset, params) as p:
        p.expect(isinstance(p.cls, type) and issubclass(p.cls, Dataset), "interface",
                 "it must subclass pixelzoo.data.base.Dataset")
        p.expect(issubclass(getattr(p.cls, "Config", object), DatasetConfig), "interface",
                 "its Config must subclass pixelzoo.data.base.DatasetConfig (limit, seed)")
        _check_config_class(p)
        with p.stage("interface", passthrough=(PixelzooError,)):
            ds = p.build()
            splits = ds.load()
        p.expect(isinstance(splits, DataSplits), "shape",
                 f"load() must return DataSplits, got {type(splits).__name__}")
        shapes = {}
        for split in ("train", "val", "test"):
            part = getattr(splits, split)
            p.expect(isinstance(part, ImageSet), "shape", f"{split} is not an ImageSet")
            p.expect(part.images.dtype == np.uint8 and part.images.ndim == 4, "shape",
                     f"{split} images must be uint8 (N, C, H, W), got {part.images.dtype} "
                     f"{part.images.shape}")
            if len(part):
                shapes[split] = part.images.shape[1:]
            if splits.num_classes is not None and len(part):
                p.expect(part.labels is not None, "shape", f"{split} has no labels")
                assert part.labels is not None
                p.expect(part.labels.dtype == np.int64, "shape",
                         f"{split} labels must be int64, got {part.labels.dtype}")
                p.expect(bool(((part.labels >= 0) & (part.labels < splits.num_classes)).all()),
                         "shape", f"{split} has labels outside 0..{splits.num_classes - 1}")
        p.expect(len(splits.train) > 0, "shape", "the train split is empty")
        p.expect(len(set(shapes.values())) == 1, "shape",
                 f"the splits' image shapes differ: {shapes}")
        c, h, w = next(iter(shapes.values()))
        if splits.class_names is not None and splits.num_classes is not None:
            p.expect(len(splits.class_names) == splits.num_classes, "shape",
                     f"{len(splits.class_names)} class names for {splits.num_classes} classes")
        with p.stage("shape"):
            geo = ds.geometry()
        got = (geo.channels, geo.height, geo.width, geo.num_classes)
        p.expect(got == (c, h, w, splits.num_classes), "shape",
                 f"geometry() says {got}, the data is {(c, h, w, splits.num_classes)}")
        with p.stage("determinism"):
            again = p.build().load()
        for split in ("train", "val", "test"):
            a, b = getattr(splits, split), getattr(again, split)
            same = np.array_equal(a.images, b.images) and (
                (a.labels is None and b.labels is None)
                or (a.labels is not None and b.labels is not None
                    and np.array_equal(a.labels, b.labels)))
            p.expect(same, "determinism", f"two loads give different {split} splits")
        with p.stage("Config validation"):
            small = build_part("datasets", p.spec(limit=2)).load()
        for split in ("train", "val", "test"):
            p.expect(len(getattr(small, split)) <= 2, "Config validation",
                     f"limit: 2 left {len(getattr(small, split))} {split} images")
        with p.stage("recipe"):
            _check_recipe(p, "dataset")
