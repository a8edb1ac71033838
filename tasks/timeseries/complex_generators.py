"""SynTSBench's complex univariate series (data_generate_complex-univariate-multivariate.ipynb, first cell), with the
notebook's parameters and its order of random draws.

Each generator draws from a `numpy.random.RandomState` in the notebook's order, so that seeding one with the seed the
notebook gives numpy's global state reproduces the reference sample for sample (benchmarks/syntsbench_reference.py).
Each returns a `Generated`: the series and, where the generator allows one, what its optimal forecast follows from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tasks.timeseries import generators as g


@dataclass
class Generated:
    """A generated series; `clean` is its conditional mean when the rest is independent zero-mean noise of variance
    `noise_variance` (per sample or one number); `walk` are the steps of an added random walk (the rest deterministic)."""

    values: np.ndarray
    clean: np.ndarray | None = None
    noise_variance: np.ndarray | float = float("nan")
    walk: np.ndarray | None = None


def composite_sine(n: int, components: list[tuple[float, float, float]]) -> np.ndarray:
    """Sum of amplitude * sin(2 pi f t + phase) over (amplitude, frequency, phase) triples."""
    t = np.arange(n)
    return sum(a * np.sin(2 * np.pi * f * t + phase) for a, f, phase in components)


def garch(n: int, omega: float, alpha: float, beta: float, rng: np.random.RandomState) -> np.ndarray:
    """The notebook's GARCH(1,1) recursion: r_t ~ N(0, s2_{t-1}), s2_t = omega + alpha r_{t-1}^2 + beta s2_{t-1}.

    The notebook reseeds numpy with `seed=None` here (OS entropy), so its stock price is not reproducible; this draws
    from the series' own generator instead.
    """
    returns, sigma2 = np.zeros(n), np.zeros(n)
    sigma2[0] = omega / (1 - alpha - beta)
    for t in range(1, n):
        returns[t] = rng.normal(0, np.sqrt(sigma2[t - 1]))
        sigma2[t] = omega + alpha * returns[t - 1] ** 2 + beta * sigma2[t - 1]
    return returns


def stock_price(n: int, rng: np.random.RandomState, volatility: float = 0.8) -> Generated:
    """Exponential trend, two market cycles, a weekly sine, a random walk and GARCH clusters, floored at 10.
    No optimum: the walk and the GARCH noise are not separable from the observed sum, and the floor is not linear."""
    deterministic = (g.exponential(n, 0.00001, a=100) + 15 * composite_sine(n, [(0.8, 0.001, 0), (0.5, 0.005, 1.5)])
                     + 3 * g.sines(n, [(0.5, 0.2)]))
    walk = volatility * np.cumsum(rng.normal(0, 1, n))
    return Generated(np.maximum(deterministic + walk + 8 * garch(n, 0.1, 0.15, 0.8, rng), 10.0))


def weekend(n: int, samples_per_day: int) -> np.ndarray:
    return (np.arange(n) // samples_per_day) % 7 >= 5


def electricity_consumption(n: int, rng: np.random.RandomState, per_day: int = 24) -> Generated:
    """Daily, weekly and yearly cycles on a linear trend, white noise (std 5) and about monthly demand spikes.
    No optimum: the spikes start at random times."""
    deterministic = (g.linear(n, 0.002, 100) + composite_sine(n, [(30, 1 / per_day, 0), (10, 2 / per_day, np.pi / 6)])
                     - 15 * weekend(n, per_day) + 25 * g.sines(n, [(1, 1 / (365 * per_day))]))
    noise = rng.normal(0, 5, n)
    spikes = np.zeros(n)
    for pos in rng.choice(n, size=n // (30 * per_day), replace=False):
        width = rng.randint(2, per_day)
        spikes[pos:pos + width] = rng.uniform(20, 50)
    return Generated(np.maximum(deterministic + noise + spikes, 0))


def industrial_sensor(n: int, rng: np.random.RandomState, failure_point: int | None = None) -> Generated:
    """Two vibration sines and a daily sine, quadratic degradation from n/3 with noise growing with it, and (with a
    failure point) random warning spikes from 80% of the way to it and an exp-sine failure pattern after it.

    The optimum is the deterministic part wherever the warning spikes cannot fall (they lie before the failure
    point, i.e. in the training part for the notebook's failure at n/2): the noise is independent, N(0, 0.2 + d_t).
    """
    failure_point = n + 1000 if failure_point is None else failure_point
    baseline = composite_sine(n, [(2.0, 0.1, 0), (0.5, 0.3, 0.5)]) + g.sines(n, [(1, 0.02)])
    start = int(n / 3)
    degradation = np.zeros(n)
    degradation[start:] = 0.5 * (np.arange(n - start) / n) ** 2
    noise = rng.normal(0, 0.2 + degradation, n)
    anomalies = np.zeros(n)
    failure = np.zeros(n)
    if failure_point < n:
        warning = int(0.8 * failure_point)
        for i in range(warning, failure_point):
            if rng.random() < 0.05 * (i - warning) / (failure_point - warning):
                anomalies[i] = rng.choice([-1, 1]) * rng.uniform(3, 8)
        failure[failure_point:] = g.exp_sine(n - failure_point, 0.3, amplitude=3)
    clean = baseline + 5 * degradation + failure
    return Generated(clean + noise + anomalies, clean=clean, noise_variance=(0.2 + degradation) ** 2)


def network_traffic(n: int, rng: np.random.RandomState, per_day: int = 24) -> Generated:
    """Working-hours and evening peaks, weekend dips, a linear trend, random Gaussian bursts, random downtimes
    (x 0.05) and white noise (std 5), floored at 0. No optimum: bursts and downtimes start at random times."""
    hours = (np.arange(n) % per_day) / per_day * 24
    daily = np.full(n, 10.0)
    work, evening = (9 <= hours) & (hours < 17), (17 <= hours) & (hours < 23)
    daily[work] = 100 * np.sin((hours[work] - 9) * np.pi / 8) ** 2
    daily[evening] = 40 * np.sin((hours[evening] - 17) * np.pi / 6) ** 2
    deterministic = g.linear(n, 0.01, 50) + daily - 30 * weekend(n, per_day)
    bursts = np.zeros(n)
    for pos in rng.choice(n, size=n // (7 * per_day), replace=False):
        width = rng.randint(5, per_day)
        height = rng.uniform(50, 200)
        if pos + width < n:
            shape = np.exp(-((np.arange(width) - width / 2) ** 2) / (2 * (width / 5) ** 2))
            bursts[pos:pos + width] += shape / shape.max() * height
    downtime = np.ones(n)
    for pos in rng.choice(n, size=max(1, n // (90 * per_day)), replace=False):
        width = rng.randint(1, 8)
        if pos + width < n:
            downtime[pos:pos + width] = 0.05
    noise = rng.normal(0, 5, n)
    return Generated(np.maximum((deterministic + bursts + noise) * downtime, 0))


def retail_sales(n: int, rng: np.random.RandomState) -> Generated:
    """Weekday, payday, quarterly and holiday patterns on a power-law trend, random 3-6 day promotions and white
    noise (std 50), floored at 0. No optimum: promotions start at random times."""
    days = np.arange(n)
    weekly = np.select([days % 7 == 5, days % 7 == 6, days % 7 == 4], [300, 250, 150], 0)
    month = days % 30
    monthly = np.where(month < 3, 200, np.where((14 <= month) & (month < 17), 150, 0))
    year = days % 365
    holiday = np.where((330 <= year) & (year < 360), 500 * (1 - np.abs(year - 345) / 15), 0.0)
    school = np.where((213 <= year) & (year < 243), 200 * (1 - np.abs(year - 228) / 15), 0.0)
    deterministic = g.power_law(n, 1000, 0.05) + weekly + monthly + g.sines(n, [(200, 1 / 90)]) + holiday + school
    promotions = np.zeros(n)
    for pos in rng.choice(n, size=n // 60, replace=False):
        width = rng.randint(3, 7)
        height = rng.uniform(300, 700)
        if pos + width < n:
            promotions[pos:pos + width] = height
    return Generated(np.maximum(deterministic + promotions + rng.normal(0, 50, n), 0))


def economic_indicator(n: int, rng: np.random.RandomState) -> Generated:
    """Linear trend + two cycles + 0.2 x a random walk: the optimum is the cycles ahead plus the walk's last value."""
    steps = rng.normal(0, 1, n)
    return Generated(g.linear(n, 0.005, 0) + composite_sine(n, [(2, 0.01, 0), (1, 0.05, 0.5)]) + 0.2 * np.cumsum(steps),
                     noise_variance=0.0, walk=0.2 * steps)


def iot_battery(n: int, rng: np.random.RandomState) -> Generated:
    """100 minus (a power-law drain + a small sine + white noise, std 0.3)."""
    clean = 100 - (g.power_law(n, 0.001, 1.5) + 5 * g.sines(n, [(0.2, 0.1)]))
    return Generated(clean - rng.normal(0, 0.3, n), clean=clean, noise_variance=0.09)


def website_traffic(n: int, rng: np.random.RandomState) -> Generated:
    """Daily, weekly and monthly sines, a step of 5 at n/2 and white noise (std 1.5)."""
    clean = composite_sine(n, [(10, 1 / 24, 0), (5, 1 / (24 * 7), np.pi / 2), (3, 1 / (24 * 30), np.pi / 4)]) \
        + g.step(n, n // 2, 0, 5)
    return Generated(clean + rng.normal(0, 1.5, n), clean=clean, noise_variance=2.25)


def temperature_sensor(n: int, rng: np.random.RandomState) -> Generated:
    """25 + a yearly and a daily sine + white noise (std 0.8)."""
    clean = 25 + 10 * g.sines(n, [(1, 1 / (24 * 365))]) + 3 * g.sines(n, [(1, 1 / 24)])
    return Generated(clean + rng.normal(0, 0.8, n), clean=clean, noise_variance=0.64)


COMPLEX = {
    "Stock-Price": stock_price,
    "Electricity-Consumption": electricity_consumption,
    "Industrial-Sensor": lambda n, rng: industrial_sensor(n, rng, failure_point=n // 2),
    "Industrial-Sensor-Normal": industrial_sensor,
    "Network-Traffic": network_traffic,
    "Retail-Sales": retail_sales,
    "Economic-Indicator": economic_indicator,
    "IoT-Sensor-Battery": iot_battery,
    "Website-Traffic": website_traffic,
    "Temperature-Sensor": temperature_sensor,
}
