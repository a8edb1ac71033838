"""Tiny image: the image shrunk to a few pixels a side, zero-mean and unit-norm (Torralba et al.)."""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from PIL import Image

from tasks.copy_detection.descriptor import CopyDescriptor, unit_rows


class TinyImageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    side: int = Field(16, ge=2, le=64, description="pixels per side")


class TinyImage(CopyDescriptor):
    """Raw pixels of a side x side RGB thumbnail, each descriptor centred and normalised."""

    name = "tiny_image"
    paper = "https://doi.org/10.1109/TPAMI.2008.128"
    description = "raw 16 x 16 RGB thumbnail, centred and L2-normalised"
    Params = TinyImageParams

    def describe(self, images: list[Image.Image]) -> np.ndarray:
        s = self.params.side
        x = np.stack([np.asarray(im.convert("RGB").resize((s, s), Image.BOX), dtype=np.float32).ravel() for im in images])
        return unit_rows(x - x.mean(axis=1, keepdims=True))
