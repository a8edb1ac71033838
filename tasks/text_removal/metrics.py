"""Text-removal metrics: the community evaluation script of EraseNet and later papers, and scikit-image's PSNR/SSIM.

The community script (read, not copied) resizes the output and the ground truth with torchvision's Resize(512)
(bicubic): the short side to 512 and the long side in proportion, so a square image becomes 512 x 512. It scales
them to [0, 1], then per image:
- MSE over all pixels and channels; PSNR = 10 log10(1 / MSE) (an image with MSE 0 is left out of PSNR and the
  other averages, but its MSE of 0 still counts);
- the luma Y = .299 R + .587 G + .114 B in 0..255; Diff = |Y_out - Y_gt| rounded; AGE = mean(Diff);
- pEPs = pixels with Diff > 20, pCEPs = those left after eroding with a 4-connected cross, each divided by 512^2
  (the script's constant, even where a non-square image has more pixels);
- "MSSIM" = the script's msssim() on the luma: five "levels" of SSIM (Gaussian 11 x 11 window, sigma 1.5,
  'valid' convolution) combined with the MS-SSIM weights, but without downsampling between levels, so it
  equals cs^(w1+..+w4) * ssim^w5 at full resolution. Kept as the papers computed it, and labelled so.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage, signal

SCRIPT_SIZE = 512
ERROR_THRESHOLD = 20
MS_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
LUMA = np.array([0.299, 0.587, 0.114])
PSNR_CAP = 100.0  # identical images: PSNR is infinite; records need a number


def script_size(height: int, width: int) -> tuple[int, int]:
    """(height, width) after torchvision's Resize(512): the short side to 512, the long one int(512 * long / short)."""
    short, long = sorted((height, width))
    scaled = int(SCRIPT_SIZE * long / short)
    return (SCRIPT_SIZE, scaled) if height <= width else (scaled, SCRIPT_SIZE)


def script_resize(image: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> float [512 (short side), ..., 3] in [0, 1], bicubic as the script's loader."""
    height, width = script_size(*image.shape[:2])
    resized = Image.fromarray(image).resize((width, height), Image.BICUBIC)
    return np.asarray(resized, dtype=np.float64) / 255.0


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x, y = np.mgrid[-size // 2 + 1:size // 2 + 1, -size // 2 + 1:size // 2 + 1]
    g = np.exp(-((x ** 2 + y ** 2) / (2.0 * sigma ** 2)))
    return g / g.sum()


def ssim_maps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The SSIM map and the contrast-structure map of two 0..255 grey images ('valid' Gaussian windows)."""
    window = gaussian_window(min(a.shape[0], 11))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    conv = lambda x: signal.fftconvolve(x, window, mode="valid")
    mu1, mu2 = conv(a), conv(b)
    s11, s22, s12 = conv(a * a) - mu1 ** 2, conv(b * b) - mu2 ** 2, conv(a * b) - mu1 * mu2
    cs = (2 * s12 + c2) / (s11 + s22 + c2)
    return ((2 * mu1 * mu2 + c1) / (mu1 ** 2 + mu2 ** 2 + c1)) * cs, cs


def script_mssim(a: np.ndarray, b: np.ndarray) -> float:
    """The script's msssim(): five identical levels (no downsampling), MS-SSIM weights."""
    ssim_map, cs_map = ssim_maps(a, b)
    ssim, cs = ssim_map.mean(), cs_map.mean()
    mcs = np.full(4, cs)
    return float(np.prod(np.sign(mcs) * np.abs(mcs) ** MS_WEIGHTS[:4]) * np.sign(ssim) * abs(ssim) ** MS_WEIGHTS[4])


def script_metrics(output: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """The community script's per-image values (MSE, PSNR, MSSIM, AGE, pEPs, pCEPs) on uint8 RGB images."""
    out, gt = script_resize(output), script_resize(truth)
    mse = float(((gt - out) ** 2).mean())
    values = {"mse": mse}
    if mse == 0:
        return values  # the script skips the rest (and the image's place in their averages)
    y_out, y_gt = out @ LUMA, gt @ LUMA
    diff = np.abs(y_out * 255 - y_gt * 255).round().astype(np.uint8)
    errors = diff > ERROR_THRESHOLD
    eroded = ndimage.binary_erosion(errors, np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]))
    pixels = float(SCRIPT_SIZE * SCRIPT_SIZE)
    values.update(psnr=10 * math.log10(1 / mse), mssim=script_mssim(y_gt * 255, y_out * 255), age=float(diff.mean()),
                  peps=float(errors.sum()) / pixels, pceps=float(eroded.sum()) / pixels)
    return values


def standard_metrics(output: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """scikit-image's PSNR (capped at 100 dB) and SSIM (data range 255, colour, Gaussian-weighted as Wang et al.)
    at native size."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    psnr = peak_signal_noise_ratio(truth, output, data_range=255) if not np.array_equal(truth, output) else PSNR_CAP
    return {"psnr_skimage": float(min(psnr, PSNR_CAP)),
            "ssim_skimage": float(structural_similarity(truth, output, data_range=255, channel_axis=2, gaussian_weights=True,
                                                        sigma=1.5, use_sample_covariance=False))}
