"""The dataset interface every dataset plugin implements.

A dataset plugin is a class with a nested `Config` (a `PartConfig`) and a `load()` method that
returns a `DataSplits`: train, val and test `ImageSet`s of uint8 (N, C, H, W) numpy images plus
optional int64 labels. Images stay small (tens of pixels a side) and live in memory; start tokens
are added later, in one place (`pixelzoo.tokens.add_start_tokens`). Problems with the data a user
supplied raise `DataError` naming the file and line, which the CLI reports with exit status 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from pixelzoo.config import PartConfig, Seed


@dataclass
class ImageSet:
    """One split: uint8 images (N, C, H, W) and optional int64 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray | None = None
    names: list[str] | None = None  # file names or ids, where the source has them

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{self.images.shape}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError("labels and images differ in length")

    def __len__(self) -> int:
        return len(self.images)

    def take(self, n: int | None) -> ImageSet:
        if n is None or n >= len(self):
            return self
        return ImageSet(self.images[:n], None if self.labels is None else self.labels[:n],
                        None if self.names is None else self.names[:n])


@dataclass(frozen=True)
class Geometry:
    channels: int
    height: int
    width: int
    num_classes: int | None = None


@dataclass
class DataSplits:
    """The three splits, and what the rest of the pipeline needs to know about them."""

    train: ImageSet
    val: ImageSet
    test: ImageSet
    num_classes: int | None = None
    class_names: list[str] | None = None
    # One-line notices for the user, e.g. "real set not found, using toon". A dataset returns them
    # rather than logging them: whoever presents the data shows each once (`pixelzoo run` prints
    # them on rank 0 and keeps them in summary.json), so they never appear twice or per rank.
    notes: list[str] = field(default_factory=list)
    bad_files: list[str] = field(default_factory=list)  # skipped unreadable images
    attributes: dict[str, Any] | None = None  # per-split attribute tables, where present

    @property
    def channels(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def height(self) -> int:
        return int(self.train.images.shape[2])

    @property
    def width(self) -> int:
        return int(self.train.images.shape[3])


class DatasetConfig(PartConfig):
    """Options every dataset accepts."""

    limit: int | None = Field(None, ge=1)  # the first N images of each split (after splitting)
    seed: Seed = 0


class Dataset:
    """Base class for dataset plugins."""

    Config: ClassVar[type[DatasetConfig]] = DatasetConfig

    def __init__(self, config: DatasetConfig):
        self.config = config

    def load(self) -> DataSplits:  # pragma: no cover - interface
        raise NotImplementedError

    def geometry(self) -> Geometry:
        """(channels, height, width, num_classes) without loading everything, where possible.

        Used by `pixelzoo show` to count a model's parameters; the default loads the data.
        """
        d = self.load()
        return Geometry(d.channels, d.height, d.width, d.num_classes)
