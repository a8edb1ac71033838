"""The theoretical optimum MSE of a forecast, in the scaler's units (SynTSBench's reference line)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Process:
    """The stochastic part of a series: ARMA(ar, ma) or a random walk, with innovation variance sigma2."""

    kind: str  # "arma" | "random_walk"
    sigma2: float
    ar: tuple[float, ...] = ()
    ma: tuple[float, ...] = ()


def psi_weights(ar: tuple[float, ...], ma: tuple[float, ...], count: int) -> np.ndarray:
    """MA(infinity) weights of an ARMA process: psi_0 = 1, psi_j = theta_j + sum_i phi_i psi_{j-i}."""
    psi = np.zeros(count)
    psi[0] = 1.0
    for j in range(1, count):
        theta = ma[j - 1] if j - 1 < len(ma) else 0.0
        psi[j] = theta + sum(phi * psi[j - i] for i, phi in enumerate(ar, 1) if j - i >= 0)
    return psi


def step_errors(process: Process, horizon: int) -> np.ndarray:
    """Variance of the optimal h-step forecast error for h = 1..horizon."""
    if process.kind == "random_walk":
        return process.sigma2 * np.arange(1, horizon + 1)
    psi = psi_weights(process.ar, process.ma, horizon)
    return process.sigma2 * np.cumsum(psi**2)


def optimal_mse(train_variance: float, horizon: int, noise_variance: float = 0.0, process: Process | None = None) -> float:
    """Mean over the horizon of the best achievable squared error, divided by the training variance (the scaler's).

    Deterministic signals: 0. Additive white noise: sigma_n^2. ARMA: sigma^2 sum_{j<h} psi_j^2. Random walk: h sigma^2.
    """
    total = noise_variance
    if process is not None:
        total += float(step_errors(process, horizon).mean())
    return total / train_variance


def oracle_forecasts(values: np.ndarray, start: int, input_len: int, horizon: int, clean: np.ndarray | None = None,
                     process: Process | None = None, innovations: np.ndarray | None = None) -> np.ndarray | None:
    """The optimal forecast [N, horizon] of every window cut from values[start:] (raw units), where it is known.

    Additive noise on a known signal: the signal itself. ARMA / random walk with known innovations e_t: the
    conditional mean x_{t+k} - sum_{i=1..k} psi_{k-i} e_{t+i} (the future innovations' share removed), exact because
    the generator builds x from e. Its MSE on a series' own test windows is the optimum *realised on that path*,
    free of the single path's sampling error that the analytic expectation carries.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    first = start + input_len  # index of the first target of the first window
    if len(values) - first < horizon:
        return None
    if clean is not None:
        return np.ascontiguousarray(sliding_window_view(clean[first:], horizon))
    if process is None or innovations is None:
        return None
    psi = np.ones(horizon) if process.kind == "random_walk" else psi_weights(process.ar, process.ma, horizon)
    lag = np.arange(horizon)[None, :] - np.arange(horizon)[:, None]  # k - i
    spread = np.where(lag >= 0, psi[np.clip(lag, 0, None)], 0.0)  # [i, k]: weight of e_{t+1+i} in x_{t+1+k}
    future = sliding_window_view(values[first:], horizon)
    shocks = sliding_window_view(innovations[first:], horizon)
    return future - shocks @ spread
