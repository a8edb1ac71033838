"""A learned row prior: depth (or disparity) as a function of the image row only, averaged over training scenes."""

from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from tasks.depth.data import DepthImage, normalised
from tasks.depth.estimator import DepthEstimator


class RowPriorParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    space: Literal["depth", "disparity"] = Field("disparity", description="what the profile predicts (and where it is aligned)")
    bins: int = Field(64, ge=2, description="row bins of the profile (rows are taken relative to the image height)")


class RowPrior(DepthEstimator):
    """The mean normalised depth (or disparity) of each relative row over the training scenes, the same in every
    column: floors get nearer toward the bottom of the frame, skies and ceilings farther toward the top."""

    name = "row_prior"
    description = "mean normalised disparity per image row over the training scenes (no look at the pixels)"
    Params = RowPriorParams

    def __init__(self, params: dict[str, Any] | None = None):
        super().__init__(params)
        self.space = self.params.space

    def fit(self, training: list[DepthImage], seed: int, device: torch.device) -> None:
        bins = self.params.bins
        sums, counts = np.zeros(bins), np.zeros(bins)
        for item in training:
            rows = np.nonzero(item.valid)[0]
            values = item.depth[item.valid].astype(np.float64)
            values = normalised(1.0 / values if self.space == "disparity" else values)
            which = rows * bins // item.depth.shape[0]
            sums += np.bincount(which, values, bins)
            counts += np.bincount(which, minlength=bins)
        seen = counts > 0
        centres = (np.arange(bins) + 0.5) / bins
        profile = np.interp(centres, centres[seen], sums[seen] / counts[seen])
        self.profile = profile - profile.min() + 1.0  # positive: disparity-space alignment only uses positive pixels

    def predict(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        rows = np.interp((np.arange(height) + 0.5) / height, (np.arange(len(self.profile)) + 0.5) / len(self.profile), self.profile)
        return np.repeat(rows[:, None], width, axis=1)

    def fitted_state(self) -> dict[str, Any]:
        return {"space": self.space, "profile": [round(float(v), 4) for v in self.profile]}
