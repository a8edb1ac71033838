"""Any transformers depth-estimation model (Depth Anything, DPT, ...) from a local folder or the local HF cache."""

from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import HarnessError
from tasks.depth.data import DepthImage
from tasks.depth.estimator import DepthEstimator
from tasks.training import parameter_count

DEFAULT_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"


class TransformersDepthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(DEFAULT_MODEL, description="Hugging Face id (already in the local cache) or local folder")
    space: Literal["depth", "disparity"] = Field("disparity", description="what the model predicts: relative Depth "
                                                 "Anything and MiDaS-style DPT give disparity, metric models depth")


class TransformersDepth(DepthEstimator):
    """AutoImageProcessor + AutoModelForDepthEstimation, offline only; the prediction is resized to the input."""

    name = "depth_anything"
    paper = "https://arxiv.org/abs/2406.09414"
    description = "transformers depth-estimation model (default Depth Anything V2 Small), weights from local files only"
    Params = TransformersDepthParams

    def __init__(self, params: dict[str, Any] | None = None):
        super().__init__(params)
        self.space = self.params.space

    def fit(self, training: list[DepthImage], seed: int, device: torch.device) -> None:
        """Loads the weights (nothing is trained; the task times this step as `fit`)."""
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        name = self.params.model
        try:
            self.processor = AutoImageProcessor.from_pretrained(name, local_files_only=True)
            self.model = AutoModelForDepthEstimation.from_pretrained(name, local_files_only=True).to(device).eval()
        except (OSError, ValueError) as exc:
            raise HarnessError(f"depth model {name!r} is not available offline ({type(exc).__name__}): download it where there is "
                               f"network (huggingface-cli download {DEFAULT_MODEL}) or pass --method-arg model=<local folder>") from None
        self.device = device

    @torch.no_grad()
    def predict(self, image: np.ndarray) -> np.ndarray:
        inputs = self.processor(images=image, return_tensors="pt").to(self.device)
        depth = self.model(**inputs).predicted_depth
        resized = torch.nn.functional.interpolate(depth[:, None], size=image.shape[:2], mode="bicubic", align_corners=False)
        return resized[0, 0].float().cpu().numpy()

    def parameter_count(self) -> int:
        return parameter_count(self.model)

    def fitted_state(self) -> dict[str, Any]:
        return {"model": self.params.model, "class": type(self.model).__name__}
