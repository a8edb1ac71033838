"""Detection metrics: AUROC (scikit-learn) with a bootstrap interval over traces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from harness.record import MetricValue
from harness.stats import BOOTSTRAP_RESAMPLES


def rank_auroc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of each row (Mann-Whitney U with mid-ranks for ties), for [resamples, n] arrays; NaN without both classes."""
    ranks = rankdata(scores, axis=-1)
    positives = labels.sum(-1)
    negatives = labels.shape[-1] - positives
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((ranks * labels).sum(-1) - positives * (positives + 1) / 2) / (positives * negatives)


def auroc(labels: Sequence[float], scores: Sequence[float], seed: int = 0) -> MetricValue | None:
    """AUROC of `scores` for `labels` (1 = hallucinated), with a 95% bootstrap interval; None without both classes."""
    y, s = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if len(set(y.tolist())) < 2:
        return None
    value = float(roc_auc_score(y, s))
    idx = np.random.default_rng(seed).integers(0, len(y), (BOOTSTRAP_RESAMPLES, len(y)))
    draws = rank_auroc(y[idx], s[idx])
    draws = draws[np.isfinite(draws)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return MetricValue(value=value, stderr=float(np.std(draws, ddof=1)), ci95=(float(low), float(high)), n=len(y),
                       higher_is_better=True)
