"""Signal generators with SynTSBench's formulas and parameters (Data_generation notebooks), seeded per series."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps


def linear(n: int, slope: float, intercept: float) -> np.ndarray:
    return slope * np.arange(n) + intercept


def quadratic(n: int, a: float, b: float, c: float) -> np.ndarray:
    x = np.arange(n)
    return a * x**2 + b * x + c


def exponential(n: int, rate: float, a: float = 1.0) -> np.ndarray:
    return a * np.exp(rate * np.arange(n)) + 1


def logarithmic(n: int, base: float) -> np.ndarray:
    return np.log(np.arange(1, n + 1)) / np.log(base)


def logistic(n: int, L: float, k: float) -> np.ndarray:
    return L / (1 + np.exp(-k * (np.arange(n) - n / 2)))


def gompertz(n: int, a: float, b: float, k: float) -> np.ndarray:
    return a * np.exp(-b * np.exp(-k * np.arange(n)))


def power_law(n: int, a: float, b: float) -> np.ndarray:
    return a * np.arange(1, n + 1) ** b


def step(n: int, t0: int, before: float, after: float) -> np.ndarray:
    out = np.full(n, float(before))
    out[t0:] = after
    return out


def piecewise_linear(n: int, breakpoints: list[int], values: list[float]) -> np.ndarray:
    return np.interp(np.arange(n), breakpoints, values)


def gaussian_bump(n: int, a: float, sigma: float) -> np.ndarray:
    return a * np.exp(-((np.arange(n) - n / 2) ** 2) / (2 * sigma**2))


def sines(n: int, components: list[tuple[float, float]]) -> np.ndarray:
    """Sum of amplitude * sin(2 pi f t) over (amplitude, frequency) pairs."""
    t = np.arange(n)
    return sum(a * np.sin(2 * np.pi * f * t) for a, f in components)


def triangle(n: int, frequency: float, amplitude: float = 1.0) -> np.ndarray:
    return amplitude * sps.sawtooth(2 * np.pi * frequency * np.arange(n), 0.5)


def sawtooth(n: int, frequency: float, amplitude: float = 1.0, phase_shift: float = 0.99) -> np.ndarray:
    """The reference's sawtooth: a phase of `phase_shift` x pi keeps samples off the jump from +1 to -1.

    Without it, 2 pi f t lands on the discontinuity every 1/f samples and floating-point rounding puts about 93 of
    5,000 samples on the wrong side, so even a perfect period-20 forecaster has error (MSE 0.11 on the test part).
    """
    return amplitude * sps.sawtooth(2 * np.pi * frequency * np.arange(n) + phase_shift * np.pi)


def square(n: int, frequency: float, amplitude: float = 1.0, half_sample: bool = True) -> np.ndarray:
    """A square wave shifted by half a sample (phase pi f) so that no sample falls on an edge.

    The reference samples sps.square(2 pi f t) at the edges themselves (f = 0.05: every 10 samples), where rounding
    flips 195 of 5,000 samples; a perfect period-20 forecaster then scores MSE 0.072, not the declared optimum 0.
    `half_sample=False` gives the reference's series.
    """
    return amplitude * sps.square(2 * np.pi * frequency * (np.arange(n) + (0.5 if half_sample else 0.0)))


def exp_sine(n: int, frequency: float, amplitude: float = 1.0) -> np.ndarray:
    return amplitude * np.exp(np.sin(2 * np.pi * frequency * np.arange(n)))


def alternating_triangle_pulses(n: int, small: float, large: float, width: int, interval: int) -> np.ndarray:
    """Triangle pulses every `interval` steps, alternating small and large: the period is 2 x interval."""
    width += width % 2
    half = width // 2
    shape = np.r_[np.arange(1, half + 1), np.arange(half, 0, -1)] / half
    out = np.zeros(n)
    for i, pos in enumerate(range(0, n - width + 1, interval)):
        out[pos:pos + width] = shape * (small if i % 2 == 0 else large)
    return out


def noise_variance_for_snr(clean: np.ndarray, snr_db: float) -> float:
    """SynTSBench's definition: noise variance = Var(signal) / 10^(SNR/10)."""
    return float(np.var(clean) / 10 ** (snr_db / 10))


def add_noise(clean: np.ndarray, snr_db: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    variance = noise_variance_for_snr(clean, snr_db)
    return clean + rng.normal(0.0, np.sqrt(variance), len(clean)), variance


def _amplitude_range(values: np.ndarray, base: tuple[float, float], large_factor: float) -> tuple[float, float]:
    spread = float(np.ptp(values))
    factor = large_factor if spread > 100 else 2.0 if spread < 4 else 1.0
    return base[0] * factor * spread, base[1] * factor * spread


def add_point_anomalies(values: np.ndarray, ratio: float, rng: np.random.Generator, fit_fraction: float = 0.8,
                        base: tuple[float, float] = (1.0, 2.0)) -> np.ndarray:
    """Spikes at `ratio` of the fitted part (the first 80%, as the reference), amplitude scaled by the range."""
    fit_len = int(len(values) * fit_fraction)
    low, high = _amplitude_range(values, base, 0.2)
    out = values.copy()
    for pos in rng.choice(fit_len, int(fit_len * ratio), replace=False):
        out[pos] += rng.choice([-1.0, 1.0]) * rng.uniform(low, high)
    return out


def add_pulse_anomalies(values: np.ndarray, count: int, rng: np.random.Generator, fit_fraction: float = 0.8,
                        width_range: tuple[int, int] = (10, 30), base: tuple[float, float] = (1.0, 2.0)) -> np.ndarray:
    """`count` level shifts 10-30 steps wide in the fitted part, spaced apart, amplitude scaled by the range."""
    fit_len = int(len(values) * fit_fraction)
    low, high = _amplitude_range(values, base, 0.8)
    min_distance = max(width_range[1], fit_len // (count * 2))
    candidates = np.arange(fit_len - width_range[1])
    positions: list[int] = []
    while len(positions) < count and len(candidates):
        pos = int(rng.choice(candidates))
        positions.append(pos)
        candidates = candidates[np.abs(candidates - pos) >= min_distance]
    out = values.copy()
    for pos in positions:
        width = int(rng.integers(*width_range))
        out[pos:pos + width] += rng.choice([-1.0, 1.0]) * rng.uniform(low, high)
    return out


def arma(n: int, ar: list[float], ma: list[float], sigma: float, rng: np.random.Generator, burn_in: int = 500,
         innovations: bool = False):
    """x_t = sum ar_i x_{t-i} + e_t + sum ma_j e_{t-j}, e ~ N(0, sigma^2), started after a burn-in.

    With `innovations`, also returns e_t (aligned with x), from which the optimal forecast of every window follows.
    """
    e = rng.normal(0.0, sigma, n + burn_in)
    ma_part = sps.lfilter(np.r_[1.0, ma], [1.0], e)
    x = sps.lfilter([1.0], np.r_[1.0, -np.asarray(ar)], ma_part)[burn_in:]
    return (x, e[burn_in:]) if innovations else x


def random_walk(n: int, sigma: float, rng: np.random.Generator, innovations: bool = False):
    e = rng.normal(0.0, sigma, n)
    return (np.cumsum(e), e) if innovations else np.cumsum(e)
