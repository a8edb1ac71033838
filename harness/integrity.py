"""Checks on committed records (schema, samples file, re-aggregated metrics) and re-scoring saved outputs."""

from __future__ import annotations

import math
from pathlib import Path

from harness.errors import HarnessError
from harness.paired import recompute
from harness.record import ResultRecord
from harness.registry import TASKS
from harness.store import SampleLog, load_record, sha256_file, write_record
from harness.task import Sample

TOLERANCE = 1e-9


def samples_path(record: ResultRecord, path: Path) -> Path | None:
    return path.parent / record.artifacts.samples if record.artifacts else None


def check_record(path: Path, seen_run_ids: dict[str, Path]) -> list[str]:
    """Problems with one record file, as one line each (empty when it is sound)."""
    try:
        record = load_record(path)
    except HarnessError as exc:
        return [str(exc)]
    problems = []
    if record.run_id in seen_run_ids:
        problems.append(f"{path}: run_id {record.run_id} duplicates {seen_run_ids[record.run_id]}")
    seen_run_ids[record.run_id] = path
    if record.main_metric not in record.metrics and record.status in ("complete", "partial"):
        problems.append(f"{path}: main metric {record.main_metric!r} missing from a {record.status} record")
    log_path = samples_path(record, path)
    if log_path is None:
        if record.status == "complete":
            problems.append(f"{path}: a complete record must name its samples file")
        return problems
    if not log_path.exists():
        return problems + [f"{path}: samples file {log_path.name} is missing"]
    if sha256_file(log_path) != record.artifacts.sha256:
        return problems + [f"{path}: samples file {log_path.name} does not match the recorded sha256"]
    task = TASKS.get(record.task.name)(record.task.options)
    rows = SampleLog(log_path).read()
    recomputed = task.metrics_of(rows, record.config.seed)
    for name, metric in record.metrics.items():
        again = recomputed.get(name)
        if again is None or not math.isclose(again.value, metric.value, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            problems.append(f"{path}: metric {name} = {metric.value} but the samples give {again.value if again else 'nothing'}")
    if record.task.dataset and record.task.dataset.n_evaluated != len(rows):
        problems.append(f"{path}: n_evaluated {record.task.dataset.n_evaluated} but the samples file has {len(rows)} rows")
    if record.method.applied is not None and task.applied(rows) != record.method.applied:
        problems.append(f"{path}: method.applied {record.method.applied} but the samples give {task.applied(rows)}")
    again = recompute(task, record, path, rows)
    if isinstance(again, str):
        problems.append(f"{path}: {again}")
    elif again is not None:
        for name, paired in record.comparison.metrics.items():
            other = again.metrics.get(name)
            if other is None or not math.isclose(other.difference, paired.difference, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
                problems.append(f"{path}: paired difference {name} = {paired.difference} but the samples give "
                                f"{other.difference if other else 'nothing'}")
    return problems


def rescore(path: Path) -> ResultRecord:
    """Re-score saved outputs with the current scorer and rewrite the record (outputs are not re-run)."""
    record = load_record(path)
    log_path = samples_path(record, path)
    if log_path is None or not log_path.exists():
        raise HarnessError(f"{path} has no samples file to re-score: rerun the cell instead")
    task = TASKS.get(record.task.name)(record.task.options)
    samples = {s.id: s for s in task.samples(record.task.split, record.config.limit, record.config.seed)}
    log = SampleLog(log_path)
    rows = log.read()
    missing = [r["id"] for r in rows if r["id"] not in samples]
    if missing:
        raise HarnessError(f"{path}: sample {missing[0]!r} no longer exists in task {record.task.name}: the task changed, rerun the cell")
    for row in rows:
        row["scores"] = task.score(samples[row["id"]], row["output"])
    evaluated: list[Sample] = [samples[r["id"]] for r in rows]
    record.metrics = task.metrics_of(rows, record.config.seed)
    record.breakdowns = task.breakdowns(evaluated, [r["scores"] for r in rows])
    record.method.applied = task.applied(rows)
    again = recompute(task, record, path, rows)
    if isinstance(again, str):
        raise HarnessError(f"{path}: {again}: rerun the cell")
    record.comparison = again
    log.rewrite(rows)
    record.artifacts.sha256 = sha256_file(log_path)
    write_record(path, record)
    return record
