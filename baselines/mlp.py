"""A two-hidden-layer MLP forecaster on the window relative to its last value."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import BaseModel, Field

from tasks.timeseries.forecaster import TorchForecaster, TrainingParams
from tasks.timeseries.windows import Windows


class MLPParams(TrainingParams):
    hidden: int = Field(256, ge=4, description="width of the two hidden layers")


class MLPModule(torch.nn.Module):
    """Windows [N, L] -> [N, H], or [N, C, L] -> [N, C, H] with all channels flattened into one input (mixing)."""

    def __init__(self, input_len: int, horizon: int, hidden: int, channels: int = 1):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(channels * input_len, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, channels * horizon))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x[..., -1:]
        return self.net((x - last).flatten(1)).view(*x.shape[:-1], -1) + last


class MLPForecaster(TorchForecaster):
    """Input window minus its last value -> two ReLU layers -> horizon, plus the last value back; several channels
    are flattened into one input and one output (channel-mixing)."""

    name = "mlp"
    description = ("Two hidden ReLU layers (256 wide) from the input window to the horizon, relative to the last value; "
                   "several channels are flattened into one input (channel-mixing).")
    Params: ClassVar[type[BaseModel]] = MLPParams
    channel_mixing: ClassVar[bool] = True

    def build(self, input_len: int, horizon: int, channels: int = 1) -> torch.nn.Module:
        return MLPModule(input_len, horizon, self.params.hidden, channels)

    def build_for(self, train: Windows) -> torch.nn.Module:
        channels = train.inputs.shape[1] if train.inputs.ndim == 3 else 1
        return self.build(train.inputs.shape[-1], train.targets.shape[-1], channels)
