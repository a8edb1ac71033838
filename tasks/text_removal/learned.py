"""Learned erasers: the shared training recipe (random crops, L1 on every output, mask given half the time)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from tasks.text_removal.eraser import TextEraser
from tasks.text_removal.render import TextImage


class EraserRecipe(BaseModel):
    """AdamW with cosine decay on random crops; L1 to the clean image on every output the network returns."""

    model_config = ConfigDict(extra="forbid")
    width: int = Field(16, ge=4, description="channels of the first level")
    steps: int = Field(300, ge=1, description="optimiser steps")
    batch_size: int = Field(8, ge=1, description="crops per step")
    crop: int = Field(64, ge=16, description="training crop side in pixels")
    lr: float = Field(2e-3, gt=0, description="AdamW learning rate")
    mask_share: float = Field(0.5, ge=0, le=1, description="share of crops that get their box mask (the rest get none)")


def to_tensor(images: np.ndarray, masks: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] and bool [N, H, W] -> float [N, 4, H, W] (RGB in [0, 1], then the mask)."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    return torch.cat([x, torch.from_numpy(masks.astype(np.float32))[:, None]], dim=1)


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
        optimiser = torch.optim.AdamW(self.module.parameters(), lr=p.lr, weight_decay=1e-4)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=p.steps)
        self.losses: list[float] = []
        self.module.train()
        for _ in range(p.steps):
            images, masks, cleans = [], [], []
            for i in rng.integers(0, len(training), p.batch_size):
                t = training[int(i)]
                size = t.image.shape[0]
                y, x = (int(v) for v in rng.integers(0, size - p.crop + 1, 2))
                window = (slice(y, y + p.crop), slice(x, x + p.crop))
                images.append(t.image[window])
                cleans.append(t.clean[window])
                masks.append(t.box_mask[window] if rng.random() < p.mask_share else np.zeros((p.crop, p.crop), bool))
            x = to_tensor(np.stack(images), np.stack(masks)).to(device)
            target = torch.from_numpy(np.stack(cleans).astype(np.float32) / 255.0).permute(0, 3, 1, 2).to(device)
            outputs = self.module(x)
            loss = sum(torch.nn.functional.l1_loss(out, target) for out in outputs) / len(outputs)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            self.losses.append(loss.item())
        self.module.eval()

    @torch.no_grad()
    def erase(self, image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        mask = np.zeros(image.shape[:2], bool) if mask is None else mask
        out = self.module(to_tensor(image[None], mask[None]).to(self.device))[-1]
        return (out.clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)

    def parameter_count(self) -> int:
        return sum(q.numel() for q in self.module.parameters())

    def fitted_state(self) -> dict[str, Any]:
        return {"steps": len(self.losses), "first_loss": self.losses[0], "final_loss": float(np.mean(self.losses[-20:]))}
