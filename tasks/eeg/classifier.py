"""The EEG-classifier protocol, the training recipe every classifier shares, and its named presets."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.method import Method
from harness.contracts.presets import PresetParams
from tasks.training import train_steps

PREDICT_BATCH = 256
SFREQ = 100.0  # the preprocessing's rate

# The paper's recipe (APD_EEG s2/s3 notebooks, braindecode's TUH example): 60 s windows (6,000 samples) with cropped
# decoding, AdamW lr 0.0625 * 0.01, weight decay 0.5 * 0.001, batch 64, 10 epochs, cosine over epochs (T_max =
# epochs - 1), plain NLL.
REFERENCE = {"lr": 6.25e-4, "weight_decay": 5e-4, "batch_size": 64, "epochs": 10, "loss": "nll", "window_s": 60.0,
             "cropped": True}


class RecipeParams(PresetParams):
    """The shared training recipe, and named presets of it.

    A preset is data: a named set of parameter values (`PRESETS`) filled in before validation; parameters given
    explicitly win. `cpu` (the default) fits 2 CPU cores: 5 s windows, one prediction each, fixed step budgets and a
    class-balanced loss. `reference` is the paper's recipe. The preset's name and every resolved value are recorded.
    """

    model_config = ConfigDict(extra="forbid")
    PRESETS: ClassVar[dict[str, dict]] = {"cpu": {}, "reference": REFERENCE}
    preset: str = Field("cpu", description="named parameter set: 'cpu' (2 CPU cores) or 'reference' (the paper's recipe)")
    lr: float = Field(1e-3, gt=0, description="AdamW learning rate (pretraining, fine-tuning and from scratch)")
    weight_decay: float = Field(5e-4, ge=0, description="AdamW weight decay")
    batch_size: int = Field(32, ge=2, description="windows per step")
    pretrain_steps: int = Field(150, ge=1, description="optimiser steps on the source site (when epochs is unset)")
    target_steps: int = Field(80, ge=1, description="optimiser steps on the target site (fine-tuning or from scratch)")
    epochs: int | None = Field(None, ge=1, description="train for this many passes over the windows instead of the "
                                                        "step budgets (cosine over epochs, as the paper)")
    loss: Literal["balanced", "nll"] = Field("balanced", description="class-balanced NLL or plain NLL (the paper's)")
    window_s: float = Field(5.0, gt=0, description="window length in seconds at 100 Hz (the paper: 60)")
    cropped: bool = Field(False, description="cropped decoding: a dense network predicts every time step of a window, "
                                             "the loss averages them, training windows overlap by the receptive field")

    @property
    def window_samples(self) -> int:
        return round(self.window_s * SFREQ)


class EEGClassifier(Method):
    """A window classifier (normal vs abnormal) built from braindecode; subclasses build the network."""

    family: ClassVar[str] = "eeg"
    protocol: ClassVar[str] = "eeg_classifier"
    Params: ClassVar[type[BaseModel]] = RecipeParams

    def build(self, n_chans: int, n_times: int) -> torch.nn.Module:
        """A fresh network mapping [batch, n_chans, n_times] to two logits, [batch, 2], or, under cropped decoding
        where the network has a dense form, to logits per time step, [batch, 2, steps]."""
        raise NotImplementedError


def log_probabilities(out: torch.Tensor) -> torch.Tensor:
    """[batch, 2] or [batch, 2, steps] network output -> [batch, 2] log-probabilities, averaged over the steps
    (braindecode's CroppedLoss averages the per-step log-softmax)."""
    logp = torch.log_softmax(out, dim=1)
    return logp.mean(-1) if logp.dim() == 3 else logp


@torch.no_grad()
def predictions_per_window(module: torch.nn.Module, n_chans: int, n_times: int) -> int:
    """How many time steps a window yields (1 for a network without a dense form)."""
    module.eval()
    out = module(torch.zeros(1, n_chans, n_times))
    return out.shape[-1] if out.dim() == 3 else 1


def train(module: torch.nn.Module, windows: np.ndarray, labels: np.ndarray, steps: int, recipe: RecipeParams,
          seed: int, device: torch.device) -> torch.nn.Module:
    """Train in place: `recipe.epochs` shuffled passes (cosine over epochs, T_max = epochs - 1, the paper's skorch
    schedule) or else `steps` AdamW steps on seeded random batches (cosine over steps)."""
    module.to(device)
    counts = np.bincount(labels, minlength=2).astype(float)
    weight = None
    if recipe.loss == "balanced":
        weight = torch.tensor(counts.sum() / (2 * np.maximum(counts, 1)), dtype=torch.float32, device=device)
    x = torch.as_tensor(windows, device=device)
    y = torch.as_tensor(labels, dtype=torch.long, device=device)
    generator = torch.Generator().manual_seed(seed)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        idx = idx.to(device)
        return torch.nn.functional.nll_loss(log_probabilities(module(x[idx])), y[idx], weight=weight)

    if recipe.epochs is None:
        train_steps(module, steps, recipe.lr, recipe.weight_decay,
                    lambda: batch_loss(torch.randint(len(x), (min(recipe.batch_size, len(x)),), generator=generator)))
        return module
    optimiser = torch.optim.AdamW(module.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    module.train()
    for epoch in range(recipe.epochs):
        for group in optimiser.param_groups:
            group["lr"] = recipe.lr * (1 + math.cos(math.pi * epoch / max(recipe.epochs - 1, 1))) / 2
        for idx in torch.randperm(len(x), generator=generator).split(recipe.batch_size):
            optimiser.zero_grad()
            batch_loss(idx).backward()
            optimiser.step()
    module.eval()
    return module


@torch.no_grad()
def abnormal_probability(module: torch.nn.Module, windows: np.ndarray, device: torch.device) -> np.ndarray:
    """Per-window probability of 'abnormal', [N] (under cropped decoding, of the steps' mean log-probabilities)."""
    module.eval()
    x = torch.as_tensor(windows, device=device)
    return torch.cat([torch.softmax(log_probabilities(module(chunk)), -1)[:, 1] for chunk in x.split(PREDICT_BATCH)]).cpu().numpy()
