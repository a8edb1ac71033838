"""The floor: the same depth everywhere (after alignment, the image's mean depth)."""

import numpy as np

from tasks.depth.estimator import DepthEstimator


class ConstantDepth(DepthEstimator):
    """Predicts one value for every pixel; least squares then fills in the ground truth's mean depth."""

    name = "constant_depth"
    description = "one depth for every pixel: after alignment, each image's mean ground-truth depth"

    def predict(self, image: np.ndarray) -> np.ndarray:
        return np.ones(image.shape[:2])
