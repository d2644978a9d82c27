"""Augmentations: registered transforms of training batches, applied on the fly.

An augmentation changes the uint8 (B, C, H, W) images of one training batch before they are
tokenized and before the task draws its holes: colours (hue, palette jitter, channel order) and
geometry (flips, scale and shift). It teaches a model to continue what the context shows rather
than to recall the training set's palette and layout. Augmentations are chosen in the recipe as
`augment: [hue, flip, {type: scale_shift, scale: 0.1}]`, validated like any part, and
applied to training batches only: evaluation always sees the images as they are. This package
is not for preprocessing (crop, resize: see `pixelzoo.data.preprocess`) nor for making fixed
evaluation sets (see `pixelzoo.data.toon_transformed`, which reuses the functional forms here).

`apply_augmentations(augs, images, rng)` is the one entry point the training step calls; it
draws from a child of the step's generator, so a resumed run repeats every augmentation and the
step's other draws (its holes) are the same with or without augmentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pixelzoo.augmentations.base import Augmentation

__all__ = ["Augmentation", "apply_augmentations", "build_augmentations"]


def build_augmentations(specs: Sequence[Any] | None, *, channels: int | None = None
                        ) -> list[Augmentation]:
    """Build the recipe's `augment` list (resolved specs, bare names or PartSpecs).

    With `channels` (the dataset's), an augmentation that cannot handle that many channels (hue
    on grey digits) is refused now, with a `PixelzooError`, rather than at the first step.
    """
    from pixelzoo.config import PartSpec
    from pixelzoo.recipe import build_part

    augs = []
    for i, spec in enumerate(specs or []):
        aug = build_part("augmentations", spec)
        name = spec if isinstance(spec, str) else (
            spec.type if isinstance(spec, PartSpec) else spec["type"])
        aug.label = f"augment[{i}] ({name})"
        if channels is not None:
            aug.check_channels(channels)
        augs.append(aug)
    return augs


def apply_augmentations(augs: Sequence[Augmentation], images: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Apply `augs` in order to uint8 (B, C, H, W) `images`; returns a new array (or `images`
    itself when `augs` is empty, so a recipe without augmentation trains bit-identically).

    `rng` is the training step's generator (the engine derives it from seed, epoch, step and
    rank). The augmentations draw from `rng.spawn(1)[0]`, a child stream: `rng`'s own draws
    (the holes the task draws next) do not move, and the same step always gets the same
    augmentation, so resume stays exact.
    """
    if not augs:
        return images
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"augmentations take uint8 (B, C, H, W) images, got {images.dtype} "
                         f"{images.shape}")
    child = rng.spawn(1)[0]
    out = images
    for aug in augs:
        out = aug(out, child)
    return out
