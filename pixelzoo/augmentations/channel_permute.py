"""`channel_permute`: shuffle the order of an image's channels (RGB -> GBR, BRG, ...).

A cheap, strong colour change: each channel plane stays as it was and only moves to another
slot, so a red face turns blue or green while every edge and every shade of the drawing keep
their place. Each image draws one of the C! orders uniformly (the identity included).
"""

from __future__ import annotations

import numpy as np

from pixelzoo.augmentations.base import Augmentation, AugmentationConfig


def permute_channels(images: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Reorder the channels of (B, C, H, W) `images`: out[i, c] = images[i, orders[i, c]]."""
    orders = np.asarray(orders, dtype=np.int64)
    if orders.shape != images.shape[:2] or not (np.sort(orders, axis=1)
                                                == np.arange(images.shape[1])).all():
        raise ValueError(f"orders must hold one permutation of 0..{images.shape[1] - 1} per "
                         f"image, got shape {orders.shape}")
    return np.take_along_axis(images, orders[:, :, None, None], axis=1)


class ChannelPermuteAugmentation(Augmentation):
    """A uniformly random channel order per image."""

    class Config(AugmentationConfig):
        pass

    def transform(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = images.shape[1]
        orders = np.argsort(rng.random((len(images), c)), axis=1)  # uniform permutations
        return permute_channels(images, orders)
