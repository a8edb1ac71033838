"""DLinear (Zeng et al.): moving-average trend + remainder, one linear layer each."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import BaseModel, Field

from tasks.timeseries.forecaster import TorchForecaster, TrainingParams


class DLinearParams(TrainingParams):
    kernel: int = Field(25, ge=3, description="moving-average window of the trend (odd)")


class DLinearModule(torch.nn.Module):
    def __init__(self, input_len: int, horizon: int, kernel: int):
        super().__init__()
        self.pad = (kernel - 1) // 2
        self.average = torch.nn.AvgPool1d(kernel_size=2 * self.pad + 1, stride=1)
        self.trend = torch.nn.Linear(input_len, horizon)
        self.seasonal = torch.nn.Linear(input_len, horizon)

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
        return DLinearModule(input_len, horizon, self.params.kernel)
