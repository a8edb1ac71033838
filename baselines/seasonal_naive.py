"""Seasonal naive forecaster: repeat the last season, with the period found on the training part."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from tasks.timeseries.forecaster import Forecaster
from tasks.timeseries.windows import Windows


class SeasonalParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_autocorrelation: float = Field(0.3, description="below this peak autocorrelation the series counts as aperiodic (period 1)")


def dominant_period(x: np.ndarray, max_lag: int, threshold: float) -> int:
    """The lag (2..max_lag) with the highest autocorrelation of the differenced series, or 1 if none is strong."""
    d = np.diff(x) - np.diff(x).mean()
    denom = float(d @ d)
    if denom == 0 or max_lag < 2:
        return 1
    acf = np.array([d[:-lag] @ d[lag:] / denom for lag in range(2, max_lag + 1)])
    best = int(np.argmax(acf))
    return best + 2 if acf[best] >= threshold else 1


class SeasonalNaive(Forecaster):
    """Repeats the last full period of the input window; the period (at most the input length) comes from training data."""

    name = "seasonal_naive"
    description = ("Repeats the last period of the input window; the period is the training part's strongest "
                   "autocorrelation lag up to the input length (1, i.e. naive, when no lag is strong).")
    Params: ClassVar[type[BaseModel]] = SeasonalParams
    period = 1

    def fit(self, train: Windows, val: Windows, seed: int, device: torch.device) -> None:
        series = np.r_[train.inputs[:, 0], train.inputs[-1, 1:]]  # the training part, rebuilt from its windows
        self.period = dominant_period(series, train.inputs.shape[1], self.params.min_autocorrelation)

    def predict(self, inputs: np.ndarray, horizon: int) -> np.ndarray:
        return repeat_season(inputs, self.period, horizon)

    def fit_channels(self, train: Windows, val: Windows, seed: int, device: torch.device) -> None:
        """One period per channel, each from that channel's training part."""
        self.periods = []
        for c in range(train.inputs.shape[1]):
            self.fit(Windows(train.inputs[:, c], train.targets[:, c]), val, seed, device)
            self.periods.append(self.period)

    def predict_channels(self, inputs: np.ndarray, horizon: int) -> np.ndarray:
        return np.stack([repeat_season(inputs[:, c], period, horizon) for c, period in enumerate(self.periods)], axis=1)


def repeat_season(inputs: np.ndarray, period: int, horizon: int) -> np.ndarray:
    """The last `period` values of each window [N, L], repeated over the horizon."""
    return np.tile(inputs[:, -period:], (1, -(-horizon // period)))[:, :horizon]
