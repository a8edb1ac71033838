"""A small UNet trained on the ray-cast training scenes with a scale-and-shift-invariant loss (MiDaS-style)."""

from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from tasks.depth.data import DepthImage, normalised
from tasks.depth.estimator import DepthEstimator
from tasks.training import WEIGHT_DECAY, loss_summary, parameter_count, train_steps
from tasks.unet import UNet, pad_to_stride


class UNetDepthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: int = Field(16, ge=4, description="channels of the first level")
    steps: int = Field(2000, ge=1, description="optimiser steps")
    batch_size: int = Field(8, ge=1, description="scenes per step")
    lr: float = Field(2e-3, gt=0, description="AdamW learning rate")


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W], centred."""
    return torch.from_numpy(images.astype(np.float32) / 255.0 - 0.5).permute(0, 3, 1, 2)


def normalised_disparity(item: DepthImage) -> np.ndarray:
    """1 / depth on valid pixels, minus its median, over its mean absolute deviation (0 elsewhere)."""
    disparity = np.zeros(item.depth.shape, np.float32)
    disparity[item.valid] = normalised(1.0 / item.depth[item.valid])
    return disparity


def ssi_loss(prediction: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared error after each image's least-squares scale and shift over valid pixels, in centred form
    (scale = covariance / variance), which stays finite when a prediction is nearly flat."""
    m = valid.float()
    count = m.sum((1, 2), keepdim=True).clamp_min(1)
    p = prediction - (m * prediction).sum((1, 2), keepdim=True) / count
    t = target - (m * target).sum((1, 2), keepdim=True) / count
    scale = (m * p * t).sum((1, 2), keepdim=True) / (m * p * p).sum((1, 2), keepdim=True).clamp_min(1e-12)
    return (m * (scale * p - t) ** 2).sum() / m.sum().clamp_min(1)


class CoordUNet(torch.nn.Module):
    """The shared UNet on RGB plus two coordinate channels (row and column in [-1, 1], CoordConv), so it can learn
    where in the frame things tend to be near or far, beyond its receptive field."""

    def __init__(self, width: int):
        super().__init__()
        self.unet = UNet(5, 1, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, height, width = x.shape
        rows = torch.linspace(-1, 1, height, device=x.device).view(1, 1, height, 1).expand(n, 1, height, width)
        cols = torch.linspace(-1, 1, width, device=x.device).view(1, 1, 1, width).expand(n, 1, height, width)
        return self.unet(torch.cat([x, rows, cols], 1))


class UNetDepth(DepthEstimator):
    """Predicts positive relative disparity (softplus output), trained with the scale-and-shift-invariant loss."""

    name = "unet_depth"
    paper = "https://arxiv.org/abs/1907.01341"
    description = "3-level UNet + coordinate channels, positive disparity output, scale-and-shift-invariant loss, trained in minutes on CPU"
    Params = UNetDepthParams
    space = "disparity"

    def fit(self, training: list[DepthImage], seed: int, device: torch.device) -> None:
        p = self.params
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        self.device = device
        self.module = CoordUNet(p.width).to(device)
        images = to_tensor(np.stack([t.image for t in training]))
        targets = torch.from_numpy(np.stack([normalised_disparity(t) for t in training]))
        valid = torch.from_numpy(np.stack([t.valid for t in training]))

        def loss() -> torch.Tensor:
            pick = torch.from_numpy(rng.integers(0, len(training), p.batch_size))
            x, y, m = images[pick], targets[pick], valid[pick]
            if rng.random() < 0.5:
                x, y, m = x.flip(-1), y.flip(-1), m.flip(-1)
            return ssi_loss(self.forward(x.to(device)), y.to(device), m.to(device))

        self.losses = train_steps(self.module, p.steps, p.lr, WEIGHT_DECAY, loss)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Positive disparity [N, H, W]; coordinates span the padded frame, so pad only by the stride remainder."""
        height, width = x.shape[-2:]
        return torch.nn.functional.softplus(self.module(pad_to_stride(x, UNet.STRIDE)))[:, 0, :height, :width]

    @torch.no_grad()
    def predict(self, image: np.ndarray) -> np.ndarray:
        return self.forward(to_tensor(image[None]).to(self.device))[0].cpu().numpy()

    def parameter_count(self) -> int:
        return parameter_count(self.module)

    def fitted_state(self) -> dict[str, Any]:
        return loss_summary(self.losses)
