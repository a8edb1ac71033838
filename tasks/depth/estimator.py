"""The depth-estimator protocol: an RGB image in, relative depth (or disparity) per pixel out."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from harness.contracts.method import Method
from tasks.depth.data import DepthImage


class DepthEstimator(Method):
    """Predicts depth up to scale and shift. `space` says what the output is: "depth", or "disparity" (inverse
    depth, as MiDaS / Depth Anything predict); the task aligns it to the ground truth in that space."""

    family: ClassVar[str] = "depth"
    protocol: ClassVar[str] = "depth_estimator"
    space: ClassVar[str] = "depth"

    def fit(self, training: list[DepthImage], seed: int, device: torch.device) -> None:
        """Learn from training images with ground truth. Rule-based estimators need nothing."""

    def predict(self, image: np.ndarray) -> np.ndarray:
        """uint8 [H, W, 3] -> float [H, W] in `space` (any scale and shift)."""
        raise NotImplementedError

    def parameter_count(self) -> int:
        return 0
