"""Infill quality metrics, computed on the holes: PSNR, SSIM, L1, exact-token accuracy, NLL bits.

Every infill number pixelzoo prints comes from `hole_metrics`, for the models and for the classic
baselines alike, so a table row means the same thing whoever filled the holes. Inputs are uint8
(n, C, H, W) images (the truth and a filled prediction whose known sub-pixels equal the truth) and
a bool (n, C, H, W) hole map; a hole can cover some channels of a pixel only. Definitions:

* `psnr`: per image, 10·log10(255² / MSE) with the MSE over that image's hole sub-pixels, then
  the mean over images. The MSE is floored at `MSE_FLOOR` (PSNR at most 60 dB) so that an image
  whose holes happen to be filled exactly (a hole in flat white background) counts as a very good
  image instead of an infinity that would swamp the mean.
* `ssim`: torchmetrics' `structural_similarity_index_measure` on the full image (known pixels are
  the truth, holes the prediction), data range 255, per image, then the mean. Its Gaussian window
  (σ 1.5, 11x11) suits 36x36 images; images too small for it get a narrower window.
* `l1`: per image, the mean absolute error over hole sub-pixels in intensity units (0..255), then
  the mean over images.
* `accuracy`: the fraction of all hole sub-pixels whose value is exactly right (pooled).
* `nll_bits`: the mean over all hole sub-pixels of -log2 p(true value) (pooled), when the caller
  passes the log-probabilities the model assigned to the true values.

Images without any hole are left out of the per-image means.
"""

from __future__ import annotations

import math

import numpy as np

PEAK = 255.0
SSIM_CHUNK = 1  # images per torchmetrics call (`ssim`)
MAX_PSNR = 60.0
MSE_FLOOR = PEAK**2 / 10 ** (MAX_PSNR / 10)
METRICS = ("psnr", "ssim", "l1", "accuracy", "nll_bits")
#: Whether a larger value is better, per metric name.
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "l1": False, "accuracy": True, "nll_bits": False}


def _check(truth: np.ndarray, pred: np.ndarray, masks: np.ndarray) -> None:
    if truth.shape != pred.shape or truth.shape != masks.shape or truth.ndim != 4:
        raise ValueError(f"truth, prediction and masks must share one (n, C, H, W) shape; got "
                         f"{truth.shape}, {pred.shape}, {masks.shape}")


def per_image_mse(truth: np.ndarray, pred: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(n,) mean squared error over each image's hole sub-pixels (nan where there is none)."""
    _check(truth, pred, masks)
    diff = (truth.astype(np.float64) - pred.astype(np.float64)) ** 2
    m = masks.astype(bool)
    count = m.sum(axis=(1, 2, 3))
    total = np.where(m, diff, 0.0).sum(axis=(1, 2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def psnr(truth: np.ndarray, pred: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(n,) PSNR in dB over each image's hole sub-pixels (nan where an image has no hole)."""
    mse = per_image_mse(truth, pred, masks)
    return 10.0 * np.log10(PEAK**2 / np.maximum(mse, MSE_FLOOR))


def l1(truth: np.ndarray, pred: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(n,) mean absolute error over each image's hole sub-pixels, in 0..255 units."""
    _check(truth, pred, masks)
    diff = np.abs(truth.astype(np.float64) - pred.astype(np.float64))
    m = masks.astype(bool)
    count = m.sum(axis=(1, 2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(m, diff, 0.0).sum(axis=(1, 2, 3))
                        / np.maximum(count, 1), np.nan)


def ssim_window(height: int, width: int) -> float:
    """The Gaussian σ for SSIM on an image this size: 1.5 (an 11x11 window) where it fits.

    torchmetrics pads by reflection with half the window, which needs the half-window to be
    smaller than the image side; tiny images get the widest σ that still fits.
    """
    side = min(height, width)
    sigma = 1.5
    # torchmetrics derives the window from σ: half-width int(3.5σ + 0.5)
    while int(3.5 * sigma + 0.5) >= side and sigma > 0.05:
        sigma /= 1.5
    return sigma


def ssim(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(n,) SSIM of each full image (torchmetrics; data range 255)."""
    import torch
    from torchmetrics.functional.image import structural_similarity_index_measure

    if truth.shape != pred.shape or truth.ndim != 4:
        raise ValueError(f"expected two (n, C, H, W) arrays of one shape; got {truth.shape}, "
                         f"{pred.shape}")
    if len(truth) == 0:
        return np.zeros(0)
    sigma = ssim_window(truth.shape[2], truth.shape[3])
    out = []
    # One image per call: a batch's float64 convolution buffers (tens of MB for 16 faces) are
    # each a fresh mmap whose pages fault in and go back on free; one face's stay in the heap.
    # 256 faces: 0.35 s against 3.2 s (2.5 s of it in the kernel) in one call. Same values.
    for s in range(0, len(truth), SSIM_CHUNK):
        # float64: in float32 the variance terms (E[x^2] - mu^2 at values near 255) lose digits
        t = torch.from_numpy(truth[s:s + SSIM_CHUNK].astype(np.float64))
        p = torch.from_numpy(pred[s:s + SSIM_CHUNK].astype(np.float64))
        out.append(structural_similarity_index_measure(p, t, data_range=PEAK, sigma=sigma,
                                                       reduction="none"))
    return torch.cat(out).double().numpy()


def hole_metrics(truth: np.ndarray, pred: np.ndarray, masks: np.ndarray, *,
                 true_logp: np.ndarray | None = None) -> dict[str, float]:
    """PSNR, SSIM, L1 and accuracy on the holes (and NLL bits if `true_logp` is given).

    `truth`, `pred`: uint8 (n, C, H, W); `pred` should equal `truth` outside the holes (it is
    pasted so, to be sure). `masks`: bool (n, C, H, W). `true_logp`: float (n, C, H, W), the
    natural-log probability the model gave the true value at each sub-pixel (read at holes only).
    See the module docs for the exact definitions.
    """
    _check(truth, pred, masks)
    m = masks.astype(bool)
    pasted = np.where(m, pred, truth).astype(np.uint8)
    has_hole = m.any(axis=(1, 2, 3))
    out: dict[str, float] = {}
    if not has_hole.any():
        return {k: math.nan for k in METRICS if k != "nll_bits" or true_logp is not None}
    out["psnr"] = float(np.nanmean(psnr(truth, pasted, m)))
    out["ssim"] = float(np.mean(ssim(truth[has_hole], pasted[has_hole])))
    out["l1"] = float(np.nanmean(l1(truth, pasted, m)))
    out["accuracy"] = float((pasted[m] == truth[m]).mean())
    if true_logp is not None:
        if true_logp.shape != truth.shape:
            raise ValueError(f"true_logp must be (n, C, H, W) like the images, got "
                             f"{true_logp.shape}")
        out["nll_bits"] = float(-np.asarray(true_logp, dtype=np.float64)[m].mean() / math.log(2))
    return out


def per_image_metrics(truth: np.ndarray, pred: np.ndarray, masks: np.ndarray
                      ) -> dict[str, np.ndarray]:
    """(n,) hole PSNR and SSIM of each image, the values `hole_metrics` averages.

    For a table of images rather than one number per set (`pixelzoo infill --image DIR
    --original DIR`). `pred` is pasted into `truth` at the holes first, as there; an image
    without a hole gets nan for both.
    """
    _check(truth, pred, masks)
    m = masks.astype(bool)
    pasted = np.where(m, pred, truth).astype(np.uint8)
    has_hole = m.any(axis=(1, 2, 3))
    out_ssim = np.full(len(truth), np.nan)
    if has_hole.any():
        out_ssim[has_hole] = ssim(truth[has_hole], pasted[has_hole])
    return {"psnr": psnr(truth, pasted, m), "ssim": out_ssim}
