"""Infill metrics against values worked out by hand on tiny images."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pixelzoo.metrics import MAX_PSNR, hole_metrics, l1, psnr, ssim, ssim_window


def one(values: list[list[int]]) -> np.ndarray:
    return np.array(values, dtype=np.uint8)[None, None]


def test_single_image_by_hand() -> None:
    truth = one([[10, 20], [30, 40]])
    pred = one([[99, 24], [30, 37]])  # (0, 0) is known: its wrong value must be ignored
    holes = np.array([[False, True], [False, True]])[None, None]
    logp = np.log(np.array([[1.0, 0.5], [1.0, 0.25]]))[None, None]
    m = hole_metrics(truth, pred, holes, true_logp=logp)
    mse = (4**2 + 3**2) / 2  # 12.5
    assert m["psnr"] == pytest.approx(10 * math.log10(255**2 / mse))  # 37.16 dB
    assert m["psnr"] == pytest.approx(37.1617, abs=1e-4)
    assert m["l1"] == pytest.approx(3.5)
    assert m["accuracy"] == 0.0
    assert m["nll_bits"] == pytest.approx(1.5)  # (1 bit + 2 bits) / 2


def test_psnr_and_l1_average_over_images_and_skip_images_without_holes() -> None:
    truth = np.zeros((3, 1, 1, 2), np.uint8)
    pred = truth.copy()
    pred[0, 0, 0, 0] = 1   # MSE 1 on its one hole
    pred[1, 0, 0, 0] = 10  # MSE 100
    holes = np.zeros_like(truth, dtype=bool)
    holes[0, 0, 0, 0] = holes[1, 0, 0, 0] = True  # image 2 has no hole
    per = psnr(truth, pred, holes)
    assert per[0] == pytest.approx(20 * math.log10(255))
    assert per[1] == pytest.approx(20 * math.log10(255) - 20)
    assert math.isnan(per[2])
    m = hole_metrics(truth, pred, holes)
    assert m["psnr"] == pytest.approx(20 * math.log10(255) - 10)  # the mean of the two
    assert m["l1"] == pytest.approx(5.5)
    assert list(l1(truth, pred, holes)[:2]) == [1.0, 10.0]


def test_channel_level_holes_count_sub_pixels() -> None:
    truth = np.zeros((1, 3, 1, 1), np.uint8)
    pred = np.array([7, 2, 0], np.uint8).reshape(1, 3, 1, 1)
    holes = np.array([False, True, True]).reshape(1, 3, 1, 1)  # red known, green+blue holes
    m = hole_metrics(truth, pred, holes)
    assert m["l1"] == pytest.approx(1.0)  # (2 + 0) / 2; red's 7 is pasted over by the truth
    assert m["accuracy"] == pytest.approx(0.5)


def test_perfect_fill_is_capped() -> None:
    truth = one([[5, 6], [7, 8]])
    holes = np.ones_like(truth, dtype=bool)
    m = hole_metrics(truth, truth.copy(), holes)
    assert m["psnr"] == pytest.approx(MAX_PSNR)
    assert m["accuracy"] == 1.0 and m["l1"] == 0.0
    assert m["ssim"] == pytest.approx(1.0)


def test_ssim_of_flat_images_by_hand() -> None:
    # Flat images have no variance, so SSIM is the luminance term alone:
    # (2ab + C1) / (a^2 + b^2 + C1) with C1 = (0.01 * 255)^2.
    a, b = 100.0, 110.0
    truth = np.full((1, 3, 36, 36), a, np.uint8)
    pred = np.full((1, 3, 36, 36), b, np.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # 0.99548
    assert ssim(truth, pred)[0] == pytest.approx(expected, rel=1e-5)
    holes = np.ones_like(truth, dtype=bool)
    assert hole_metrics(truth, pred, holes)["ssim"] == pytest.approx(expected, rel=1e-5)


def test_ssim_fits_its_window_to_tiny_images() -> None:
    assert ssim_window(36, 36) == 1.5  # the standard 11x11 window
    sigma = ssim_window(4, 4)
    assert int(3.5 * sigma + 0.5) < 4
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (2, 1, 4, 4), dtype=np.uint8)
    out = ssim(img, img)
    assert out == pytest.approx([1.0, 1.0])


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError):
        hole_metrics(np.zeros((1, 1, 2, 2), np.uint8), np.zeros((1, 1, 2, 3), np.uint8),
                     np.zeros((1, 1, 2, 2), bool))


def test_ssim_in_chunks_is_ssim_of_each_image() -> None:
    """`ssim` calls torchmetrics a few images at a time; each image's value is unchanged."""
    import torch
    from torchmetrics.functional.image import structural_similarity_index_measure

    from pixelzoo.metrics import SSIM_CHUNK

    rng = np.random.default_rng(1)
    n = 2 * SSIM_CHUNK + 3 if SSIM_CHUNK > 1 else 5
    truth = rng.integers(0, 256, (n, 3, 36, 36), dtype=np.uint8)
    pred = truth.copy()
    pred[:, :, 8:20, 5:30] = rng.integers(0, 256, (n, 3, 12, 25), dtype=np.uint8)
    whole = structural_similarity_index_measure(
        torch.from_numpy(pred.astype(np.float64)), torch.from_numpy(truth.astype(np.float64)),
        data_range=255.0, sigma=1.5, reduction="none").numpy()
    np.testing.assert_allclose(ssim(truth, pred), whole, rtol=0, atol=1e-12)

