"""Interval estimates for per-sample metric values and summary statistics for raw timings."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 1000


def mean_stderr(values: Sequence[float]) -> tuple[float, float | None]:
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if len(arr) < 2:
        return mean, None
    return mean, float(arr.std(ddof=1) / math.sqrt(len(arr)))


def bootstrap_statistics(values: Sequence[float], seed: int = 0, statistic=np.mean) -> np.ndarray | None:
    """`statistic` (taking `axis=1`) of each of BOOTSTRAP_RESAMPLES resamples of the samples (None for fewer than 2)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) < 2:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(BOOTSTRAP_RESAMPLES, len(arr)))
    return statistic(arr[idx], axis=1)


def bootstrap_ci95(values: Sequence[float], seed: int = 0, statistic=np.mean) -> tuple[float, float] | None:
    """Percentile bootstrap 95% interval of `statistic` over the samples (None for fewer than 2)."""
    stats = bootstrap_statistics(values, seed, statistic)
    if stats is None:
        return None
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def summarize(raw: Sequence[float]) -> dict[str, float]:
    """pyperf-style summary of raw timings: percentiles, mean/std, median/MAD."""
    arr = np.asarray(raw, dtype=float)
    median = float(np.median(arr))
    return {
        "p50": median,
        "p90": float(np.percentile(arr, 90)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
        "median": median,
        "mad": float(np.median(np.abs(arr - median))),
        "min": float(arr.min()),
        "max": float(arr.max()),
    }
