"""Joint RGB colour histogram, square-rooted (Hellinger) and L2-normalised."""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from PIL import Image

from tasks.copy_detection.descriptor import CopyDescriptor, unit_rows


class HistogramParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bins: int = Field(8, ge=2, le=32, description="bins per channel (the descriptor has bins^3 entries)")


class ColorHistogram(CopyDescriptor):
    """Counts of quantised RGB colours: blind to geometry, fooled by any colour change."""

    name = "color_histogram"
    paper = "https://doi.org/10.1007/BF00130487"
    description = "joint RGB histogram (Swain & Ballard colour indexing), Hellinger-normalised"
    Params = HistogramParams

    def describe(self, images: list[Image.Image]) -> np.ndarray:
        b = self.params.bins
        rows = []
        for im in images:
            q = (np.asarray(im.convert("RGB"), dtype=np.int64) * b) // 256
            rows.append(np.bincount(((q[..., 0] * b + q[..., 1]) * b + q[..., 2]).ravel(), minlength=b ** 3))
        return unit_rows(np.sqrt(np.stack(rows).astype(np.float32)))
