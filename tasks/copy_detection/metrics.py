"""The Image Similarity Challenge (DISC21) metrics, as its reference code computes them.

Micro average precision over the global list of (query, reference, score) predictions, with tied scores ranked
non-matches first (the worst case, so constant scores gain nothing). ISC's rule (and AnyPattern's) keeps the best
`max_results` pairs of the whole list, a varying number per query (`Predictions.per_query` sets max_results to that
many times the queries: ISC's 500,000 for 50,000 queries is 10); without it every listed pair counts (per-query kNN); recall at precision 0.9 (the highest recall of
any cut with precision >= 0.9); recall at rank 1 and 10 (a match counts at rank r when r + 1 predictions of its query
score at least as high). The number of positives is the number of ground-truth pairs, found or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.record import MetricValue
from harness.stats import BOOTSTRAP_RESAMPLES

NOT_FOUND = 1 << 35


def list_order(matches: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Indices of the flat predictions by decreasing score, non-matches first among ties."""
    return np.lexsort((~matches, scores))[::-1]


def precision_recall(matches: np.ndarray, scores: np.ndarray, num_positives: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precisions, recalls and thresholds along the list sorted by decreasing score, non-matches first among ties."""
    matches, scores = np.asarray(matches, dtype=bool).ravel(), np.asarray(scores, dtype=float).ravel()
    order = list_order(matches, scores)
    hits = np.cumsum(matches[order])
    return hits / np.arange(1, len(order) + 1), hits / num_positives, scores[order]


def average_precision(recalls: np.ndarray, precisions: np.ndarray) -> float:
    """Sum of precision times the recall step, over the list in order of increasing recall."""
    return float(((recalls - np.concatenate([[0.0], recalls[:-1]])) * precisions).sum())


def recall_at_precision(precisions: np.ndarray, recalls: np.ndarray, required: float = 0.9) -> float | None:
    """The highest recall among cuts whose precision is at least `required`; None when no cut reaches it."""
    valid = precisions >= required
    return float(recalls[valid].max()) if valid.any() else None


def rank_of_match(scores: list[float], matches: list[bool]) -> int:
    """ISC rank of a query's true match among its own predictions (ties count against it); NOT_FOUND when absent."""
    hit = [i for i, m in enumerate(matches) if m]
    if not hit:
        return NOT_FOUND
    return int((np.asarray(scores) >= scores[hit[0]]).sum()) - 1


@dataclass
class Predictions:
    """A group of queries' listed predictions as arrays: scores and matches [queries, k], positives [queries]; with
    `per_query` set, only the best per_query x queries pairs of the global list count (ISC's max_results)."""

    scores: np.ndarray
    matches: np.ndarray
    positives: np.ndarray
    ranks: np.ndarray
    per_query: float | None = None

    @classmethod
    def from_rows(cls, rows: list[dict[str, float]], k: int, per_query: float | None = None) -> "Predictions":
        """From score rows: `score_1`..`score_k` (the listed scores, best first) and `match`, the 1-based position of
        the query's true reference among them (0: not listed)."""
        scores = np.array([[r.get(f"score_{i}", -np.inf) for i in range(1, k + 1)] for r in rows], dtype=float).reshape(len(rows), k)
        matches = np.arange(1, k + 1) == np.array([r["match"] for r in rows], dtype=float).reshape(-1, 1)
        matches &= np.isfinite(scores)
        return cls(scores, matches, np.array([r["positive"] for r in rows], dtype=float),
                   np.array([r["rank"] if r["rank"] >= 0 else NOT_FOUND for r in rows], dtype=float), per_query)

    def max_results(self, queries: float | np.ndarray) -> float | np.ndarray:
        """How many pairs of the global list count for this many queries (all of them without `per_query`)."""
        return np.inf if self.per_query is None else np.floor(self.per_query * np.asarray(queries) + 1e-9)

    def kept(self) -> int:
        """Pairs of the global list that count: finite scores, at most max_results."""
        return int(min(np.isfinite(self.scores).sum(), self.max_results(len(self.scores))))

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Precisions and recalls along the group's global prediction list (cut at max_results)."""
        p, r, _ = precision_recall(self.matches, self.scores, int(self.positives.sum()))
        return p[:self.kept()], r[:self.kept()]

    def micro_ap(self) -> float:
        p, r = self.curve()
        return average_precision(r, p)

    def hits_at(self, rank: int) -> np.ndarray:
        """1.0 for each true pair found within the top `rank`, else 0.0."""
        return (self.ranks[self.positives > 0] < rank).astype(float)

    def weighted_micro_ap(self, weights: np.ndarray) -> np.ndarray:
        """μAP under integer query weights [resamples, queries], as if each query were listed `weight` times (its
        copies side by side in the global list, as the bootstrap's ties put them); weight 1 everywhere gives
        micro_ap. A resample keeps the best max_results(its queries) pairs, as its own submission would. NaN where
        the weighted positives are zero."""
        n, k = self.scores.shape
        order = list_order(self.matches.ravel(), self.scores.ravel())
        query, match = order // k, self.matches.ravel()[order]
        spread = weights[:, query]
        found_before = (np.cumsum(spread * match, -1) - spread * match)[:, match]
        listed_before = (np.cumsum(spread, -1) - spread)[:, match]
        copies = spread[:, match]
        cut = np.asarray(self.max_results(weights.sum(-1)), dtype=float).reshape(-1, 1)
        precision_sum = np.zeros(len(weights))
        for copy in range(1, int(weights.max(initial=0)) + 1):  # the copy-th copy of each matched prediction
            listed = (copies >= copy) & (listed_before + copy <= cut)
            precision_sum += np.where(listed, (found_before + copy) / (listed_before + copy), 0.0).sum(-1)
        positives = weights @ self.positives
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(positives > 0, precision_sum / positives, np.nan)

    def bootstrap(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """μAP and recall at P90 of `BOOTSTRAP_RESAMPLES` resamples of the queries (each with all its predictions)."""
        n, k = self.scores.shape
        idx = np.random.default_rng(seed).integers(0, n, (BOOTSTRAP_RESAMPLES, n))
        scores, matches = self.scores[idx].reshape(len(idx), n * k), self.matches[idx].reshape(len(idx), n * k)
        positives = self.positives[idx].sum(1, keepdims=True)
        order = np.lexsort((~matches, scores), axis=-1)[:, ::-1]
        kept = int(min(n * k, self.max_results(n)))
        hits = np.take_along_axis(matches, order, -1)[:, :kept]
        cumulative = np.cumsum(hits, -1)
        precision = cumulative / np.arange(1, kept + 1)
        keep = positives[:, 0] > 0
        recall = cumulative[keep] / positives[keep]
        ap = (hits[keep] * precision[keep]).sum(-1) / positives[keep, 0]
        p90 = np.where(precision[keep] >= 0.9, recall, 0.0).max(-1)
        return ap, p90


def _interval(value: float, draws: np.ndarray, n: int) -> MetricValue:
    low, high = np.percentile(draws, [2.5, 97.5])
    return MetricValue(value=value, stderr=float(np.std(draws, ddof=1)), ci95=(float(low), float(high)), n=n, higher_is_better=True)


def global_metrics(group: Predictions, seed: int) -> dict[str, MetricValue]:
    """μAP and recall at P90 with bootstrap intervals over queries; empty without positives."""
    if group.positives.sum() == 0:
        return {}
    ap, p90 = group.bootstrap(seed)
    n = len(group.positives)
    p, r = group.curve()
    return {"uap": _interval(average_precision(r, p), ap, n),
            "recall_p90": _interval(recall_at_precision(p, r, 0.9) or 0.0, p90, n)}
