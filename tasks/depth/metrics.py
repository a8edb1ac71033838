"""The affine-invariant protocol of Marigold and PrimeDepth: least-squares scale and shift, clipping, per-image metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.errors import HarnessError

if TYPE_CHECKING:
    from tasks.depth.data import DepthImage

MIN_DISPARITY = 1e-3  # Marigold clips aligned disparity here before inverting it
MIN_DEPTH_EVAL = 1e-6


def scale_shift(prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """argmin over (s, t) of sum (s * prediction + t - target)^2: numpy's least squares on [prediction, 1]."""
    design = np.stack([prediction, np.ones_like(prediction)], axis=1).astype(np.float64)
    (scale, shift), *_ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)
    return float(scale), float(shift)


def alignment_columns(shape: tuple[int, int], max_res: int | None) -> np.ndarray | None:
    """The columns Marigold's `alignment_max_res` keeps for the fit, or None for every pixel. Its nearest-neighbour
    torch.nn.Upsample gets a 3-D tensor [1, H, W], so it resamples the width alone: with s = min(max_res / H,
    max_res / W) < 1 it keeps floor(W * s) columns, column j taken from floor(j / s), and every row."""
    if max_res is None:
        return None
    height, width = shape
    scale = min(max_res / height, max_res / width)
    if scale >= 1:
        return None
    return np.minimum(np.floor(np.arange(int(np.floor(width * scale))) * (1.0 / scale)), width - 1).astype(int)


def align(prediction: np.ndarray, depth: np.ndarray, valid: np.ndarray, space: str, min_depth: float,
          max_depth: float, max_res: int | None = None) -> tuple[np.ndarray, float, float]:
    """The prediction as metric depth: fitted to the ground truth in depth space (`space="depth"`) or to the
    ground truth's disparity 1 / depth (`space="disparity"`, over pixels where the prediction is positive, then
    clipped to MIN_DISPARITY and inverted), then clipped to [min_depth, max_depth] and to > 0. With `max_res` the
    fit sees only Marigold's subsample (`alignment_columns`); the aligned map keeps every pixel."""
    if prediction.shape != depth.shape:
        raise HarnessError(f"prediction shape {prediction.shape} differs from the ground truth's {depth.shape}: "
                           "a depth estimator must return one value per input pixel")
    columns = alignment_columns(depth.shape, max_res)
    fit = (lambda x: x) if columns is None else (lambda x: x[:, columns])
    if space == "depth":
        used = fit(valid)
        if not used.any():
            raise HarnessError("no valid ground-truth pixel to align on: check the dataset's depth range")
        scale, shift = scale_shift(fit(prediction)[used], fit(depth)[used])
        aligned = prediction * scale + shift
    elif space == "disparity":
        used = fit(valid & (prediction > 0))
        if not used.any():
            raise HarnessError("no valid pixel with a positive predicted disparity to align on")
        scale, shift = scale_shift(fit(prediction)[used], 1.0 / fit(depth)[used])
        aligned = 1.0 / np.clip(prediction * scale + shift, MIN_DISPARITY, None)
    else:
        raise HarnessError(f"unknown alignment space {space!r}: use depth or disparity")
    aligned = np.clip(np.clip(aligned, min_depth, max_depth), MIN_DEPTH_EVAL, None)
    return aligned, scale, shift


def depth_metrics(aligned: np.ndarray, depth: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """AbsRel, delta1-3 and RMSE over the valid pixels of one image (Marigold's metric.py definitions)."""
    pred, gt = aligned[valid].astype(np.float64), depth[valid].astype(np.float64)
    ratio = np.maximum(pred / gt, gt / pred)
    return {"absrel": float(np.mean(np.abs(pred - gt) / gt)),
            "delta1": float(np.mean(ratio < 1.25)), "delta2": float(np.mean(ratio < 1.25 ** 2)),
            "delta3": float(np.mean(ratio < 1.25 ** 3)), "rmse": float(np.sqrt(np.mean((pred - gt) ** 2)))}


def scored(prediction: np.ndarray, item: "DepthImage", space: str, max_res: int | None = None) -> dict[str, float]:
    """One image's metrics after alignment (`align`), with the fitted scale and shift: what a depth task's output holds."""
    aligned, scale, shift = align(prediction, item.depth, item.valid, space, item.min_depth, item.max_depth, max_res)
    return {**depth_metrics(aligned, item.depth, item.valid), "scale": scale, "shift": shift}
