"""Classic baselines on known images: holes filled plausibly, known sub-pixels untouched."""

from __future__ import annotations

import numpy as np
import pytest

from pixelzoo.baselines import inpaint
from pixelzoo.errors import PixelzooError


def two_tone() -> np.ndarray:
    """A 36x36 RGB image: left half one colour, right half another."""
    img = np.zeros((1, 3, 36, 36), np.uint8)
    img[0, :, :, :18] = np.array([200, 40, 40])[:, None, None]
    img[0, :, :, 18:] = np.array([30, 60, 220])[:, None, None]
    return img


@pytest.mark.parametrize("method", ["telea", "ns", "biharmonic"])
def test_fills_holes_in_flat_regions_with_the_region_colour(method: str) -> None:
    img = two_tone()
    holes = np.zeros_like(img, dtype=bool)
    holes[0, :, 10:14, 4:9] = True     # inside the left half
    holes[0, :, 20:24, 26:31] = True   # inside the right half
    out = inpaint(img, holes, method)
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert (out[~holes] == img[~holes]).all()
    diff = np.abs(out.astype(int) - img.astype(int))[holes]
    assert diff.max() <= 2  # flat colour in, flat colour out


@pytest.mark.parametrize("method", ["telea", "ns", "biharmonic"])
def test_channel_level_holes_keep_known_channels(method: str) -> None:
    img = two_tone()
    img[0, 0, 12, 6] = 77  # an odd red value at a pixel whose green and blue are holes
    holes = np.zeros_like(img, dtype=bool)
    holes[0, 1:, 12, 6] = True
    out = inpaint(img, holes, method)
    assert out[0, 0, 12, 6] == 77
    assert abs(int(out[0, 1, 12, 6]) - 40) <= 2 and abs(int(out[0, 2, 12, 6]) - 40) <= 2


@pytest.mark.parametrize("method", ["telea", "biharmonic"])
def test_hidden_values_never_leak(method: str) -> None:
    img = two_tone()
    holes = np.zeros_like(img, dtype=bool)
    holes[0, :, 5:9, 5:9] = True
    changed = img.copy()
    changed[holes] = 255  # a different truth under the hole
    assert (inpaint(img, holes, method) == inpaint(changed, holes, method)).all()


def gradient() -> np.ndarray:
    """A 36x36 RGB image whose channels are smooth ramps: linear, quadratic, diagonal."""
    y, x = np.mgrid[0:36, 0:36].astype(np.float64)
    planes = [20 + 6 * x, 30 + 0.15 * (x - 4) ** 2 + 2 * y, 40 + 3 * x + 2.5 * y]
    return np.clip(np.rint(np.stack(planes)), 0, 255).astype(np.uint8)[None]


def test_biharmonic_fills_a_smooth_gradient_hole_accurately() -> None:
    img = gradient()
    holes = np.zeros_like(img, dtype=bool)
    holes[0, :, 12:22, 10:24] = True  # a 10x14 hole, 11% of the image
    out = inpaint(img, holes, "biharmonic")
    assert (out[~holes] == img[~holes]).all()
    err = np.abs(out.astype(int) - img.astype(int))[holes]
    # A biharmonic fill reproduces linear ramps exactly (and a quadratic almost): within
    # rounding. Fast marching smears the gradient far more on the same hole.
    assert err.max() <= 2 and err.mean() < 0.6
    telea = np.abs(inpaint(img, holes, "telea").astype(int) - img.astype(int))[holes]
    assert telea.mean() > 2 * err.mean()


def test_biharmonic_on_gray_and_two_channel_images() -> None:
    gray = np.full((2, 1, 16, 16), 90, np.uint8)
    holes = np.zeros_like(gray, dtype=bool)
    holes[:, :, 6:9, 6:9] = True
    assert (np.abs(inpaint(gray, holes, "biharmonic").astype(int) - 90) <= 1).all()
    two = np.full((1, 2, 16, 16), 50, np.uint8)
    two[0, 1] = 150
    holes2 = np.zeros_like(two, dtype=bool)
    holes2[0, :, 4:7, 4:7] = True
    out = inpaint(two, holes2, "biharmonic")
    assert out[0, 0, 5, 5] == 50 and out[0, 1, 5, 5] == 150


def test_gray_and_two_channel_images() -> None:
    gray = np.full((2, 1, 16, 16), 90, np.uint8)
    holes = np.zeros_like(gray, dtype=bool)
    holes[:, :, 6:9, 6:9] = True
    assert (np.abs(inpaint(gray, holes, "ns").astype(int) - 90) <= 2).all()
    two = np.full((1, 2, 16, 16), 50, np.uint8)
    two[0, 1] = 150
    holes2 = np.zeros_like(two, dtype=bool)
    holes2[0, :, 4:7, 4:7] = True
    out = inpaint(two, holes2, "telea")
    assert abs(int(out[0, 0, 5, 5]) - 50) <= 2 and abs(int(out[0, 1, 5, 5]) - 150) <= 2


def test_unknown_method_is_a_user_error() -> None:
    img = two_tone()
    with pytest.raises(PixelzooError, match="telea"):
        inpaint(img, np.zeros_like(img, dtype=bool), "patchmatch")
