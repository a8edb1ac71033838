"""The affine-invariant protocol of Marigold and PrimeDepth: least-squares scale and shift, clipping, per-image metrics."""

from __future__ import annotations

import numpy as np

from harness.errors import HarnessError

MIN_DISPARITY = 1e-3  # Marigold clips aligned disparity here before inverting it
MIN_DEPTH_EVAL = 1e-6


def scale_shift(prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """argmin over (s, t) of sum (s * prediction + t - target)^2: numpy's least squares on [prediction, 1]."""
    design = np.stack([prediction, np.ones_like(prediction)], axis=1).astype(np.float64)
    (scale, shift), *_ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)
    return float(scale), float(shift)


def align(prediction: np.ndarray, depth: np.ndarray, valid: np.ndarray, space: str, min_depth: float,
          max_depth: float) -> tuple[np.ndarray, float, float]:
    """The prediction as metric depth: fitted to the ground truth in depth space (`space="depth"`) or to the
    ground truth's disparity 1 / depth (`space="disparity"`, over pixels where the prediction is positive, then
    clipped to MIN_DISPARITY and inverted), then clipped to [min_depth, max_depth] and to > 0."""
    if prediction.shape != depth.shape:
        raise HarnessError(f"prediction shape {prediction.shape} differs from the ground truth's {depth.shape}: "
                           "a depth estimator must return one value per input pixel")
    if space == "depth":
        used = valid
        if not used.any():
            raise HarnessError("no valid ground-truth pixel to align on: check the dataset's depth range")
        scale, shift = scale_shift(prediction[used], depth[used])
        aligned = prediction * scale + shift
    elif space == "disparity":
        used = valid & (prediction > 0)
        if not used.any():
            raise HarnessError("no valid pixel with a positive predicted disparity to align on")
        scale, shift = scale_shift(prediction[used], 1.0 / depth[used])
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
