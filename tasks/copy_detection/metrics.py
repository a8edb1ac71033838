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

from harness.contracts.record import MetricValue
from harness.statistics.intervals import BOOTSTRAP_RESAMPLES
from harness.statistics.resampling import unit_counts

NOT_FOUND = 1 << 35
BOOTSTRAP_BLOCK_PAIRS = 4_000_000  # resamples x listed pairs weighed at once (about 32 MB per array)


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
        precision_sum, _, positives = self.weighted_curve(weights, self.order())
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(positives > 0, precision_sum / positives, np.nan)

    def order(self) -> np.ndarray:
        """The global list's order (decreasing score, non-matches first among ties) over the flat [queries x k] pairs."""
        return list_order(self.matches.ravel(), self.scores.ravel())

    def weighted_curve(self, weights: np.ndarray, order: np.ndarray,
                       required: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per resample (weights [resamples, queries]): the sum of the precisions at each listed copy of a matched
        pair, the highest recall at a listed copy whose precision is at least `required` (0 if none), and the weighted
        positives. A query drawn w times is listed w times, its copies side by side: the resample's own sorted list,
        read off the one global order."""
        k = self.scores.shape[1]
        cut = np.asarray(self.max_results(weights.sum(-1)), dtype=float).reshape(-1, 1)
        length = len(order) if not np.isfinite(cut).all() else min(len(order), 2 * int(cut.max()) + k)
        while True:  # a prefix of the global list long enough that every resample's cut falls inside it (exact)
            query = order[:length] // k
            spread = weights[:, query]
            if length == len(order) or (spread.sum(-1) >= cut[:, 0]).all():
                break
            length = min(len(order), 2 * length)
        match = self.matches.ravel()[order[:length]]
        found_before = (np.cumsum(spread * match, -1) - spread * match)[:, match]
        listed_before = (np.cumsum(spread, -1) - spread)[:, match]
        copies = spread[:, match]
        positives = weights @ self.positives
        precision_sum, best_recall = np.zeros(len(weights)), np.zeros(len(weights))
        for copy in range(1, int(weights.max(initial=0)) + 1):  # the copy-th copy of each matched prediction
            listed = (copies >= copy) & (listed_before + copy <= cut)
            precision = (found_before + copy) / (listed_before + copy)
            precision_sum += np.where(listed, precision, 0.0).sum(-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                recall = (found_before + copy) / positives.reshape(-1, 1)
            reached = np.where(listed & (precision >= required), recall, 0.0)
            best_recall = np.maximum(best_recall, reached.max(-1, initial=0.0))
        return precision_sum, best_recall, positives

    def bootstrap(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """μAP and recall at P90 of `BOOTSTRAP_RESAMPLES` resamples of the queries (each with all its predictions),
        for the resamples that hold a positive: each resample's list is read off the one global order by its query
        counts (weighted_curve), in blocks, instead of sorting every resample's list again."""
        n = len(self.scores)
        draws = np.random.default_rng(seed).integers(0, n, (BOOTSTRAP_RESAMPLES, n))
        order = self.order()
        ap, p90 = [], []
        for block in np.array_split(draws, max(1, BOOTSTRAP_RESAMPLES * self.scores.size // BOOTSTRAP_BLOCK_PAIRS)):
            precision_sum, best_recall, positives = self.weighted_curve(unit_counts(block, n).astype(float), order)
            keep = positives > 0
            ap.append(precision_sum[keep] / positives[keep])
            p90.append(best_recall[keep])
        return np.concatenate(ap), np.concatenate(p90)


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
