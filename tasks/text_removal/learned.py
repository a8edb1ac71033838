"""Learned erasers: the shared training recipe (text-centred crops, box-weighted squared error on every output)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from tasks.text_removal.eraser import TextEraser
from tasks.text_removal.render import TextImage
from tasks.training import WEIGHT_DECAY, loss_summary, parameter_count, train_steps
from tasks.unet import UNet, pad_to_stride

JITTER = 16


class EraserRecipe(BaseModel):
    """AdamW with cosine decay on crops around the words; squared error to the clean image, weighted up inside the
    word boxes, averaged over every output the network returns."""

    model_config = ConfigDict(extra="forbid")
    width: int = Field(16, ge=4, description="channels of the first level")
    steps: int = Field(2000, ge=1, description="optimiser steps")
    batch_size: int = Field(8, ge=1, description="crops per step")
    crop: int = Field(64, ge=16, description="training crop side in pixels")
    lr: float = Field(2e-3, gt=0, description="AdamW learning rate")
    box_weight: float = Field(3.0, ge=0, description="extra loss weight on word-box pixels (EraseNet-style hole weight)")
    text_share: float = Field(0.8, ge=0, le=1, description="share of crops centred on a word pixel (the rest anywhere)")
    mask_share: float = Field(0.5, ge=0, le=1, description="share of crops that get their box mask (the rest get none)")


def to_tensor(images: np.ndarray, masks: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] and bool [N, H, W] -> float [N, 4, H, W] (RGB in [0, 1], then the mask)."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    return torch.cat([x, torch.from_numpy(masks.astype(np.float32))[:, None]], dim=1)


def to_image(output: torch.Tensor) -> np.ndarray:
    """[1, 3, H, W] in [0, 1] -> uint8 [H, W, 3]."""
    return (output[0].permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)


def crop_corner(text: TextImage, crop: int, text_share: float, rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner of a training crop: around a random word pixel (jittered) or anywhere."""
    size = text.image.shape[0]
    ys, xs = np.nonzero(text.box_mask)
    if rng.random() < text_share and len(ys):
        k = int(rng.integers(len(ys)))
        y, x = (int(v) - crop // 2 + int(rng.integers(-JITTER, JITTER + 1)) for v in (ys[k], xs[k]))
        return int(np.clip(y, 0, size - crop)), int(np.clip(x, 0, size - crop))
    y, x = rng.integers(0, size - crop + 1, 2)
    return int(y), int(x)


class TorchEraser(TextEraser):
    """A network mapping [N, 4, H, W] (image + mask) to a list of reconstructions [N, 3, H, W] (the last is used)."""

    Params: ClassVar[type[BaseModel]] = EraserRecipe

    def build(self) -> torch.nn.Module:
        raise NotImplementedError

    def fit(self, training: list[TextImage], seed: int, device: torch.device) -> None:
        p = self.params
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        self.device = device
        self.module = self.build().to(device)
        crop = min(p.crop, min(t.image.shape[0] for t in training))

        def loss() -> torch.Tensor:
            images, masks, cleans, boxes = [], [], [], []
            for i in rng.integers(0, len(training), p.batch_size):
                text = training[int(i)]
                y, x = crop_corner(text, crop, p.text_share, rng)
                window = (slice(y, y + crop), slice(x, x + crop))
                images.append(text.image[window])
                cleans.append(text.clean[window])
                boxes.append(text.box_mask[window])
                masks.append(boxes[-1] if rng.random() < p.mask_share else np.zeros((crop, crop), bool))
            x = to_tensor(np.stack(images), np.stack(masks)).to(device)
            target = torch.from_numpy(np.stack(cleans).astype(np.float32) / 255.0).permute(0, 3, 1, 2).to(device)
            weight = 1 + p.box_weight * torch.from_numpy(np.stack(boxes).astype(np.float32))[:, None].to(device)
            outputs = self.module(x)
            return sum((weight * (out - target) ** 2).mean() for out in outputs) / len(outputs)

        self.losses = train_steps(self.module, p.steps, p.lr, WEIGHT_DECAY, loss)

    @torch.no_grad()
    def outputs(self, image: np.ndarray, mask: np.ndarray | None) -> list[torch.Tensor]:
        """Every reconstruction the network returns for one image (one per iteration for an iterative network),
        each [1, 3, H, W] in [0, 1]."""
        height, width = image.shape[:2]
        mask = np.zeros((height, width), bool) if mask is None else mask
        x = to_tensor(image[None], mask[None]).to(self.device)
        return [out[..., :height, :width].clamp(0, 1) for out in self.module(pad_to_stride(x, UNet.STRIDE))]

    def erase(self, image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        return to_image(self.outputs(image, mask)[-1])

    def parameter_count(self) -> int:
        return parameter_count(self.module)

    def fitted_state(self) -> dict[str, Any]:
        return loss_summary(self.losses)
