"""NLinear (Zeng et al., "Are Transformers Effective for Time Series Forecasting?"): one linear layer on the
window minus its last value."""

from __future__ import annotations

import torch

from tasks.timeseries.forecaster import TorchForecaster


class NLinearModule(torch.nn.Module):
    def __init__(self, input_len: int, horizon: int):
        super().__init__()
        self.linear = torch.nn.Linear(input_len, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x[:, -1:]
        return self.linear(x - last) + last


class NLinear(TorchForecaster):
    """A linear map from the input window to the horizon, on values relative to the last input."""

    name = "nlinear"
    paper = "https://arxiv.org/abs/2205.13504"
    description = "One linear layer from the input window to the horizon, on values relative to the window's last value (NLinear)."

    def build(self, input_len: int, horizon: int) -> torch.nn.Module:
        return NLinearModule(input_len, horizon)
