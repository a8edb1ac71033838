"""Records as a pandas table, grouped into boards of comparable runs, with Pareto fronts.

A *board* is one setting in which results may be ranked against each other (`harness.records.board_key.BoardKey`, the same
key pairing, grid resume and `validate` use): one task version, its options in canonical form, one split, sample
limit and seed, one model and dtype, one hardware key. Nothing is ever ranked across boards, so records from
different hardware never compete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.checks.installed import stale_text
from harness.checks.integrity import check_paths
from harness.checks.validation_receipt import trusted
from harness.contracts.record import ResultRecord
from harness.contracts.registry import TASKS
from harness.errors import HarnessError
from harness.records.board_key import board_key, canonical, canonical_options, canonical_params
from harness.records.store import load_record, record_paths, safe_name

CONFIG_KEYS = ["board", "method", "params_key"]
RANKED_STATUSES = ("complete",)
UNSET = object()


@dataclass
class LoadedRecord:
    """A record with the file it came from."""

    record: ResultRecord
    path: Path


@dataclass
class Vetted:
    """The records under a results folder that pass `harness validate`, the others with their reasons, and warnings."""

    items: list[LoadedRecord]
    rejected: list[tuple[Path, list[str]]]
    warnings: list[str]
    receipted: int = 0  # records a validation receipt passed with their present bytes (not checked again)


def load_all(results: Path) -> list[LoadedRecord]:
    """Every record under `results` that passes validation (see `vetted` for the others)."""
    return vetted(results).items


def vetted(results: Path, receipt: Path | None = None) -> Vetted:
    """Every record under `results`, checked as `harness validate` checks it, except those a validation receipt
    (harness.checks.validation_receipt) passed with the bytes they have now: of those only the schema and their run ids are read again."""
    found = Vetted([], [], [])
    paths = list(record_paths(results))
    passed = trusted(receipt, paths) if receipt is not None else set()
    found.receipted = len(passed)
    if receipt is not None and paths and not passed:
        found.warnings.append(f"the receipt {receipt} passed none of these records as they are now (written by other "
                              "checking code, or for other files): every record was checked in full")
    for path, report in zip(paths, check_paths(paths, passed=passed)):
        found.warnings += report.warnings
        if report.ok:
            found.items.append(LoadedRecord(load_record(path), path))
        else:
            found.rejected.append((path, report.problems))
    return found


LABEL_PARAMS_CHARS = 40  # a label's parameter text beyond this is cut (the parameters column has them whole)


def run_label(method: str, shown: dict[str, object]) -> str:
    """The method with the parameters that tell its runs apart (a sweep's values), as tables, plots and heatmaps name a
    run: `lacache budget=0.25`; the text is cut at LABEL_PARAMS_CHARS."""
    if not shown:
        return method
    text = " ".join(f"{key}={canonical(value)}" for key, value in sorted(shown.items()))
    return f"{method} {text if len(text) <= LABEL_PARAMS_CHARS else text[:LABEL_PARAMS_CHARS - 1] + '…'}"


def label_runs(frame: pd.DataFrame) -> pd.Series:
    """Each row's label: its method, and where one board holds current runs of the method with different
    parameters, the parameters whose values differ among those runs."""
    labels = frame["method"].astype(str).copy()
    for (_, method), group in frame[frame["current"]].groupby(["board", "method"]):
        if group["params_key"].nunique() < 2:
            continue
        params = {index: json.loads(key) for index, key in group["params_key"].items()}
        names = {name for p in params.values() for name in p}
        varying = sorted(n for n in names if len({canonical(p.get(n)) for p in params.values()}) > 1)
        for index, p in params.items():
            labels[index] = run_label(str(method), {n: p.get(n) for n in varying})
    return labels


def record_row(item: LoadedRecord) -> dict[str, object]:
    """One flat row per record: identity, setting, main metric with interval, other metrics, memory, latency p50s."""
    r = item.record
    main = r.metrics.get(r.main_metric)
    memory = r.performance.memory
    kv = memory.kv_cache if memory else None
    row: dict[str, object] = {
        "run_id": r.run_id, "task": r.task.name, "task_version": r.task.version, "family": r.task.family, "method": r.method.name,
        "model": r.method.base_model.id if r.method.base_model else "none",
        "dtype": r.method.base_model.dtype if r.method.base_model else "-",
        "hardware": str(r.environment.get("hardware_key", "unknown")), "split": r.task.split,
        "limit": r.config.limit if r.config.limit is not None else -1,
        "options_key": canonical(canonical_options(r.task.name, r.task.options)), "board": board_key(r).id(),
        "params_key": canonical(canonical_params(r.method.name, r.method.params)), "seed": r.config.seed, "status": r.status, "error": r.error or "", "stale": stale_text(r),
        "main_metric": r.main_metric, "value": main.value if main else None,
        "ci_low": main.ci95[0] if main and main.ci95 else None, "ci_high": main.ci95[1] if main and main.ci95 else None,
        "higher_is_better": main.higher_is_better if main else True, "n": main.n if main else None,
        "created_at": r.created_at.isoformat(), "peak_memory_bytes": memory.peak_bytes if memory else None,
        "memory_scope": memory.scope if memory else "", "kv_answering_bytes": kv.decode_bytes if kv else None,
        "kv_peak_bytes": kv.peak_bytes if kv else None, "parameter_bytes": memory.parameter_bytes if memory else None,
        "throughput": r.performance.throughput.value if r.performance.throughput else None,
        "throughput_unit": r.performance.throughput.unit if r.performance.throughput else "", "path": str(item.path),
        "run_page": safe_name(r.run_id), "method_page": safe_name(r.method.name), "task_page": safe_name(r.task.name),
    }
    for name, metric in r.metrics.items():
        row[f"metric:{name}"] = metric.value
    paired = r.comparison.metrics.get(r.main_metric) if r.comparison else None
    if paired is not None:  # the main metric's paired difference with the task's reference method
        row[f"metric:{r.main_metric}_vs_{r.comparison.reference}"] = paired.difference
    for scope, stats in r.performance.latency.items():
        row[f"latency:{scope}"] = stats.p50
        row[f"unstable:{scope}"] = stats.unstable
    return row


def current_complete(frame: pd.DataFrame) -> pd.Series:
    """Rows that stand for their configuration: the newest run, complete, made by the installed code (not stale)."""
    return frame["current"] & frame["status"].isin(RANKED_STATUSES) & (frame["stale"] == "")


def records_frame(items: list[LoadedRecord]) -> pd.DataFrame:
    """All records as one table, with board ids and `current` (the newest run of its configuration), by task and board
    (harness.site.paired_ranks ranks them from their samples)."""
    if not items:
        raise HarnessError("no result records found: run `harness run --method NAME` first, or pass --results")
    frame = pd.DataFrame([record_row(i) for i in items])
    newest = frame.groupby(CONFIG_KEYS, dropna=False)["created_at"].transform("max")
    frame["current"] = frame["created_at"] == newest
    frame["label"] = label_runs(frame)
    return frame.sort_values(["task", "board", "method", "created_at"], ascending=[True, True, True, False]).reset_index(drop=True)


def pareto_front(xs: list[float], ys: list[float], higher_is_better: bool) -> list[int]:
    """Indices of points no other point beats: x (memory, latency) lower is better, y by its direction.

    Returned in order of increasing x, so that they can be joined as the front's staircase.
    """
    sign = 1.0 if higher_is_better else -1.0
    front = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        dominated = any(
            (xs[j] <= x and sign * ys[j] >= sign * y) and (xs[j] < x or sign * ys[j] > sign * y)
            for j in range(len(xs)) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (xs[i], -sign * ys[i]))


def usual_options(task_frame: pd.DataFrame, task: str) -> dict:
    """The task's most common options over its records; a tie goes to the options nearest the task's defaults (so
    two boards of equal size do not hand the default board the label)."""
    tied = [json.loads(key) for key in task_frame["options_key"].mode()]
    if len(tied) == 1 or task not in TASKS.names():
        return tied[0]
    defaults = TASKS.get(task).Options().model_dump(mode="json")
    return min(tied, key=lambda options: sum(options.get(k, UNSET) != v for k, v in defaults.items()))


def board_label(board: pd.DataFrame, task_frame: pd.DataFrame) -> str:
    """Hardware, model, split, limit, and the task options where they differ from the task's most common ones."""
    first = board.iloc[0]
    parts = [str(first["hardware"]), f"{first['model']} ({first['dtype']})", f"split {first['split']}"]
    if first["limit"] != -1:
        parts.append(f"limit {first['limit']}")
    if first["seed"] != 0:
        parts.append(f"seed {first['seed']}")
    usual = usual_options(task_frame, first["task"])
    options = json.loads(first["options_key"])
    named = set(TASKS.get(first["task"]).display.label_options) if first["task"] in TASKS.names() else set()
    changed = sorted(k for k in set(options) | set(usual) if options.get(k, UNSET) != usual.get(k, UNSET) or k in named)
    if changed:
        parts.append("options " + ", ".join(f"{k}={canonical(options[k]) if k in options else 'unset'}" for k in changed))
    if first["task_version"] != task_frame["task_version"].mode().iloc[0]:
        parts.append(f"task version {first['task_version']}")
    return " · ".join(parts)
