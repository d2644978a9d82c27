"""The seed's image preprocessing, shared by every image-file dataset and by `pixelzoo infill`.

cv2 reads BGR, so images are flipped to RGB first. Then a centre crop (the seed: 300x300 of the
500x500 Cartoon Set images) and an area-interpolated resize (the seed: 36x36). The result is a
uint8 (C, H, W) array; start tokens are added later by `pixelzoo.tokens.add_start_tokens`.
"""

from __future__ import annotations

import numpy as np


def center_crop(img: np.ndarray, crop: int | None) -> np.ndarray:
    """Crop the central `crop` x `crop` square of an (H, W[, C]) image; None keeps it whole."""
    if crop is None:
        return img
    h, w = img.shape[:2]
    crop = min(crop, h, w)
    top, left = (h - crop) // 2, (w - crop) // 2
    return img[top:top + crop, left:left + crop]


def resize(img: np.ndarray, size: int) -> np.ndarray:
    """Resize an (H, W[, C]) image to size x size; INTER_AREA when shrinking, as the seed did."""
    import cv2

    if img.shape[0] == size and img.shape[1] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] >= size else cv2.INTER_LINEAR
    out = cv2.resize(img, (size, size), interpolation=interp)
    if img.ndim == 3 and out.ndim == 2:  # cv2 drops a single channel axis
        out = out[:, :, None]
    return out


def to_chw(img: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> uint8 (C, H, W)."""
    if img.ndim == 2:
        img = img[:, :, None]
    return np.ascontiguousarray(img.transpose(2, 0, 1)).astype(np.uint8, copy=False)


def preprocess_rgb(img_rgb: np.ndarray, *, crop: int | None = 300, size: int = 36) -> np.ndarray:
    """An RGB (or grayscale) (H, W[, C]) uint8 image -> uint8 (C, size, size)."""
    return to_chw(resize(center_crop(img_rgb, crop), size))


def bgr_to_rgb(img: np.ndarray) -> np.ndarray:
    """cv2 decodes colour images as BGR(A); return RGB, dropping any alpha channel."""
    if img.ndim == 3 and img.shape[2] >= 3:
        return np.ascontiguousarray(img[:, :, 2::-1])
    return img
