"""OpenCV's Telea inpainting (fast marching) inside the given mask."""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tasks.text_removal.eraser import TextEraser


class InpaintParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    radius: float = Field(3.0, gt=0, description="inpainting neighbourhood radius in pixels")


class Telea(TextEraser):
    """Fills the mask from its border inwards, weighting known pixels by distance and direction (Telea, 2004)."""

    name = "telea"
    paper = "https://doi.org/10.1080/10867651.2004.10487596"
    description = "OpenCV cv2.INPAINT_TELEA inside the box mask"
    Params = InpaintParams
    needs_mask = True
    flag = "INPAINT_TELEA"

    def erase(self, image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        import cv2

        return cv2.inpaint(image, mask.astype(np.uint8) * 255, self.params.radius, getattr(cv2, self.flag))
