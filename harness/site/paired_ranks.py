"""Ranks within a board from paired tests on the samples the runs share, Holm-corrected over the board's pairs.

A run's rank is 1 + the number of runs that beat it: their main-metric difference on the same sample ids is
significant at 5% after Holm's step-down correction over every pair of the board, in their favour. A 0/1 metric that
is the mean of its samples is tested with McNemar's exact test on the discordant samples; any other metric with a
Wald test whose standard error is the paired bootstrap's (the same resampled ids, or resampling units, for both runs,
as the records' comparisons draw them). Runs whose samples logs are byte-identical tie exactly and count once, so
copies add no pairs. Runs whose metric cannot be recomputed from their samples, or whose sample ids differ from the
board's most common set, are not ranked, and say why.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from harness.contracts.task import Task
from harness.records.paired import mcnemar_p
from harness.site.board_table import LoadedRecord, current_complete
from harness.site.versus_reference import Comparer
from harness.statistics.intervals import BOOTSTRAP_RESAMPLES
from harness.statistics.resampling import counts_in_blocks

RANK_ALPHA = 0.05  # family-wise error over one board's pairs
MOST_DISTINCT = 300  # distinct samples logs one board ranks: its pairs grow with their square
RANK_RULE = ("Rank = 1 + the number of runs that beat this one in a paired test on the samples both ran (McNemar's "
             "exact test for 0/1 metrics, else a Wald test with the paired bootstrap's standard error), significant at "
             "5% after Holm's correction over every pair of runs on the board; runs that share a rank are marked tied.")


@dataclass
class Resampled:
    """One run's main metric recomputed from its samples for paired tests: the ids (or units) it is resampled over, its
    value there, the value under BOOTSTRAP_RESAMPLES resamples (draws that depend only on the universe and the seed,
    so two runs over the same universe are paired), and its 0/1 outcomes where the metric is their mean; or why not."""

    universe: str = ""  # sha256 of the sorted ids or units
    value: float = math.nan
    draws: np.ndarray | None = None
    outcomes: np.ndarray | None = None
    problem: str = ""


def universe_key(kind: str, names: Iterable[str]) -> str:
    return hashlib.sha256(("\n".join([kind, *names])).encode()).hexdigest()


def resample_run(item: LoadedRecord, seed: int = 0) -> Resampled:
    """The run's main metric over its samples log (Comparer's statistics, checked against the record's value)."""
    record, comparer = item.record, Comparer({item.record.run_id: item}, seed)
    run_id, metric = record.run_id, record.main_metric
    value = record.metrics[metric].value if metric in record.metrics else None
    task: Task | None = comparer.task(run_id)
    rows = comparer.rows(run_id)
    if task is None or value is None or not rows:
        return Resampled(problem="not ranked: its task is not installed here, or it has no samples to pair")
    rng = np.random.default_rng(seed)
    if comparer.faithful(task, metric, run_id, float(value)):
        column, statistic = task.pair_statistic(metric)
        ordered = sorted(rows, key=lambda r: r["id"])
        values = np.array([r["scores"][column] for r in ordered], dtype=float)
        indices = rng.integers(0, len(values), size=(BOOTSTRAP_RESAMPLES, len(values)))
        binary = next((m.binary for m in task.spec.metrics if m.name == metric), False)
        outcomes = (values.astype(bool) if binary and np.isin(values, (0.0, 1.0)).all()
                    and math.isclose(values.mean(), float(value), rel_tol=1e-9, abs_tol=1e-12) else None)
        return Resampled(universe_key("ids", (str(r["id"]) for r in ordered)), float(value), statistic(values[indices]),
                         outcomes)
    unit = comparer.unit_statistic(task, metric, run_id, float(value))
    if unit is None:
        return Resampled(problem="not ranked: its metric is not a statistic of its samples, so it cannot be paired")
    names = sorted(set(map(str, unit.units)))
    position = {name: i for i, name in enumerate(names)}
    columns = [position[str(u)] for u in unit.units]
    blocks = [unit.statistic(counts[:, columns]) for counts in counts_in_blocks(len(names), rng)]
    return Resampled(universe_key("units", names), float(value), np.concatenate(blocks))


def pair_p(a: Resampled, b: Resampled) -> float:
    """Two-sided p-value of a's difference with b (same universe): McNemar's exact test where both have 0/1 outcomes,
    else a Wald test with the standard deviation of the paired resampled differences (undefined resamples dropped)."""
    if a.outcomes is not None and b.outcomes is not None:
        return mcnemar_p(int((a.outcomes & ~b.outcomes).sum()), int((~a.outcomes & b.outcomes).sum()))
    difference = a.value - b.value
    resampled = a.draws - b.draws
    resampled = resampled[np.isfinite(resampled)]
    spread = float(resampled.std(ddof=1)) if len(resampled) > 1 else math.nan
    if difference == 0 or math.isnan(spread):
        return 1.0
    return 0.0 if spread == 0 else float(2 * norm.sf(abs(difference) / spread))


def holm_rejected(p_values: list[float], alpha: float = RANK_ALPHA) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise error `alpha`."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    for step, i in enumerate(order):
        if p_values[i] > alpha / (len(p_values) - step):
            break
        rejected[i] = True
    return rejected


@dataclass
class Standing:
    """A run's rank on its board, or why it has none."""

    rank: int | None
    note: str = ""


def board_ranks(runs: dict[Any, tuple[str, Resampled]], higher_is_better: bool) -> dict[Any, Standing]:
    """Ranks for one board's runs (key -> (samples sha256, Resampled)); runs with identical logs count once."""
    out = {key: Standing(None, found.problem) for key, (_, found) in runs.items() if found.problem}
    pairable = {key: item for key, item in runs.items() if not item[1].problem}
    if not pairable:
        return out
    usual, _ = Counter(found.universe for _, found in pairable.values()).most_common(1)[0]
    for key, (_, found) in pairable.items():
        if found.universe != usual:
            out[key] = Standing(None, "not ranked: its sample ids differ from those of the board's other runs")
    logs: dict[str, Resampled] = {}
    for sha, found in (item for item in pairable.values() if item[1].universe == usual):
        logs.setdefault(sha, found)
    if len(logs) > MOST_DISTINCT:
        note = f"not ranked: the board holds {len(logs)} distinct runs, more than the {MOST_DISTINCT} it pairs"
        return out | {key: Standing(None, note) for key, (_, found) in pairable.items() if found.universe == usual}
    shas = sorted(logs)
    pairs = [(a, b) for i, a in enumerate(shas) for b in shas[i + 1:]]
    rejected = holm_rejected([pair_p(logs[a], logs[b]) for a, b in pairs])
    beaten = Counter()
    sign = 1.0 if higher_is_better else -1.0
    for (a, b), significant in zip(pairs, rejected):
        if significant:
            beaten[b if sign * (logs[a].value - logs[b].value) > 0 else a] += 1
    for key, (sha, found) in pairable.items():
        if found.universe == usual:
            out[key] = Standing(1 + beaten[sha])
    return out


def rankable(frame: pd.DataFrame) -> pd.Series:
    """Rows that take part in ranking: current, complete, not stale, with a value."""
    return current_complete(frame) & frame["value"].notna()


def rank_frame(frame: pd.DataFrame, by_run: dict[str, LoadedRecord], resampled: dict[str, Resampled]) -> pd.DataFrame:
    """The frame with `rank`, `tied` and `rank_note` per board from the runs' Resampled (by run id), sorted by board
    and rank."""
    out = frame.copy()
    out["rank"], out["tied"], out["rank_note"] = pd.NA, False, ""
    for _, board in out[rankable(out)].groupby("board"):
        runs = {index: (by_run[run_id].record.artifacts.sha256 if by_run[run_id].record.artifacts else run_id,
                        resampled.get(run_id) or Resampled(problem="not ranked: it has no samples to pair"))
                for index, run_id in board["run_id"].items()}
        standings = board_ranks(runs, bool(board["higher_is_better"].iloc[0]))
        for index, standing in standings.items():
            out.at[index, "rank"] = standing.rank if standing.rank is not None else pd.NA
            out.at[index, "rank_note"] = standing.note
        ranks = out.loc[board.index, "rank"]
        out.loc[board.index, "tied"] = ranks.notna() & ranks.duplicated(keep=False)
    value = pd.to_numeric(out["value"], errors="coerce")
    out["order"] = value.where(out["higher_is_better"].astype(bool), -value)
    return (out.sort_values(["task", "board", "rank", "order", "method"], ascending=[True, True, True, False, True],
                            na_position="last").drop(columns="order").reset_index(drop=True))


def with_ranks(frame: pd.DataFrame, by_run: dict[str, LoadedRecord],
               resample: Callable[[LoadedRecord], Resampled] = resample_run) -> pd.DataFrame:
    """The frame ranked here, every rankable run's samples read in this process (the site reads them in its workers)."""
    return rank_frame(frame, by_run, {run_id: resample(by_run[run_id]) for run_id in frame.loc[rankable(frame), "run_id"]})
