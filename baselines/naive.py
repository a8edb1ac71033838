"""Naive forecaster: the last observed value, repeated over the horizon."""

from __future__ import annotations

import numpy as np

from tasks.timeseries.forecaster import Forecaster


class Naive(Forecaster):
    """Repeats the last value of the input window (optimal for a random walk)."""

    name = "naive"
    description = "Repeats the last value of the input window; the floor every forecaster should beat (and optimal for a random walk)."

    def predict(self, inputs: np.ndarray, horizon: int) -> np.ndarray:
        return np.repeat(inputs[:, -1:], horizon, axis=1)
