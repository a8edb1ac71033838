"""A two-hidden-layer MLP forecaster on the window relative to its last value."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import BaseModel, Field

from tasks.timeseries.forecaster import TorchForecaster, TrainingParams


class MLPParams(TrainingParams):
    hidden: int = Field(256, ge=4, description="width of the two hidden layers")


class MLPModule(torch.nn.Module):
    def __init__(self, input_len: int, horizon: int, hidden: int):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(input_len, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, horizon))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x[:, -1:]
        return self.net(x - last) + last


class MLPForecaster(TorchForecaster):
    """Input window minus its last value -> two ReLU layers -> horizon, plus the last value back."""

    name = "mlp"
    description = "Two hidden ReLU layers (256 wide) from the input window to the horizon, relative to the last value."
    Params: ClassVar[type[BaseModel]] = MLPParams

    def build(self, input_len: int, horizon: int) -> torch.nn.Module:
        return MLPModule(input_len, horizon, self.params.hidden)
