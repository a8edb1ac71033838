"""Detection metrics: AUROC (scikit-learn) with a paired bootstrap interval over traces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from harness.record import MetricValue
from harness.stats import BOOTSTRAP_RESAMPLES


def auroc(labels: Sequence[float], scores: Sequence[float], seed: int = 0) -> MetricValue | None:
    """AUROC of `scores` for `labels` (1 = hallucinated), with a 95% bootstrap interval; None without both classes."""
    y, s = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if len(set(y.tolist())) < 2:
        return None
    value = float(roc_auc_score(y, s))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            draws.append(roc_auc_score(y[idx], s[idx]))
    low, high = np.percentile(draws, [2.5, 97.5])
    return MetricValue(value=value, stderr=float(np.std(draws, ddof=1)), ci95=(float(low), float(high)), n=len(y),
                       higher_is_better=True)
