"""What the learned methods share: AdamW with cosine decay to zero over a fixed step budget, and its summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

WEIGHT_DECAY = 1e-4  # the image families' learned baselines


def train_steps(module: torch.nn.Module, steps: int, lr: float, weight_decay: float,
                loss_of_step: Callable[[], torch.Tensor]) -> list[float]:
    """`steps` AdamW steps with a cosine schedule; `loss_of_step` draws its own batch. The module ends in eval mode;
    returns the loss of every step."""
    optimiser = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    losses = []
    module.train()
    for _ in range(steps):
        optimiser.zero_grad()
        loss = loss_of_step()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
    module.eval()
    return losses


def loss_summary(losses: list[float]) -> dict[str, Any]:
    """What a record keeps of a training run: the step count, the first loss and the mean of the last 20."""
    return {"steps": len(losses), "first_loss": losses[0], "final_loss": float(np.mean(losses[-20:]))}


def parameter_count(*modules: torch.nn.Module) -> int:
    return sum(q.numel() for module in modules for q in module.parameters())
