"""Which recorded samples `harness verify` re-runs: a few, spread over distinct outcomes, so that the check can fail.

Rows are grouped by outcome (their discrete scores: hits, ranks, labels) and, within an outcome, by their
categorical meta; one representative of each group is a candidate. Samples are added greedily, each time the
candidate that lets the task's own aggregation report the main metric, then the most metrics, then the most
distinct outcomes. The choice is informative when the main metric on it depends on what each chosen sample
scored (dropping any one of them changes it); otherwise verify says so.
"""

from __future__ import annotations

from itertools import chain, zip_longest
from typing import Any

from harness.contracts.task import Task

MAX_CANDIDATES = 48


def outcome(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, v) for k, v in row["scores"].items() if isinstance(v, (int, float)) and float(v).is_integer()))


def kind(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, v) for k, v in row.get("meta", {}).items() if isinstance(v, (str, bool))))


def candidates(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (outcome, meta kind), interleaved across outcomes so that every outcome is among the first."""
    groups: dict[tuple[Any, ...], dict[tuple[Any, ...], dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(outcome(row), {}).setdefault(kind(row), row)
    interleaved = chain.from_iterable(zip_longest(*(list(g.values()) for g in groups.values())))
    return [row for row in interleaved if row is not None][:MAX_CANDIDATES]


def main_value(task: Task, rows: list[dict[str, Any]], seed: int) -> float | None:
    metric = task.metrics_of(rows, seed).get(task.spec.main_metric)
    return None if metric is None else metric.value


def choose(task: Task, rows: list[dict[str, Any]], n: int, seed: int) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `n` of the recorded rows (in file order) and, when they cannot make the check informative, why."""
    chosen = list(rows) if len(rows) <= n else []
    pool = candidates(rows)
    while len(chosen) < n and pool:
        def value(row: dict[str, Any]) -> tuple[int, int, int]:
            subset = chosen + [row]
            metrics = task.metrics_of(subset, seed)
            return int(task.spec.main_metric in metrics), len(metrics), len({outcome(r) for r in subset})
        best = max(pool, key=value)  # the first of equals: file order
        chosen.append(best)
        pool.remove(best)
    if len(chosen) < n:  # every distinct kind is in: fill up in file order
        taken = {id(r) for r in chosen}
        chosen += [r for r in rows if id(r) not in taken][:n - len(chosen)]
    order = {id(r): i for i, r in enumerate(rows)}
    chosen.sort(key=lambda r: order[id(r)])
    return chosen, why_uninformative(task, chosen, seed)


def why_uninformative(task: Task, chosen: list[dict[str, Any]], seed: int) -> str | None:
    main = task.spec.main_metric
    value = main_value(task, chosen, seed)
    if value is None:
        return f"no choice of {len(chosen)} recorded sample(s) gives {main}: raise --limit"
    if len(chosen) > 1 and all(main_value(task, chosen[:i] + chosen[i + 1:], seed) == value for i in range(len(chosen))):
        return (f"{main} is {value:.6g} on every part of the {len(chosen)} chosen sample(s) (the record's samples score "
                f"alike on it): this check can only confirm that; raise --limit for a stronger one")
    return None
