"""The EEG-classifier protocol and the training recipe every classifier shares (AdamW, cosine schedule)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.method import Method
from tasks.training import train_steps

PREDICT_BATCH = 256


class RecipeParams(BaseModel):
    """The shared training recipe: AdamW, cosine decay to zero, class-balanced cross-entropy, fixed step budgets."""

    model_config = ConfigDict(extra="forbid")
    lr: float = Field(1e-3, gt=0, description="AdamW learning rate (pretraining, fine-tuning and from scratch)")
    weight_decay: float = Field(5e-4, ge=0, description="AdamW weight decay")
    batch_size: int = Field(32, ge=2, description="windows per step")
    pretrain_steps: int = Field(150, ge=1, description="optimiser steps on the source site")
    target_steps: int = Field(80, ge=1, description="optimiser steps on the target site (fine-tuning or from scratch)")


class EEGClassifier(Method):
    """A window classifier (normal vs abnormal) built from braindecode; subclasses build the network."""

    family: ClassVar[str] = "eeg"
    protocol: ClassVar[str] = "eeg_classifier"
    Params: ClassVar[type[BaseModel]] = RecipeParams

    def build(self, n_chans: int, n_times: int) -> torch.nn.Module:
        """A fresh network mapping [batch, n_chans, n_times] to two logits."""
        raise NotImplementedError


def train(module: torch.nn.Module, windows: np.ndarray, labels: np.ndarray, steps: int, recipe: RecipeParams,
          seed: int, device: torch.device) -> torch.nn.Module:
    """Train in place for `steps` AdamW steps with a cosine schedule; batches are drawn with a seeded generator."""
    module.to(device)
    counts = np.bincount(labels, minlength=2).astype(float)
    class_weights = torch.tensor(counts.sum() / (2 * np.maximum(counts, 1)), dtype=torch.float32, device=device)
    x = torch.as_tensor(windows, device=device)
    y = torch.as_tensor(labels, dtype=torch.long, device=device)
    generator = torch.Generator().manual_seed(seed)

    def loss() -> torch.Tensor:
        idx = torch.randint(len(x), (min(recipe.batch_size, len(x)),), generator=generator).to(device)
        return torch.nn.functional.cross_entropy(module(x[idx]), y[idx], weight=class_weights)

    train_steps(module, steps, recipe.lr, recipe.weight_decay, loss)
    return module


@torch.no_grad()
def abnormal_probability(module: torch.nn.Module, windows: np.ndarray, device: torch.device) -> np.ndarray:
    """Per-window probability of 'abnormal', [N]."""
    module.eval()
    x = torch.as_tensor(windows, device=device)
    return torch.cat([torch.softmax(module(chunk), -1)[:, 1] for chunk in x.split(PREDICT_BATCH)]).cpu().numpy()
