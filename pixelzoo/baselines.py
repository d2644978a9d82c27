"""Classic inpainting baselines: three families of method with no training at all.

* `telea`: OpenCV's `cv2.inpaint` with Telea's fast-marching method;
* `ns`: the same call with the Navier-Stokes (fluid flow) method;
* `biharmonic`: scikit-image's `restoration.inpaint_biharmonic`, a smooth PDE: the hole is the
  solution of the biharmonic equation with the known pixels around it as boundary values.

Every infill table puts the models beside these, on the same images and the same holes, so a
reader can see whether learning bought anything over a method with no training at all. pixelzoo
holes may cover some channels of a pixel only; these methods inpaint whole pixels, so a pixel is
inpainted wherever any of its channels is a hole, and then only the hole sub-pixels take the
inpainted values (known channels keep their true values).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pixelzoo.errors import PixelzooError

Method = Literal["telea", "ns", "biharmonic"]
# name in recipes -> label in tables and picture grids
METHODS: dict[str, str] = {"telea": "TELEA", "ns": "NS", "biharmonic": "biharmonic"}
#: the library that implements each method (said beside the label in comparison tables)
LIBRARIES: dict[str, str] = {"telea": "OpenCV", "ns": "OpenCV", "biharmonic": "scikit-image"}
RADIUS = 3


def inpaint(images: np.ndarray, masks: np.ndarray, method: str, radius: int = RADIUS
            ) -> np.ndarray:
    """Fill the holes of uint8 (n, C, H, W) `images` marked by bool (n, C, H, W) `masks`.

    `method` is 'telea', 'ns' or 'biharmonic'; `radius` is OpenCV's inpaint radius (3, as in
    the issue's reference numbers; biharmonic has none). Returns uint8 (n, C, H, W) with known
    sub-pixels untouched.
    """
    import cv2

    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if method not in METHODS:
        raise PixelzooError(f"unknown inpainting baseline '{method}'; choose one of "
                            f"{', '.join(METHODS)}")
    if images.shape != masks.shape or images.ndim != 4:
        raise ValueError(f"images and masks must share one (n, C, H, W) shape; got "
                         f"{images.shape} and {masks.shape}")
    images = images.astype(np.uint8, copy=False)
    masks = masks.astype(bool, copy=False)
    out = images.copy()
    n, channels = images.shape[:2]
    for i in range(n):
        pixel_hole = masks[i].any(axis=0)
        if not pixel_hole.any():
            continue
        cv_mask = pixel_hole.astype(np.uint8)
        hwc = np.ascontiguousarray(images[i].transpose(1, 2, 0))
        # Zero the hole pixels so no hidden value can leak into the fill (OpenCV ignores them,
        # but making sure costs nothing).
        hwc[pixel_hole] = 0
        if method == "biharmonic":
            filled = _biharmonic(hwc, pixel_hole)
        elif channels in (1, 3):
            filled = cv2.inpaint(hwc, cv_mask, radius, flags[method])
            if filled.ndim == 2:
                filled = filled[:, :, None]
        else:  # cv2.inpaint takes 1- or 3-channel images; other counts go channel by channel
            filled = np.stack([cv2.inpaint(np.ascontiguousarray(hwc[:, :, c]), cv_mask, radius,
                                           flags[method]) for c in range(channels)], axis=2)
        out[i] = np.where(masks[i], filled.transpose(2, 0, 1), images[i])
    return out


def _biharmonic(hwc: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic fill of one uint8 (H, W, C) image; uint8 (H, W, C) back."""
    from skimage.restoration import inpaint_biharmonic

    # Works in floats in [0, 1]; every channel is solved on the same hole, in one call.
    filled = inpaint_biharmonic(hwc.astype(np.float64) / 255.0, hole, channel_axis=-1)
    return np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8)
