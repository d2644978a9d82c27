"""`cartoonset`: Google's Cartoon Set, preprocessed exactly as the seed did, with attributes.

The Cartoon Set is a folder of 500x500 `csXXXX.png` faces, each with an optional `csXXXX.csv`
listing `"attribute", variant, total` lines (Kaggle's copy may be JPEG, in sub-folders, so the
folder is searched recursively and files are decoded by content). Preprocessing follows the seed:
cv2 decode, BGR to RGB, centre crop 300x300, area resize to 36x36; crop and size are options.
Attribute names come from the CSV files themselves. Splits are assigned by a hash of each file's
stem, so adding images never moves existing ones and a PNG and a JPEG copy of one face agree; the
split ignores `seed` on purpose, so every run and every model compared sees the same test set.
When the folder is missing and the recipe says `fallback: toon`, the built-in `toon` generator
stands in for it and the returned `notes` carry one line saying so and where the real set belongs
(returned, not logged: the caller shows notes once, e.g. `pixelzoo run` on rank 0).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from pixelzoo.data.base import DataSplits, Dataset, DatasetConfig, Geometry, ImageSet
from pixelzoo.data.images import find_images, handle_bad, load_folder_splits
from pixelzoo.data.splits import check_fractions, hash_split
from pixelzoo.errors import DataError

DOWNLOAD_HINT = ("download cartoonset10k from https://google.github.io/cartoonset/ (or Kaggle) "
                 "and unpack its csXXXX.png files")


def read_attribute_csv(path: Path) -> list[tuple[str, int, int]]:
    """One `csXXXX.csv` -> [(name, variant, total), ...]; DataError at file:line if malformed."""
    rows: list[tuple[str, int, int]] = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for line_no, cells in enumerate(csv.reader(f, skipinitialspace=True), start=1):
                if not cells or not "".join(cells).strip():
                    continue
                if len(cells) != 3:
                    raise DataError(f"{path}:{line_no}: expected 3 fields (\"attribute\", "
                                    f"variant, total), found {len(cells)}")
                name = cells[0].strip()
                try:
                    variant, total = int(cells[1]), int(cells[2])
                except ValueError:
                    raise DataError(f"{path}:{line_no}: variant and total must be integers, "
                                    f"got {cells[1]!r}, {cells[2]!r}") from None
                rows.append((name, variant, total))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text attribute file ({exc.reason})") from None
    return rows


def find_attribute_files(root: Path) -> dict[str, Path]:
    """Stem -> CSV path for every CSV under root (hidden folders skipped), first one wins."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            stem, ext = os.path.splitext(fn)
            if ext.lower() == ".csv":
                found.setdefault(stem, Path(dirpath) / fn)
    return found


def attribute_tables(
    stems_per_split: dict[str, list[str]], csvs: dict[str, Path]
) -> dict[str, dict[str, np.ndarray]] | None:
    """Per split, attribute name -> int64 variant per image (-1 where an image has no value).

    The layout matches the `toon` generator's, so code reading attributes works whichever of the
    two supplied the data. Names are taken in order of first appearance across the files, so a
    Cartoon Set release with other attributes works unchanged.
    """
    parsed: dict[str, list[tuple[str, int, int]]] = {}
    for stems in stems_per_split.values():
        for stem in stems:
            if stem in csvs:
                parsed[stem] = read_attribute_csv(csvs[stem])
    if not parsed:
        return None
    names: dict[str, None] = {}
    for rows in parsed.values():
        for name, _, _ in rows:
            names.setdefault(name, None)
    tables: dict[str, dict[str, np.ndarray]] = {}
    for split, stems in stems_per_split.items():
        table = {name: np.full(len(stems), -1, dtype=np.int64) for name in names}
        for r, stem in enumerate(stems):
            for name, variant, _ in parsed.get(stem, ()):
                table[name][r] = variant
        tables[split] = table
    return tables


class CartoonSetDataset(Dataset):
    """Google's Cartoon Set (or Kaggle's copy), with the seed's preprocessing."""

    class Config(DatasetConfig):
        root: Path = Path("data/cartoonset10k")
        size: int = Field(36, ge=1)
        crop: int | None = Field(300, ge=1)  # centre crop before resizing; None keeps it whole
        channels: Literal[1, 3] = 3
        fallback: Literal["toon"] | None = None
        on_bad_image: Literal["skip", "error"] = "skip"
        val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
        test_fraction: float = Field(0.1, ge=0.0, lt=1.0)
        attributes: bool = True
        cache: bool = True

        @model_validator(mode="after")
        def _fractions(self) -> CartoonSetDataset.Config:
            check_fractions(self.val_fraction, self.test_fraction)
            return self

    config: Config

    def geometry(self) -> Geometry:
        # The preprocessing fixes the shape, for the real set and the toon fallback alike.
        c = self.config
        return Geometry(c.channels, c.size, c.size, None)

    def load(self) -> DataSplits:
        cfg = self.config
        root = cfg.root
        if not root.exists():
            if cfg.fallback == "toon":
                return self._fallback()
            raise DataError(f"cartoonset: the Cartoon Set was not found at {root}: {DOWNLOAD_HINT} "
                            "there, set dataset.root, or add 'fallback: toon' to use the built-in "
                            "generator")
        if not root.is_dir():
            raise DataError(f"cartoonset: {root} is not a folder; dataset.root must be the "
                            "folder holding the csXXXX.png images")
        files = find_images(root)
        if not files:
            raise DataError(f"cartoonset: no images (png, jpg, ...) found in {root}; "
                            f"{DOWNLOAD_HINT} there")

        stems = [p.stem for p in files]
        split_of = hash_split(stems, cfg.val_fraction, cfg.test_fraction)
        got = load_folder_splits(dataset="cartoonset", root=root, files=files,
                                 split_of=split_of, channels=cfg.channels, crop=cfg.crop,
                                 size=cfg.size, limit=cfg.limit, use_cache=cfg.cache)
        bad = handle_bad(got.bad, cfg.on_bad_image, dataset="cartoonset", root=root)
        names = {s: [files[i].relative_to(root).as_posix() for i in got.index[s]]
                 for s in got.index}
        if not any(len(v) for v in got.images.values()):
            raise DataError(f"cartoonset: none of the {len(files)} image files in {root} could "
                            "be read")
        attrs = None
        if cfg.attributes:
            csvs = find_attribute_files(root)
            attrs = attribute_tables({s: [stems[i] for i in got.index[s]] for s in got.index},
                                     csvs)
        sets = {s: ImageSet(got.images[s], None, names[s]) for s in got.images}
        return DataSplits(train=sets["train"], val=sets["val"], test=sets["test"],
                          bad_files=bad, attributes=attrs)

    def _fallback(self) -> DataSplits:
        from pixelzoo.registry import DATASETS

        cfg = self.config
        note = (f"cartoonset: the real Cartoon Set was not found at {cfg.root} ({DOWNLOAD_HINT} "
                "there to use it); using the built-in 'toon' generator instead")
        toon_cls = DATASETS.get("toon")
        wanted = {"size": cfg.size, "crop": cfg.crop, "limit": cfg.limit, "seed": cfg.seed,
                  "val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction,
                  "cache": cfg.cache}
        # Pass only what the generator understands: its Config forbids unknown keys.
        fields = toon_cls.Config.model_fields
        splits = toon_cls(toon_cls.Config(**{k: v for k, v in wanted.items()
                                             if k in fields})).load()
        if cfg.channels == 1 and splits.channels == 3:
            for part in (splits.train, splits.val, splits.test):
                if part.images.shape[1] == 3:
                    part.images = rgb_to_gray(part.images)
        splits.notes.insert(0, note)
        return splits


def rgb_to_gray(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 3, H, W) RGB -> (N, 1, H, W) gray, with cv2's luma weights."""
    import cv2

    n, _, h, w = images.shape
    if n == 0:
        return np.zeros((0, 1, h, w), np.uint8)
    hwc = np.ascontiguousarray(images.transpose(0, 2, 3, 1)).reshape(n * h, w, 3)
    return cv2.cvtColor(hwc, cv2.COLOR_RGB2GRAY).reshape(n, 1, h, w)
