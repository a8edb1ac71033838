"""Optimal forecasts of the multivariate sets, where the generator allows one: every window's conditional mean."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import norm


@dataclass
class MeanPath:
    """Each time step's randomness is independent of the past: the optimal forecast of x[c, s] is mean[c, s]."""

    mean: np.ndarray  # [C, n]

    def forecasts(self, values: np.ndarray, first: int, horizon: int) -> np.ndarray:
        """[N, C, horizon] for the windows whose first target is at `first`, `first + 1`, ... (raw units)."""
        return np.ascontiguousarray(sliding_window_view(self.mean[:, first:], horizon, axis=1).transpose(1, 0, 2))


@dataclass
class LaggedCopy:
    """Channel 0 is zero-mean white noise, channel 1 is channel 0 `lag` steps later: B_s = A_{s-lag} is known from
    the input window for the first `lag` steps of the horizon, and its mean (0) after them; A's optimum is 0."""

    lag: int

    def forecasts(self, values: np.ndarray, first: int, horizon: int) -> np.ndarray:
        count = values.shape[1] - first - horizon + 1
        out = np.zeros((count, 2, horizon))
        known = min(self.lag, horizon)
        source = sliding_window_view(values[0, first - self.lag:], known)[:count]  # A_{s-lag} for s = t+1..t+known
        out[:, 1, :known] = source
        return out


def floored_normal_mean(mu: np.ndarray, sigma: np.ndarray | float, floor: float) -> np.ndarray:
    """E[max(X, floor)] for X ~ N(mu, sigma^2)."""
    d = (mu - floor) / sigma
    return floor + (mu - floor) * norm.cdf(d) + sigma * norm.pdf(d)


def monte_carlo_mean(clean: np.ndarray, sigma: np.ndarray, transform, rng: np.random.Generator, draws: int,
                     chunk: int = 250) -> np.ndarray:
    """E[transform(clean + noise)] per time step (noise ~ N(0, sigma_c^2), independent over time), by `draws` draws.

    `transform` maps [draws, C, T] to the same shape; the estimate's own error adds about Var/draws to the oracle MSE.
    """
    out = np.empty_like(clean)
    for start in range(0, clean.shape[1], chunk):
        part = clean[:, start:start + chunk]
        noise = rng.normal(size=(draws, *part.shape)) * sigma[None, :, None]
        out[:, start:start + chunk] = transform(part[None] + noise).mean(axis=0)
    return out
