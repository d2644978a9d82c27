"""`mixture`: several datasets as one, mixed in the training split with given weights.

So that a user's own `image_folder` can join `toon` (or any other set) in training:
`dataset: {type: mixture, datasets: [{type: image_folder, root: faces, size: 36}, toon],
weights: [0.5, 0.5]}`. The components are full dataset specs, validated by their own Configs,
and must share one geometry (channels, height, width): a clear `DataError` says which differ.

* **train**: `count` images (default: all the components' training images together), each
  component giving its `weights` share. A component with fewer images than its share repeats
  them, every image as often as any other, in an order drawn from `seed`; one with more gives a
  random subset. The result is shuffled by `seed`, so a batch mixes the sources.
* **val** and **test**: every component's own val and test images, whole, one component after
  the other, never repeated: a table over a mixture counts each held-out image once.

Names are prefixed with the component's index (`0:cs1234`). Labels are kept when every
component has the same classes, and refused when some have labels and others do not, or their
classes differ. Augmentation (the recipe's `augment`) applies to the mixture's training batches
as to any dataset's; no component is augmented at load time.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from pixelzoo.config import Kind, PartSpec
from pixelzoo.data.base import Dataset, DatasetConfig, DataSplits, Geometry, ImageSet
from pixelzoo.errors import DataError


class MixtureDataset(Dataset):
    """Several datasets of one geometry, mixed with weights in the training split."""

    class Config(DatasetConfig):
        datasets: list[Annotated[PartSpec, Kind("datasets")]] = Field(
            min_length=1, description="the component datasets, e.g. [{type: image_folder, "
                                      "root: faces, size: 36}, toon]")
        weights: list[float] | None = Field(
            None, description="each component's share of the training split (normalised; "
                              "default: in proportion to their training images)")
        count: int | None = Field(
            None, ge=1, description="training images in the mixture (default: all the "
                                    "components' training images together)")

        @model_validator(mode="after")
        def _check(self) -> MixtureDataset.Config:
            w = self.weights
            if w is not None:
                if len(w) != len(self.datasets):
                    raise ValueError(f"weights has {len(w)} entries for "
                                     f"{len(self.datasets)} datasets")
                if any(x < 0 for x in w) or sum(w) <= 0:
                    raise ValueError("weights must be non-negative with a positive sum")
            return self

    config: Config

    def _components(self) -> list[Dataset]:
        from pixelzoo.recipe import build_part

        return [build_part("datasets", spec) for spec in self.config.datasets]

    def geometry(self) -> Geometry:
        geos = [d.geometry() for d in self._components()]
        _same_geometry([(g.channels, g.height, g.width) for g in geos], self.config.datasets)
        classes = {g.num_classes for g in geos}
        return Geometry(geos[0].channels, geos[0].height, geos[0].width,
                        classes.pop() if len(classes) == 1 else None)

    def load(self) -> DataSplits:
        c = self.config
        parts = [d.load() for d in self._components()]
        specs = c.datasets
        _same_geometry([(p.channels, p.height, p.width) for p in parts], specs)
        num_classes, class_names = _same_classes(parts, specs)

        sizes = np.array([len(p.train) for p in parts], dtype=np.int64)
        if (sizes == 0).any():
            empty = [f"datasets[{i}] ({specs[i].type})" for i in np.flatnonzero(sizes == 0)]
            raise DataError(f"mixture: {', '.join(empty)} has no training images")
        total = int(c.count if c.count is not None else sizes.sum())
        w = np.asarray(c.weights if c.weights is not None else sizes, dtype=np.float64)
        shares = _apportion(total, w / w.sum())

        rng = np.random.default_rng(np.random.SeedSequence([c.seed % 2**63, 0x6D6978]))
        chunks: list[tuple[int, np.ndarray]] = []
        for k, (part, share) in enumerate(zip(parts, shares, strict=True)):
            n = len(part.train)
            # Whole passes over a fresh permutation each, then part of one more: every image
            # appears floor(share/n) or that plus one times.
            reps = [rng.permutation(n) for _ in range(-(-int(share) // n))]
            idx = np.concatenate(reps)[:share] if reps else np.empty(0, np.int64)
            chunks.append((k, idx))
        order = rng.permutation(total)
        train = _gather(parts, chunks, "train", labelled=num_classes is not None)
        train = ImageSet(train.images[order],
                         None if train.labels is None else train.labels[order],
                         [train.names[i] for i in order] if train.names else None)

        def whole(split: str) -> ImageSet:
            picks = [(k, np.arange(len(getattr(p, split)))) for k, p in enumerate(parts)]
            return _gather(parts, picks, split, labelled=num_classes is not None)

        sets = {"train": train, "val": whole("val"), "test": whole("test")}
        if c.limit is not None:
            sets = {k: v.take(c.limit) for k, v in sets.items()}
        # each note says which part it is about, once (a part may name itself already)
        notes = [note if note.startswith(f"{specs[i].type}: ") else f"{specs[i].type}: {note}"
                 for i, p in enumerate(parts) for note in p.notes]
        bad = [f"{i}:{name}" for i, p in enumerate(parts) for name in p.bad_files]
        return DataSplits(train=sets["train"], val=sets["val"], test=sets["test"],
                          num_classes=num_classes, class_names=class_names, notes=notes,
                          bad_files=bad)


def _same_geometry(shapes: list[tuple[int, int, int]], specs: list[PartSpec]) -> None:
    if len(set(shapes)) > 1:
        listed = "; ".join(f"datasets[{i}] ({s.type}): {c}x{h}x{w}"
                           for i, (s, (c, h, w)) in enumerate(zip(specs, shapes, strict=True)))
        raise DataError(f"mixture: the datasets' images differ in shape (channels x height x "
                        f"width): {listed}. Give them one size and channel count (e.g. size: 36, "
                        "channels: 3 on an image_folder)")


def _same_classes(parts: list[DataSplits], specs: list[PartSpec]
                  ) -> tuple[int | None, list[str] | None]:
    labelled = [p.num_classes is not None for p in parts]
    if not any(labelled):
        return None, None
    if not all(labelled):
        which = ", ".join(f"datasets[{i}] ({specs[i].type})"
                          for i, has in enumerate(labelled) if not has)
        raise DataError(f"mixture: some datasets have class labels and {which} has none; "
                        "mix labelled sets only with labelled sets of the same classes")
    kinds = {(p.num_classes, tuple(p.class_names or [])) for p in parts}
    if len(kinds) > 1:
        raise DataError("mixture: the datasets have different classes: "
                        + "; ".join(f"datasets[{i}]: {p.num_classes} ({p.class_names})"
                                    for i, p in enumerate(parts)))
    return parts[0].num_classes, parts[0].class_names


def _apportion(total: int, fractions: np.ndarray) -> list[int]:
    """Split `total` into integer shares as close to `fractions` as possible (largest
    remainders), so the shares always add up to `total`."""
    raw = fractions * total
    shares = np.floor(raw).astype(np.int64)
    for i in np.argsort(-(raw - shares), kind="stable")[: total - int(shares.sum())]:
        shares[i] += 1
    return [int(s) for s in shares]


def _gather(parts: list[DataSplits], picks: list[tuple[int, np.ndarray]], split: str,
            *, labelled: bool) -> ImageSet:
    images, labels, names = [], [], []
    for k, idx in picks:
        part: ImageSet = getattr(parts[k], split)
        images.append(part.images[idx])
        if labelled:
            assert part.labels is not None
            labels.append(part.labels[idx])
        src = part.names or [f"{i:06d}" for i in range(len(part))]
        names.extend(f"{k}:{src[i]}" for i in idx)
    shape = parts[0].train.images.shape[1:]
    return ImageSet(np.concatenate(images) if images else np.empty((0, *shape), np.uint8),
                    np.concatenate(labels).astype(np.int64) if labelled else None, names)
