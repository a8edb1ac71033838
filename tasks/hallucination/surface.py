"""Surface cues of a model's own trace, and their AUROC: the floor a detector has to beat.

A model's wrong answers may simply be longer, truncated or missing, which a detector could pick up without
reading any internals. Each cue is taken in its a-priori direction (more tokens, more steps, truncated,
unparsable = hallucinated); `floor_best` is the best of them on the same traces and `margin` the detector's AUROC
minus it, both with intervals from the same bootstrap resamples of the traces (one trace per problem).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.contracts.record import MetricValue
from tasks.hallucination.metrics import auroc, bootstrap_weights, rank_auroc

CUES = ("tokens", "steps", "truncated", "unparsable")


def cue_scores(new_tokens: int, steps: int, hit_max: bool, parsed: str | None) -> dict[str, float]:
    """A trace's surface cues as per-sample scores (`cue_<name>`)."""
    return {"cue_tokens": float(new_tokens), "cue_steps": float(steps), "cue_truncated": float(hit_max),
            "cue_unparsable": float(parsed is None)}


def _value(draws: np.ndarray, value: float, n: int) -> MetricValue:
    draws = draws[np.isfinite(draws)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return MetricValue(value=value, stderr=float(np.std(draws, ddof=1)), ci95=(float(low), float(high)), n=n,
                       higher_is_better=True)


def floor_metrics(labels: Sequence[float], scores: Sequence[float], cues: dict[str, Sequence[float]],
                  seed: int = 0) -> dict[str, MetricValue]:
    """`floor_<cue>` (each cue's AUROC), `floor_best` (the best cue) and `margin` (detector AUROC minus floor_best);
    empty without both labels."""
    y, s = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if len(set(y.tolist())) < 2:
        return {}
    weights = bootstrap_weights(len(y), seed)
    grid = lambda values: np.broadcast_to(np.asarray(values, dtype=float), weights.shape)
    result: dict[str, MetricValue] = {}
    cue_draws = []
    for name, values in cues.items():
        found = auroc(y, values, seed)
        result[f"floor_{name}"] = found
        cue_draws.append(rank_auroc(grid(y), grid(values), weights))
    best_draws = np.max(np.stack(cue_draws), axis=0)
    best = max(result[f"floor_{name}"].value for name in cues)
    detector_draws = rank_auroc(grid(y), grid(s), weights)
    result["floor_best"] = _value(best_draws, best, len(y))
    result["margin"] = _value(detector_draws - best_draws, float(auroc(y, s, seed).value) - best, len(y))
    return result
