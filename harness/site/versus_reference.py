"""Every run of a board against the task's reference run (the reference of its DisplaySpec): the main metric's difference with a
paired bootstrap interval on the shared sample ids, and memory and latency as ratios to the reference's.

Boards hold one hardware key, so the ratios never mix machines. The difference is paired when the task's
`pair_statistic` recomputes the main metric from the per-sample scores, or else when its `unit_statistic` does
(AUROC, μAP, means over a subset of the rows: a bootstrap drawing the same resampling units for both runs), each
checked against the record's own value; otherwise it is the plain difference of the two records' values, shown
without an interval and marked `unpaired`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.contracts.display import ReferenceSpec
from harness.contracts.record import ResultRecord
from harness.contracts.registry import TASKS
from harness.contracts.task import Task
from harness.errors import HarnessError
from harness.records.paired import paired_metrics
from harness.records.store import SampleLog, samples_path
from harness.site.board_table import LoadedRecord, current_complete
from harness.statistics.resampling import UnitStatistic, paired_difference

MEMORY_KEYS = (("kv_answering_bytes", "KV cache while answering"), ("peak_memory_bytes", "peak memory"))
LOGS_KEPT = 4  # samples logs a process keeps read (a board's reference and the runs in hand)
VERSUS_COLUMNS = ["reference", "reference_kind", "delta", "delta_low", "delta_high", "delta_how", "delta_n",
                  "memory_ratio", "memory_what", "latency_ratio", "latency_what", "latency_unstable"]


def reference_of(task: str) -> ReferenceSpec | None:
    """The reference the installed task declares (None when the task is not installed or declares none)."""
    return TASKS.get(task).display.reference if task in TASKS.names() else None


def chance_of(task: str, metric: str) -> float | None:
    """The main metric's chance value, where the installed task declares one."""
    if task not in TASKS.names():
        return None
    return TASKS.get(task).display.chance.get(metric)


@dataclass
class Versus:
    """One run's columns against its board's reference run."""

    reference: str
    reference_kind: str
    delta: float | None = None
    delta_low: float | None = None
    delta_high: float | None = None
    delta_how: str = ""  # paired | unpaired | reference | "" (no value)
    delta_n: int | None = None
    memory_ratio: float | None = None
    memory_what: str = ""
    latency_ratio: float | None = None
    latency_what: str = ""
    latency_unstable: bool = False  # either run's timings of that scope failed pyperf's stability checks


def present(value: Any) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def ratio(row: pd.Series, ref: pd.Series, keys: list[tuple[str, str]]) -> tuple[float | None, str, str]:
    """The first cost both runs have (the reference's above zero), as this run's over the reference's, with its label
    and column."""
    for key, what in keys:
        if key in row and present(row[key]) and present(ref[key]) and float(ref[key]) > 0:
            return float(row[key]) / float(ref[key]), what, key
    return None, "", ""


def unstable(row: pd.Series, key: str) -> bool:
    """Whether the run's latency column `key` (latency:SCOPE) comes from timings pyperf's checks flag unstable."""
    flag = row.get(key.replace("latency:", "unstable:", 1)) if key else None
    return bool(flag) if present(flag) else False


def latency_keys(board: pd.DataFrame, latency: str | None) -> list[tuple[str, str]]:
    """The board's latency columns with a value, the named scope first (the reference's), each with its label."""
    scopes = [c for c in board.columns if c.startswith("latency:") and board[c].notna().any()]
    preferred = f"latency:{latency}" if latency else None
    ordered = ([preferred] if preferred in scopes else []) + [s for s in scopes if s != preferred]
    return [(s, s.removeprefix("latency:").replace("_", " ") + " p50") for s in ordered]


@functools.lru_cache(maxsize=LOGS_KEPT)
def read_log(path: Path, sha256: str) -> tuple[list[dict[str, Any]], list[str]]:
    """A samples log's rows and their lines of text, the last few read kept in this process (keyed by the content
    sha256 its record pins, which validation checked: a board's reference is read once, and a run's own log once for
    its pages and its pairing). Callers must not change them."""
    return SampleLog(path).read_with_text() if path.exists() else ([], [])


def record_log(record: ResultRecord, path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows and lines of the samples log a record names (read_log: the last few kept); empty when it names none."""
    log = samples_path(record, path)
    return read_log(log, record.artifacts.sha256) if log is not None and record.artifacts else ([], [])


class Comparer:
    """Computes a run's Versus columns against its board's reference from their samples logs."""

    def __init__(self, by_run: dict[str, LoadedRecord], seed: int = 0):
        self.by_run, self.seed = by_run, seed

    def rows(self, run_id: str) -> list[dict[str, Any]]:
        return record_log(self.by_run[run_id].record, self.by_run[run_id].path)[0]

    def task(self, run_id: str) -> Task | None:
        record = self.by_run[run_id].record
        try:
            return TASKS.get(record.task.name)(record.task.options)
        except (HarnessError, ValueError, ImportError):
            return None

    def faithful(self, task: Task, metric: str, run_id: str, value: float) -> bool:
        """Whether the task's pair statistic over this run's samples gives back the record's value of `metric`."""
        pairing = task.pair_statistic(metric)
        rows = self.rows(run_id)
        if pairing is None or not rows:
            return False
        column, statistic = pairing
        if not all(column in r["scores"] for r in rows):
            return False
        got = float(statistic(np.array([[r["scores"][column] for r in rows]], dtype=float))[0])
        return math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-9)

    def unit_statistic(self, task: Task, metric: str, run_id: str, value: float) -> UnitStatistic | None:
        """The task's unit statistic of `metric` over this run's samples, when it gives back the record's value."""
        rows = self.rows(run_id)
        found = task.unit_statistic(metric, rows) if rows else None
        return found if found is not None and math.isclose(found.value(), value, rel_tol=1e-6, abs_tol=1e-9) else None

    def resampled(self, task: Task, metric: str, row: Mapping[str, Any], ref: Mapping[str, Any]) -> Versus | None:
        """The difference paired by a bootstrap over the resampling units of the shared ids (unit_statistic)."""
        whole = [self.unit_statistic(task, metric, str(r["run_id"]), float(r["value"])) for r in (row, ref)]
        if not all(whole):
            return None
        mine, theirs = self.rows(str(row["run_id"])), self.rows(str(ref["run_id"]))
        shared = {r["id"] for r in mine} & {r["id"] for r in theirs}
        pair = [found if len(shared) == len(rows) else task.unit_statistic(metric, [r for r in rows if r["id"] in shared])
                for found, rows in zip(whole, (mine, theirs))]  # on the same ids (log ids are unique) it is the same statistic
        if not shared or pair[0] is None or pair[1] is None:
            return None
        difference, ci = paired_difference(pair[0], pair[1], self.seed)
        low, high = ci if ci else (None, None)
        return Versus("", "", difference, low, high, "paired", len(pair[0].units))

    def paired(self, row: Mapping[str, Any], ref: Mapping[str, Any]) -> Versus | None:
        task = self.task(str(row["run_id"]))
        metric = str(row["main_metric"])
        if task is None:
            return None
        if not all(self.faithful(task, metric, str(r["run_id"]), float(r["value"])) for r in (row, ref)):
            return self.resampled(task, metric, row, ref)
        found = paired_metrics(task, self.rows(str(row["run_id"])), self.rows(str(ref["run_id"])), self.seed).get(metric)
        if found is None:
            return None
        low, high = found.ci95 if found.ci95 else (None, None)
        return Versus("", "", found.difference, low, high, "paired", found.n)



@dataclass
class Pair:
    """A run and its board's reference run, to be compared on their samples (Comparer.paired)."""

    index: Any  # the run's row in the frame
    mine: LoadedRecord
    ref: LoadedRecord
    metric: str
    mine_value: float
    ref_value: float


def pair_versus(pair: Pair) -> Versus | None:
    """The pair's difference paired on the samples (Comparer.paired), or None when they cannot be paired."""
    comparer = Comparer({pair.mine.record.run_id: pair.mine, pair.ref.record.run_id: pair.ref})
    return comparer.paired({"run_id": pair.mine.record.run_id, "main_metric": pair.metric, "value": pair.mine_value},
                           {"run_id": pair.ref.record.run_id, "value": pair.ref_value})


def board_versus(board: pd.DataFrame, spec: ReferenceSpec, by_run: dict[str, LoadedRecord],
                 pairs: list[Pair]) -> dict[Any, Versus]:
    """Versus for every row (by frame index) of one board, the differences still to pair appended to `pairs`; rows
    get only the reference's name when it has no run."""
    ranked = board[current_complete(board) & board["value"].notna()]
    refs = ranked[ranked["method"] == spec.method].sort_values("created_at")
    out = {i: Versus(spec.method, spec.kind) for i in board.index}
    if refs.empty:
        return out
    ref = refs.iloc[-1]
    lat_keys = latency_keys(board, spec.latency)
    for i, row in board.iterrows():
        if row["status"] != "complete" or not present(row["value"]):
            continue
        if row["run_id"] == ref["run_id"]:
            found = Versus(spec.method, spec.kind, 0.0, 0.0, 0.0, "reference", row["n"])
        else:  # unpaired until the samples pair it
            found = Versus(spec.method, spec.kind, float(row["value"]) - float(ref["value"]), delta_how="unpaired")
            pairs.append(Pair(i, by_run[str(row["run_id"])], by_run[str(ref["run_id"])], str(row["main_metric"]),
                              float(row["value"]), float(ref["value"])))
        found.memory_ratio, found.memory_what, _ = ratio(row, ref, list(MEMORY_KEYS))
        found.latency_ratio, found.latency_what, key = ratio(row, ref, lat_keys)
        found.latency_unstable = unstable(row, key) or unstable(ref, key)
        out[i] = found
    return out


def plan_versus(frame: pd.DataFrame, by_run: dict[str, LoadedRecord],
                reference: Callable[[str], ReferenceSpec | None] = reference_of) -> tuple[dict[Any, Versus], list[Pair]]:
    """Versus for every row of every board whose task declares a reference, and the pairs still to pair on samples."""
    found: dict[Any, Versus] = {}
    pairs: list[Pair] = []
    for (task, _), board in frame.groupby(["task", "board"]):
        spec = reference(str(task))
        if spec is not None:
            found.update(board_versus(board, spec, by_run, pairs))
    return found, pairs


def settle_versus(frame: pd.DataFrame, found: dict[Any, Versus], paired: dict[Any, Versus | None]) -> pd.DataFrame:
    """The frame with VERSUS_COLUMNS filled: the planned Versus, with the differences paired on samples (by frame
    index; None keeps a pair unpaired)."""
    for index, got in paired.items():
        if got is not None:
            mine = found[index]
            mine.delta, mine.delta_low, mine.delta_high, mine.delta_how, mine.delta_n = (
                got.delta, got.delta_low, got.delta_high, got.delta_how, got.delta_n)
    out = frame.copy()
    for column in VERSUS_COLUMNS:
        out[column] = [getattr(found[i], column) if i in found else None for i in frame.index]
    return out


def with_versus(frame: pd.DataFrame, by_run: dict[str, LoadedRecord],
                reference: Callable[[str], ReferenceSpec | None] = reference_of) -> pd.DataFrame:
    """The frame with VERSUS_COLUMNS filled for every board whose task declares a reference, paired here (the site
    pairs each run where it writes the run's pages: plan_versus, then settle_versus)."""
    found, pairs = plan_versus(frame, by_run, reference)
    return settle_versus(frame, found, {pair.index: pair_versus(pair) for pair in pairs})
