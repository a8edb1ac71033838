"""DLinear (Zeng et al.): moving-average trend + remainder, one linear layer each."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import BaseModel, Field

from tasks.timeseries.forecaster import TorchForecaster, TrainingParams


class DLinearParams(TrainingParams):
    PRESETS: ClassVar[dict[str, dict]] = {
        "cpu": {},
        # scripts/DLinear.sh and run.py of TanQitai/SynTSBench: lr 0.01, 30 epochs, batch 32, patience 3, lradj type1
        # (x0.85 per epoch in that repository's utils/tools.py), weights initialised to 1/input_len
        "reference": {"epochs": 30, "lr": 0.01, "batch_size": 32, "patience": 3, "lr_decay": 0.85, "init": "mean"},
    }
    kernel: int = Field(25, ge=3, description="moving-average window of the trend (odd)")
    init: Literal["default", "mean"] = Field("default", description="linear weights: torch's default or 1/input_len (the reference's)")


class DLinearModule(torch.nn.Module):
    def __init__(self, input_len: int, horizon: int, kernel: int, init: str = "default"):
        super().__init__()
        self.pad = (kernel - 1) // 2
        self.average = torch.nn.AvgPool1d(kernel_size=2 * self.pad + 1, stride=1)
        self.trend = torch.nn.Linear(input_len, horizon)
        self.seasonal = torch.nn.Linear(input_len, horizon)
        if init == "mean":
            for layer in (self.trend, self.seasonal):
                torch.nn.init.constant_(layer.weight, 1 / input_len)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = torch.cat([x[:, :1].expand(-1, self.pad), x, x[:, -1:].expand(-1, self.pad)], dim=1)
        trend = self.average(padded.unsqueeze(1)).squeeze(1)
        return self.trend(trend) + self.seasonal(x - trend)


class DLinear(TorchForecaster):
    """Splits the window into a moving-average trend and a remainder, and maps each to the horizon linearly."""

    name = "dlinear"
    paper = "https://arxiv.org/abs/2205.13504"
    description = "Moving-average decomposition (kernel 25, edge-replicated) with one linear layer for the trend and one for the remainder (DLinear)."
    Params: ClassVar[type[BaseModel]] = DLinearParams

    def build(self, input_len: int, horizon: int) -> torch.nn.Module:
        return DLinearModule(input_len, horizon, self.params.kernel, self.params.init)
