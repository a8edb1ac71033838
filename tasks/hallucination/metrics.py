"""Detection metrics: AUROC (scikit-learn) and the within-pair win rate, with intervals that resample problems.

A problem's sound trace and its corrupted twin are not independent draws, so every interval resamples groups
(problems: both twins together), never single traces. A trace without a group is its own group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from harness.contracts.record import MetricValue
from harness.statistics.intervals import BOOTSTRAP_RESAMPLES
from harness.statistics.resampling import UnitStatistic


def rank_auroc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """AUROC of each row (Mann-Whitney U with mid-ranks for ties), for [resamples, n] arrays; NaN without both classes.

    `weights` (same shape, non-negative integers) repeats each entry that many times, which is how a group
    bootstrap draws whole groups: every trace of a drawn group enters with the group's multiplicity.
    """
    if weights is None:
        weights = np.ones_like(scores)
    order = np.argsort(scores, axis=-1, kind="stable")
    s = np.take_along_axis(scores, order, -1)
    w = np.take_along_axis(weights, order, -1)
    y = np.take_along_axis(labels, order, -1)
    # mid-ranks with multiplicities: entries with equal scores share the mean of the ranks they occupy
    cum = np.cumsum(w, -1)
    start = cum - w
    ranks = np.empty_like(s, dtype=float)
    for row in range(s.shape[0]):
        _, first, inverse = np.unique(s[row], return_index=True, return_inverse=True)
        lo = np.minimum.reduceat(start[row], first) if len(first) else first
        hi = np.maximum.reduceat(cum[row], first) if len(first) else first
        ranks[row] = ((lo + 1 + hi) / 2)[inverse]
    positives = (w * y).sum(-1)
    negatives = w.sum(-1) - positives
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((ranks * w * y).sum(-1) - positives * (positives + 1) / 2) / (positives * negatives)


def weighted_auroc(labels: Sequence[float], scores: Sequence[float]) -> Callable[[np.ndarray], np.ndarray]:
    """AUROC of fixed traces as a function of their weights [resamples, traces] (rank_auroc with multiplicities)."""
    y, s = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    return lambda weights: rank_auroc(np.broadcast_to(y, weights.shape), np.broadcast_to(s, weights.shape), weights)


def _group_index(groups: Sequence[str] | None, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.arange(n), n
    _, index = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    return index, int(index.max()) + 1 if n else 0


def bootstrap_weights(n: int, seed: int = 0, groups: Sequence[str] | None = None) -> np.ndarray:
    """[resamples, n] multiplicities of a group bootstrap: each resample draws groups with replacement and every
    trace of a drawn group enters once per draw (no groups: each trace is its own group)."""
    index, count = _group_index(groups, n)
    draws_of_groups = np.random.default_rng(seed).integers(0, count, (BOOTSTRAP_RESAMPLES, count))
    return np.stack([np.bincount(d, minlength=count)[index] for d in draws_of_groups]).astype(float)


def auroc(labels: Sequence[float], scores: Sequence[float], seed: int = 0,
          groups: Sequence[str] | None = None) -> MetricValue | None:
    """AUROC of `scores` for `labels` (1 = hallucinated) with a 95% bootstrap interval over groups (problems);
    None without both classes. `n` is the number of traces."""
    y, s = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if len(set(y.tolist())) < 2:
        return None
    value = float(roc_auc_score(y, s))
    weights = bootstrap_weights(len(y), seed, groups)
    draws = rank_auroc(np.broadcast_to(y, weights.shape), np.broadcast_to(s, weights.shape), weights)
    draws = draws[np.isfinite(draws)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return MetricValue(value=value, stderr=float(np.std(draws, ddof=1)), ci95=(float(low), float(high)), n=len(y),
                       higher_is_better=True)


def pair_outcomes(labels: Sequence[float], scores: Sequence[float], groups: Sequence[str]) -> np.ndarray:
    """Per problem with exactly one sound and one hallucinated trace: 1 if the hallucinated one scores higher,
    0.5 on a tie, 0 otherwise (problems without such a pair are left out)."""
    by_group: dict[str, dict[int, list[float]]] = {}
    for label, score, group in zip(labels, scores, groups):
        by_group.setdefault(str(group), {}).setdefault(int(label), []).append(float(score))
    outcomes = []
    for members in by_group.values():
        if len(members.get(0, [])) == 1 and len(members.get(1, [])) == 1:
            sound, bad = members[0][0], members[1][0]
            outcomes.append(1.0 if bad > sound else 0.5 if bad == sound else 0.0)
    return np.asarray(outcomes)


def pair_win_rate(labels: Sequence[float], scores: Sequence[float], groups: Sequence[str],
                  seed: int = 0) -> MetricValue | None:
    """Share of problems whose hallucinated twin scores above its sound twin (ties count half), with a 95%
    bootstrap interval over pairs; None without pairs."""
    outcomes = pair_outcomes(labels, scores, groups)
    if len(outcomes) == 0:
        return None
    draws = outcomes[np.random.default_rng(seed).integers(0, len(outcomes), (BOOTSTRAP_RESAMPLES, len(outcomes)))].mean(1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return MetricValue(value=float(outcomes.mean()), stderr=float(np.std(draws, ddof=1)) if len(outcomes) > 1 else None,
                       ci95=(float(low), float(high)), n=len(outcomes), higher_is_better=True)


def auroc_unit_statistic(metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
    """AUROC (overall or auroc_<domain>) of samples-log rows as a function of unit weights; the unit is the row's
    group (a problem: twins are drawn together), or the row itself when it has none."""
    if metric != "auroc" and not metric.startswith("auroc_"):
        return None
    domain = metric.removeprefix("auroc").removeprefix("_")
    rows = [r for r in log_rows if not domain or str(r.get("meta", {}).get("domain")) == domain]
    labels = [r["scores"]["label"] for r in rows]
    if len(set(labels)) < 2:
        return None
    return UnitStatistic(units=[str(r.get("meta", {}).get("group", r["id"])) for r in rows],
                         statistic=weighted_auroc(labels, [r["scores"]["score"] for r in rows]))
