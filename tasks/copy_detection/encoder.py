"""A small convolutional encoder with GeM pooling, and the contrastive (InfoNCE) recipe the learned descriptors share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

EMBED_BATCH = 256


class EncoderParams(BaseModel):
    """Network size and the contrastive training recipe (AdamW, cosine decay, InfoNCE over the batch)."""

    model_config = ConfigDict(extra="forbid")
    image_size: int = Field(64, ge=16, description="input side in pixels")
    width: int = Field(32, ge=8, description="channels of the first stage (doubled at the next two)")
    dim: int = Field(128, ge=8, description="descriptor dimension")
    steps: int = Field(300, ge=1, description="optimiser steps")
    batch_size: int = Field(96, ge=4, description="pairs per step (the other pairs are the negatives)")
    lr: float = Field(2e-3, gt=0, description="AdamW learning rate")
    temperature: float = Field(0.05, gt=0, description="InfoNCE temperature")


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class GeM(nn.Module):
    """Generalised-mean pooling with a learned exponent (as in the ISC-winning descriptors)."""

    def __init__(self, p: float = 3.0):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=1e-6).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


class Encoder(nn.Module):
    """Four stride-2 stages, GeM pooling and a linear projection; outputs unit-norm descriptors."""

    def __init__(self, in_channels: int, width: int, dim: int):
        super().__init__()
        w = width
        self.features = nn.Sequential(_stage(in_channels, w), _stage(w, 2 * w), _stage(2 * w, 4 * w), _stage(4 * w, 4 * w))
        self.pool = GeM()
        self.project = nn.Linear(4 * w, dim)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features before the projection."""
        return self.pool(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.project(self.embed(x)), dim=-1)


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: row i of `a` should match row i of `b` against every other row."""
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2


@torch.no_grad()
def run_batches(call: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, device: torch.device) -> np.ndarray:
    """`call` over `x` in batches on `device`, as a float32 array."""
    return torch.cat([call(chunk.to(device)).cpu() for chunk in x.split(EMBED_BATCH)]).numpy().astype(np.float32)
