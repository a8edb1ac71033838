"""A metric recomputed from a samples log's rows under resampling, and the paired bootstrap of two runs' difference.

For metrics that are not the mean of one per-sample column (AUROC, μAP, a mean over a subset of the rows), a task
gives a UnitStatistic: each row's resampling unit (rows of one unit are drawn together) and the metric as a
function of row multiplicities (weights [resamples, rows] -> values [resamples]; a row drawn twice weighs 2), over
the rows the metric uses. The point value is the statistic at weight 1 everywhere. Drawing the same units for both
runs pairs the bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from harness.statistics.intervals import BOOTSTRAP_RESAMPLES

BLOCK = 200  # resamples evaluated at once
Weighted = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class UnitStatistic:
    """A metric over a list of samples-log rows: each row's resampling unit and the metric under row weights."""

    units: Sequence[str]
    statistic: Weighted

    def value(self) -> float:
        """The metric on the rows as they are (every weight 1)."""
        return float(self.statistic(np.ones((1, len(self.units))))[0])


def weighted_mean(values: Sequence[float]) -> Weighted:
    """The mean of fixed values as a function of their weights [resamples, values]."""
    arr = np.asarray(values, dtype=float)

    def statistic(weights: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (weights @ arr) / weights.sum(-1)
    return statistic


def unit_counts(draws: np.ndarray, count: int) -> np.ndarray:
    """How often each of `count` units is drawn in each resample (draws [resamples, draws] -> [resamples, count])."""
    offsets = draws + count * np.arange(len(draws))[:, None]
    return np.bincount(offsets.ravel(), minlength=len(draws) * count).reshape(len(draws), count)


def counts_in_blocks(units: int, rng: np.random.Generator, resamples: int = BOOTSTRAP_RESAMPLES) -> Iterator[np.ndarray]:
    """Bootstrap resamples of `units` units as how often each is drawn (float [block, units]), in blocks of BLOCK: the
    same draws as all at once, while statistics that widen the weights (one per prediction) stay small in memory and
    no block is large enough to be mapped afresh from the system each time."""
    for start in range(0, resamples, BLOCK):
        yield unit_counts(rng.integers(0, units, (min(BLOCK, resamples - start), units)), units).astype(float)


def paired_difference(mine: UnitStatistic, reference: UnitStatistic, seed: int = 0,
                      resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, tuple[float, float] | None]:
    """Mine minus the reference's metric, with a 95% percentile interval from a bootstrap that draws the same units
    for both runs (the union of their units; a resample where either metric is undefined is dropped)."""
    difference = mine.value() - reference.value()
    units = sorted(set(mine.units) | set(reference.units))
    if len(units) < 2:
        return difference, None
    position = {unit: i for i, unit in enumerate(units)}
    mine_columns = [position[u] for u in mine.units]
    reference_columns = [position[u] for u in reference.units]
    blocks = [mine.statistic(counts[:, mine_columns]) - reference.statistic(counts[:, reference_columns])
              for counts in counts_in_blocks(len(units), np.random.default_rng(seed), resamples)]
    draws = np.concatenate(blocks)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return difference, None
    low, high = np.percentile(draws, [2.5, 97.5])
    return difference, (float(low), float(high))
