"""SynTSBench's multivariate sets with the notebooks' parameters and order of random draws: the lagged relations and
the sine-noise composite (data_generate_multivariate-relationship.ipynb), Lotka-Volterra and SIR (second cell of
data_generate_complex-univariate-multivariate.ipynb) and the causal sets (its third cell).

Each generator draws from a `numpy.random.RandomState` in the notebook's order (see complex_generators) and returns a
`MultiGenerated`: channels [C, n], their names, and the optimal forecaster where one can be derived (else None).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.stats import exponnorm, norm

from tasks.timeseries.multivariate_optimum import LaggedCopy, MeanPath, floored_normal_mean, monte_carlo_mean

SIR_DRAWS = 2000


@dataclass
class MultiGenerated:
    """Channels [C, n] with names, and the optimal forecaster (MeanPath / LaggedCopy) or None where none is derived."""

    values: np.ndarray
    channels: tuple[str, ...]
    oracle: MeanPath | LaggedCopy | None = None


def lagged(n: int, rng: np.random.RandomState, lag: int) -> MultiGenerated:
    """A: white noise N(0, 1); B: A delayed by `lag` steps (0 before)."""
    a = rng.normal(0, 1, n)
    b = np.zeros(n)
    b[lag:] = a[:-lag]
    return MultiGenerated(np.stack([a, b]), ("FeatureA_WhiteNoise", f"FeatureB_Lag{lag}"), LaggedCopy(lag))


def sine_noise_composite(n: int, rng: np.random.RandomState, frequency: float = 0.05, snr_db: float = 0) -> MultiGenerated:
    """A: a sine; B: white noise with Var(A) / 10^(snr/10); C = A + B. Optimum: A, 0, A."""
    a = np.sin(2 * np.pi * frequency * np.arange(n))
    b = rng.normal(0, np.sqrt(np.var(a) / 10 ** (snr_db / 10)), n)
    return MultiGenerated(np.stack([a, b, a + b]), ("FeatureA_Sin", "FeatureB_Noise_0dB", "FeatureC_Sum"),
                          MeanPath(np.stack([a, np.zeros(n), a])))


def ode(rhs, y0: list[float], n: int, t_end: float = 60.0) -> np.ndarray:
    """solve_ivp's RK45 at its default tolerances, sampled at n points of [0, t_end] (the notebook's call)."""
    return solve_ivp(rhs, [0, t_end], y0, method="RK45", t_eval=np.linspace(0, t_end, n)).y


def lotka_volterra(n: int, rng: np.random.RandomState, noise_level: float = 0.02) -> MultiGenerated:
    """Prey and predator; parameters drawn around (1, 0.1, 0.075, 1.5) as the notebook; noise 2% of each range,
    floored at 0.01. Optimum: E[max(trajectory + noise, 0.01)], in closed form."""
    alpha, beta, delta, gamma = (c + w * (rng.random() - 0.5) for c, w in ((1.0, 0.2), (0.1, 0.02), (0.075, 0.015), (1.5, 0.3)))
    clean = ode(lambda t, z: [alpha * z[0] - beta * z[0] * z[1], delta * z[0] * z[1] - gamma * z[1]], [10, 5], n)
    sigma = noise_level * np.ptp(clean, axis=1)
    noisy = np.stack([clean[c] + rng.normal(0, sigma[c], n) for c in range(2)])
    return MultiGenerated(np.maximum(noisy, 0.01), ("Prey", "Predator"),
                          MeanPath(floored_normal_mean(clean, sigma[:, None], 0.01)))


def sir(n: int, rng: np.random.RandomState, noise_level: float = 0.01, population: float = 1000) -> MultiGenerated:
    """Susceptible, infected, recovered; beta, gamma drawn around (0.3, 0.1); noise 1% of (range + 1), floored at 0,
    renormalised to the population. Optimum: the mean of that transform of the trajectory, by Monte Carlo."""
    beta = 0.3 + 0.06 * (rng.random() - 0.5)
    gamma = 0.1 + 0.02 * (rng.random() - 0.5)
    clean = ode(lambda t, y: [-beta * y[0] * y[1] / population, beta * y[0] * y[1] / population - gamma * y[1],
                              gamma * y[1]], [population - 1, 1, 0], n)
    sigma = noise_level * (np.ptp(clean, axis=1) + 1)
    noisy = np.maximum(np.stack([clean[c] + rng.normal(0, sigma[c], n) for c in range(3)]), 0)

    def observed(x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0)
        return x / x.sum(axis=-2, keepdims=True) * population

    mean = monte_carlo_mean(clean, sigma, observed, np.random.default_rng(rng.randint(2**31)), SIR_DRAWS)
    return MultiGenerated(observed(noisy), ("Susceptible", "Infected", "Recovered"), MeanPath(mean))


def weather_sales(n: int, rng: np.random.RandomState, warmup: int = 100) -> MultiGenerated:
    """Temperature (season + trend + noise) drives ice cream and beverage sales, rainfall umbrella sales; every
    step's noise is independent, so the optimum is each channel's mean at that step (exponnorm for rainfall)."""
    time = np.arange(n + warmup)
    season = 15 * np.sin(2 * np.pi * time / 365)
    mean_temperature = 20 + season + 0.001 * time
    temperature = mean_temperature + rng.normal(0, 3, n + warmup)
    rain_shift = -0.05 * season
    rainfall = np.maximum(0, rng.exponential(1, n + warmup) + rain_shift + rng.normal(0, 0.5, n + warmup))
    ice_cream = 100 + 7 * (temperature - 20) + rng.normal(0, 20, n + warmup)
    umbrella = 10 + 30 * rainfall + rng.normal(0, 5, n + warmup)
    beverage = 200 + 3 * (temperature - 20) + 30 * (temperature > 30) + rng.normal(0, 30, n + warmup)
    mean_rain = positive_part_mean(rain_shift)
    mean = np.stack([mean_temperature, mean_rain, 100 + 7 * (mean_temperature - 20), 10 + 30 * mean_rain,
                     200 + 3 * (mean_temperature - 20) + 30 * norm.sf(30, mean_temperature, 3)])
    values = np.stack([temperature, rainfall, ice_cream, umbrella, beverage])
    return MultiGenerated(values[:, warmup:], ("temperature", "rainfall", "ice_cream_sales", "umbrella_sales",
                                               "beverage_sales"), MeanPath(mean[:, warmup:]))


def positive_part_mean(shift: np.ndarray, sigma: float = 0.5, step: float = 2e-3) -> np.ndarray:
    """E[max(0, Exp(1) + shift + N(0, sigma^2))] = integral over y > 0 of P(Exp + N > y - shift), per distinct shift."""
    unique, inverse = np.unique(np.round(shift, 9), return_inverse=True)  # one value per day of the year
    y = np.arange(0, 20, step)[None, :]
    tail = exponnorm.sf(y - unique[:, None], 1 / sigma, scale=sigma)
    return (step * (tail.sum(axis=1) - 0.5 * tail[:, 0]))[inverse].reshape(shift.shape)


def ad_sales(n: int, rng: np.random.RandomState, warmup: int = 50) -> MultiGenerated:
    """Ad spend (monthly cycle + 8 two-week campaigns + noise) acts on sales through a 3-20 day kernel of its
    square root. No optimum: campaigns start at random times, which the forecast would have to weigh."""
    full = n + warmup
    time = np.arange(full)
    campaigns = np.zeros(full)
    for point in rng.choice(np.arange(warmup + 20, full - 50), 8, replace=False):
        campaigns[point:point + 14] += rng.uniform(2000, 5000)
    ad_spend = np.maximum(0, 5000 + 500 * np.sin(2 * np.pi * time / 30) + campaigns + rng.normal(0, 300, full))
    lags = np.arange(21)
    kernel = np.where(lags >= 3, norm.pdf(lags, 10, 4) * 15, 0.0)
    effect = np.convolve(2 * np.sqrt(ad_spend), kernel)[:full]
    sales = np.maximum(0, 20000 + 100 * np.sin(2 * np.pi * time / 7) + effect + rng.normal(0, 2000, full))
    return MultiGenerated(np.stack([ad_spend, sales])[:, warmup:], ("ad_spend", "sales"))


def macro_economy(n: int, rng: np.random.RandomState, warmup: int = 200) -> MultiGenerated:
    """An interest rate that may move every 60 steps; inflation and GDP growth follow its lagged means, unemployment
    GDP's, consumer spending both. No optimum: the rate's level is hidden under noise and its moves are clipped."""
    full = n + warmup
    base, rate = np.zeros(full), 2.0
    for t in range(full):
        if t > 0 and t % 60 == 0:
            rate = max(0.25, min(7, rate + rng.choice([-0.5, -0.25, 0, 0.25, 0.5], p=[0.1, 0.2, 0.4, 0.2, 0.1])))
        base[t] = rate
    interest = base + rng.normal(0, 0.05, full)
    inflation_base = np.array([3.0 if t < 90 else 3.0 - 0.2 * np.mean(interest[t - 90:t - 30]) for t in range(full)])
    inflation = np.maximum(0, inflation_base + 0.8 * rng.normal(0, 0.3, full))
    gdp_base = np.array([2.5 if t < 60 else 2.5 - 0.15 * np.mean(interest[t - 60:t]) for t in range(full)])
    gdp = gdp_base + rng.normal(0, 0.4, full)
    unemployment_base = np.array([5.0 if t < 90 else 5.0 - 0.3 * np.mean(gdp[t - 90:t - 30]) for t in range(full)])
    unemployment = np.maximum(2.0, unemployment_base + rng.normal(0, 0.2, full))
    spending = 100 - 0.3 * inflation - 0.4 * unemployment + rng.normal(0, 3, full)
    return MultiGenerated(np.stack([interest, inflation, gdp, unemployment, spending])[:, warmup:],
                          ("interest_rate", "inflation", "gdp_growth", "unemployment_rate", "consumer_spending"))


def supply_demand_price(n: int, rng: np.random.RandomState, warmup: int = 100) -> MultiGenerated:
    """Supply reacts to the price's 30-step rise, the price to the last demand-supply gap, demand to the price's
    change; random supply and demand shocks; floors on all three. No optimum: shocks and floors."""
    full = n + warmup
    supply, demand, price = np.zeros(full), np.zeros(full), np.zeros(full)
    supply[0], demand[0], price[0] = 100, 100, 80
    supply_shocks, demand_shocks = np.zeros(full), np.zeros(full)
    for point in rng.choice(np.arange(warmup + 50, full - 100), 5, replace=False):
        if rng.random() < 0.6:
            supply_shocks[point:point + 50] += np.linspace(20, 0, 50)
        else:
            supply_shocks[point:point + 30] -= np.linspace(15, 0, 30)
    for point in rng.choice(np.arange(warmup + 50, full - 100), 5, replace=False):
        if rng.random() < 0.7:
            demand_shocks[point:point + 40] += np.linspace(25, 0, 40)
        else:
            demand_shocks[point:point + 25] -= np.linspace(20, 0, 25)
    for t in range(1, full):
        response = 0.0 if t <= 30 else 0.2 * (np.mean(price[t - 30:t]) - price[t - 30])
        supply[t] = max(supply[t - 1] + response + supply_shocks[t] + rng.normal(0, 2), 50)
        price[t] = max(price[t - 1] + 0.1 * (demand[t - 1] - supply[t - 1]) + rng.normal(0, 0.3), 15)
        reaction = -0.3 * (price[t] - price[t - 1]) if t > 1 else 0.0
        demand[t] = max(demand[t - 1] + reaction + demand_shocks[t] + rng.normal(0, 3), 60)
    return MultiGenerated(np.stack([supply, demand, price])[:, warmup:], ("supply", "demand", "price"))


def intervention_effect(n: int, rng: np.random.RandomState) -> MultiGenerated:
    """Four indicators with deterministic responses to an intervention at n/3 and independent noise: the optimum is
    the deterministic part (the floor at 0 of the last indicator is over 8 noise SDs away)."""
    time = np.arange(n)
    since = time - n // 3
    after = since >= 0
    growth = np.where(after, np.where(since <= 180, 15 * (1 - np.exp(-0.015 * since)), 15 * np.exp(-0.005 * (since - 180))), 0)
    employment = np.where(since >= 60, 3 * (1 - np.exp(-0.01 * (since - 60))), 0)
    confidence = np.where(after, 20 * np.exp(-0.02 * since), 0)
    negative = np.where(since >= 30, -25 * (1 - np.exp(-0.008 * (since - 30))), 0)
    mean = np.stack([100 + 0.01 * time + growth, 92 + employment,
                     50 + 5 * np.sin(2 * np.pi * time / 180) + confidence, 80 - 0.005 * time + negative])
    noise = np.stack([rng.normal(0, s, n) for s in (1, 0.5, 2, 3)])
    values = mean + noise
    values[3] = np.maximum(0, values[3])
    return MultiGenerated(values, ("economic_growth", "employment_rate", "market_confidence", "negative_indicator"),
                          MeanPath(mean))


MULTIVARIATE = {
    **{f"Lag{lag}": (lambda lag: lambda n, rng: lagged(n, rng, lag))(lag) for lag in (5, 10, 24, 48)},
    "SinNoiseComposite": sine_noise_composite,
    "Lotka-Volterra": lotka_volterra,
    "SIR-Model": sir,
    "Weather-Sales": weather_sales,
    "Ad-Sales": ad_sales,
    "Macro-Economy": macro_economy,
    "Supply-Demand-Price": supply_demand_price,
    "Intervention-Effect": intervention_effect,
}
