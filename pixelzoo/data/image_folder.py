"""`image_folder`: any folder of images, optionally one sub-folder per class.

For data that has no loader of its own. Images directly in `root` form an unlabelled set (for
infill); images in sub-folders are labelled by their top-level sub-folder, classes numbered in
sorted name order (as torchvision's ImageFolder does), for classification. Images are decoded by
content, converted to gray or RGB (`channels`), optionally centre-cropped, and resized to `size`.
Splits are assigned by a hash of each file's path relative to `root` (not by `seed`), so adding
images never reshuffles the existing ones and every run sees the same test set. Unreadable files
follow `on_bad_image`, as in `cartoonset`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from pixelzoo.data.base import DataSplits, Dataset, DatasetConfig, Geometry, ImageSet
from pixelzoo.data.images import find_images, handle_bad, load_folder_splits
from pixelzoo.data.splits import check_fractions, hash_split
from pixelzoo.errors import DataError


class ImageFolderDataset(Dataset):
    """A folder of images, with class sub-folders as labels when present."""

    class Config(DatasetConfig):
        root: Path
        size: int = Field(32, ge=1)
        # Centre crop before resizing: a side in pixels, 'square' for the largest central
        # square (keeps the aspect ratio), or None to resize the whole image.
        crop: int | Literal["square"] | None = None
        channels: Literal[1, 3] = 3
        on_bad_image: Literal["skip", "error"] = "skip"
        val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
        test_fraction: float = Field(0.1, ge=0.0, lt=1.0)
        cache: bool = True

        @model_validator(mode="after")
        def _fractions(self) -> ImageFolderDataset.Config:
            check_fractions(self.val_fraction, self.test_fraction)
            if isinstance(self.crop, int) and self.crop < 1:
                raise ValueError("crop must be a positive number of pixels, 'square' or null")
            return self

    config: Config

    def _scan(self) -> tuple[list[Path], list[Path], list[str] | None]:
        """The image files, their paths relative to root, and the class names (None if flat)."""
        root = self.config.root
        if not root.is_dir():
            what = "does not exist" if not root.exists() else "is not a folder"
            raise DataError(f"image_folder: {root} {what}; set dataset.root to a folder of "
                            "images (optionally one sub-folder per class)")
        files = find_images(root)
        if not files:
            raise DataError(f"image_folder: no images (png, jpg, ...) found in {root}")
        rel = [p.relative_to(root) for p in files]
        nested = [len(r.parts) > 1 for r in rel]
        if not any(nested):
            return files, rel, None
        if not all(nested):
            loose = [r.as_posix() for r, n in zip(rel, nested, strict=True) if not n][:3]
            raise DataError(
                f"image_folder: {root} has class sub-folders and also images directly in it "
                f"({', '.join(loose)}...); move those into a class folder or remove them")
        return files, rel, sorted({r.parts[0] for r in rel})

    def geometry(self) -> Geometry:
        # Listing the folder is enough: the shape comes from the config, classes from names.
        c = self.config
        _, _, class_names = self._scan()
        return Geometry(c.channels, c.size, c.size,
                        None if class_names is None else len(class_names))

    def load(self) -> DataSplits:
        cfg = self.config
        root = cfg.root
        files, rel, class_names = self._scan()
        labels_all: np.ndarray | None = None
        if class_names is not None:
            lookup = {c: i for i, c in enumerate(class_names)}
            labels_all = np.array([lookup[r.parts[0]] for r in rel], dtype=np.int64)

        keys = [r.as_posix() for r in rel]
        split_of = hash_split(keys, cfg.val_fraction, cfg.test_fraction)
        got = load_folder_splits(dataset="image_folder", root=root, files=files,
                                 split_of=split_of, channels=cfg.channels, crop=cfg.crop,
                                 size=cfg.size, limit=cfg.limit, use_cache=cfg.cache)
        bad = handle_bad(got.bad, cfg.on_bad_image, dataset="image_folder", root=root)
        if not any(len(v) for v in got.images.values()):
            raise DataError(f"image_folder: none of the {len(files)} image files in {root} "
                            "could be read")

        def image_set(split: str) -> ImageSet:
            idx = got.index[split]
            labels = None if labels_all is None else labels_all[idx]
            return ImageSet(got.images[split], labels, [keys[i] for i in idx])

        return DataSplits(
            train=image_set("train"), val=image_set("val"), test=image_set("test"),
            num_classes=None if class_names is None else len(class_names),
            class_names=class_names, bad_files=bad)
