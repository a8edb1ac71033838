"""The optimisation loop the learned methods share: AdamW with cosine decay to zero over a fixed step budget."""

from __future__ import annotations

from collections.abc import Callable

import torch


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
