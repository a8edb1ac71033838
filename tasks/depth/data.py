"""Depth images with ground truth: the ray-cast offline split and scikit-image's real stereo sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tasks.depth.raycast import random_scene

# Middlebury 2014 "Motorcycle" as scikit-image ships it (downsampled 4x; calibration from skimage.data's docstring)
MOTORCYCLE_FOCAL_PX, MOTORCYCLE_BASELINE_M, MOTORCYCLE_DOFFS_PX = 994.978, 0.193001, 31.086
RANGES = {"indoor": (1e-3, 10.0), "outdoor": (1e-3, 80.0), "real": (1e-3, 20.0)}


@dataclass
class DepthImage:
    """An RGB image, its metric depth and which pixels count (`valid`), with the depth range used for clipping."""

    image: np.ndarray  # uint8 [H, W, 3]
    depth: np.ndarray  # float32 [H, W], metres (0 where invalid)
    valid: np.ndarray  # bool [H, W]
    kind: str  # "indoor", "outdoor", "real", or a dataset name
    min_depth: float
    max_depth: float


def with_valid_range(image: np.ndarray, depth: np.ndarray, kind: str, min_depth: float, max_depth: float) -> DepthImage:
    """Valid = ground truth strictly inside (min_depth, max_depth), as Marigold's datasets define it."""
    return DepthImage(image, depth, (depth > min_depth) & (depth < max_depth), kind, min_depth, max_depth)


def normalised(values: np.ndarray) -> np.ndarray:
    """Scale-and-shift-free values: minus the median, over the mean absolute deviation from it (1 if that is 0)."""
    centre = np.median(values)
    spread = np.mean(np.abs(values - centre))
    return (values - centre) / (spread if spread > 0 else 1.0)


def offline_images(seed: int, role: str, count: int, height: int, width: int) -> list[DepthImage]:
    """`count` ray-cast scenes (half indoor, half outdoor on average) of a role ("test" or "train")."""
    found = []
    for index in range(count):
        scene = random_scene(np.random.default_rng([seed, 61, len(role), index]))
        image, depth = scene.render(height, width)
        found.append(with_valid_range(image, depth, scene.kind, *RANGES[scene.kind]))
    return found


def stereo_sample(height: int, width: int) -> DepthImage:
    """scikit-image's Middlebury Motorcycle: depth = focal x baseline / (disparity + doffs), resized (nearest for
    depth, so no invalid value bleeds in); infinite disparity is invalid."""
    import skimage.data
    from PIL import Image

    left, _, disparity = skimage.data.stereo_motorcycle()
    finite = np.isfinite(disparity)
    depth = np.where(finite, MOTORCYCLE_FOCAL_PX * MOTORCYCLE_BASELINE_M / (np.where(finite, disparity, 0) + MOTORCYCLE_DOFFS_PX), 0)
    image = np.asarray(Image.fromarray(left).resize((width, height), Image.BICUBIC))
    depth = np.asarray(Image.fromarray(depth.astype(np.float32)).resize((width, height), Image.NEAREST))
    return with_valid_range(image, depth, "real", *RANGES["real"])
