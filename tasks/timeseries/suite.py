"""The offline suite: every SynTSBench pattern as a seeded series, with what its optimum depends on."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tasks.timeseries import generators as g
from tasks.timeseries.optimum import Process

CATEGORIES = ("trend", "periodic", "long_period", "noise", "anomaly", "stochastic")
# The signals the noise and anomaly notebooks corrupt.
CORRUPTED = ("Linear-Trend", "Logistic-Trend", "Sin0.05", "Double-Sin", "Five-Sin")
AR_COEFFS, ARMA_AR, ARMA_MA = (0.6, 0.2, 0.15), (0.5, -0.25), (0.4,)


@dataclass
class Series:
    """One generated series and what its optimal forecast error depends on."""

    id: str
    category: str
    pattern: str
    values: np.ndarray
    noise_variance: float = 0.0
    process: Process | None = None
    clean: np.ndarray | None = None  # the predictable part under additive noise (the optimal forecast's values)
    innovations: np.ndarray | None = None  # e_t of an ARMA / random-walk series (the optimal forecast follows)

    @property
    def has_oracle(self) -> bool:
        """Whether the optimal forecast of every window is known, so its error on this very path can be measured."""
        return self.clean is not None or (self.process is not None and self.innovations is not None)


def clean_signals(n: int) -> dict[str, Callable[[], np.ndarray]]:
    """Trend, periodic and long-period signals with the notebooks' parameters."""
    five = [(1, 0.01), (1.2, 0.02), (2, 0.05), (1.4, 0.08), (0.9, 0.1)]
    ten = [(1, 0.01), (1.2, 0.02), (1.5, 0.03), (1.8, 0.04), (2, 0.05), (2.2, 0.06), (1.7, 0.07), (1.4, 0.08),
           (1.1, 0.09), (0.9, 0.1)]
    return {
        "Linear-Trend": lambda: g.linear(n, 0.01, 5),
        "Quadratic-Function": lambda: g.quadratic(n, 0.0001, 0, 0),
        "Exponential-Trend": lambda: g.exponential(n, 0.0015),
        "Negative-Exponential-Trend": lambda: g.exponential(n, -0.0005, a=100),
        "Logarithmic-Function": lambda: g.logarithmic(n, 2),
        "Logistic-Trend": lambda: g.logistic(n, 10, 0.001),
        "Gompertz-Trend": lambda: g.gompertz(n, 10, 5, 0.001),
        "Power-Law-Trend": lambda: g.power_law(n, 0.5, 0.6),
        "Step-Function": lambda: g.step(n, n // 3, 2, 8),
        "Piecewise-Linear": lambda: g.piecewise_linear(n, [0, n // 6, n // 3, 3 * n // 5, n - 1], [2, 8, 4, 10, 7]),
        "Gaussian-Trend": lambda: g.gaussian_bump(n, 10, n / 6),
        "Sin0.05": lambda: g.sines(n, [(1, 0.05)]),
        "Sin0.005": lambda: g.sines(n, [(1, 0.005)]),
        "Double-Sin": lambda: g.sines(n, [(2, 0.1), (1.5, 0.05)]),
        "Triple-Sin": lambda: g.sines(n, [(1, 0.2), (2, 0.15), (4, 0.05)]),
        "Five-Sin": lambda: g.sines(n, five),
        "Ten-Sin": lambda: g.sines(n, ten),
        "Triangle-Wave": lambda: g.triangle(n, 0.05),
        "Sawtooth-Wave": lambda: g.sawtooth(n, 0.05),
        "Square-Wave": lambda: g.square(n, 0.05),
        "Exp-Sine-Wave": lambda: g.exp_sine(n, 0.05),
        "Twopulse-Triangles": lambda: g.alternating_triangle_pulses(n, 1, 2, 10, 96),
        "Triangle-Wave0.005": lambda: g.triangle(n, 0.005),
        "Triangle-Wave0.0025": lambda: g.triangle(n, 0.0025),
    }


CLEAN_CATEGORY = {name: "trend" for name in list(clean_signals(10))[:11]}
CLEAN_CATEGORY.update({name: "periodic" for name in list(clean_signals(10))[11:21]})
CLEAN_CATEGORY.update({name: "long_period" for name in list(clean_signals(10))[21:]})


def rng_for(seed: int, series_id: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(series_id.encode())])


def build_suite(n: int, seed: int, categories: list[str], snr_db: list[float], point_ratios: list[float],
                pulse_counts: list[int]) -> list[Series]:
    """Every series of the chosen categories, deterministic for (n, seed)."""
    signals = clean_signals(n)
    suite: list[Series] = []
    for name, make in signals.items():
        if CLEAN_CATEGORY[name] in categories:
            values = make()
            suite.append(Series(name, CLEAN_CATEGORY[name], name, values, clean=values))
    if "noise" in categories:
        for name in CORRUPTED:
            for snr in snr_db:
                sid = f"{name}-SNR{snr:g}dB"
                clean = signals[name]()
                values, variance = g.add_noise(clean, snr, rng_for(seed, sid))
                suite.append(Series(sid, "noise", name, values, noise_variance=variance, clean=clean))
    if "anomaly" in categories:
        for name in CORRUPTED:
            for ratio in point_ratios:
                sid = f"{name}-point{ratio:g}"
                rng = rng_for(seed, sid)
                clean = signals[name]()
                values, variance = g.add_noise(clean, 20, rng)
                suite.append(Series(sid, "anomaly", name, g.add_point_anomalies(values, ratio, rng), noise_variance=variance,
                                    clean=clean))
            for count in pulse_counts:
                sid = f"{name}-pulse{count}"
                rng = rng_for(seed, sid)
                clean = signals[name]()
                values, variance = g.add_noise(clean, 20, rng)
                suite.append(Series(sid, "anomaly", name, g.add_pulse_anomalies(values, count, rng), noise_variance=variance,
                                    clean=clean))
    if "stochastic" in categories:
        for sid, pattern, process in (("AR3", "AR(3)", Process("arma", 1.0, AR_COEFFS)),
                                      ("ARMA21", "ARMA(2,1)", Process("arma", 1.0, ARMA_AR, ARMA_MA)),
                                      ("Random-Walk", "random walk", Process("random_walk", 1.0))):
            if process.kind == "arma":
                values, e = g.arma(n, list(process.ar), list(process.ma), 1.0, rng_for(seed, sid), innovations=True)
            else:
                values, e = g.random_walk(n, 1.0, rng_for(seed, sid), innovations=True)
            suite.append(Series(sid, "stochastic", pattern, values, process=process, innovations=e))
    return suite
