"""A vector autoregression fitted by least squares: every forecast step of every channel is a linear function of the
last `lags` values of all channels (direct multi-step: one regression per output, no iterated forecasts)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from tasks.timeseries.forecaster import Forecaster
from tasks.timeseries.windows import Windows


class VARParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lags: int | None = Field(None, ge=1, description="past steps of every channel used (unset: the whole input window)")
    ridge: float = Field(1e-3, ge=0, description="ridge penalty per training window (keeps the least squares well posed)")


def design(inputs: np.ndarray, lags: int) -> np.ndarray:
    """[N, C, L] or [N, L] -> [N, C * lags + 1]: the last `lags` steps of every channel and an intercept."""
    x = inputs if inputs.ndim == 3 else inputs[:, None, :]
    return np.concatenate([x[:, :, -lags:].reshape(len(x), -1), np.ones((len(x), 1))], axis=1)


class VAR(Forecaster):
    """Least-squares vector autoregression on all channels (channel-mixing): sees cross-channel lags."""

    name = "var"
    description = ("Vector autoregression: each forecast step of each channel is a least-squares (ridge 1e-3 x N) linear "
                   "function of the input window of all channels, one regression per step (direct, channel-mixing).")
    Params: ClassVar[type[BaseModel]] = VARParams
    channel_mixing: ClassVar[bool] = True

    def fit(self, train: Windows, val: Windows, seed: int, device: torch.device) -> None:
        self.lags = min(self.params.lags or train.inputs.shape[-1], train.inputs.shape[-1])
        x = design(train.inputs, self.lags)
        y = train.targets.reshape(len(train.targets), -1)
        penalty = self.params.ridge * len(x) * np.eye(x.shape[1])
        penalty[-1, -1] = 0.0  # the intercept is not shrunk
        self.coef = np.linalg.solve(x.T @ x + penalty, x.T @ y)
        self.target_shape = train.targets.shape[1:]

    def predict(self, inputs: np.ndarray, horizon: int) -> np.ndarray:
        return (design(inputs, self.lags) @ self.coef).reshape(len(inputs), *self.target_shape)

    def parameter_count(self) -> int:
        return int(self.coef.size)
