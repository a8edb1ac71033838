"""Checks on records and their samples (`harness validate`), and re-scoring saved outputs (`harness rescore`).

A record passes when it matches the schema (unknown fields are warnings), names a samples file whose sha256
matches, has a run id used nowhere else and equal to its file name, and where the split is generated from a
seed: every sample id belongs to that split (all of them for a complete record), each row's meta is the
sample's, and every saved output re-scored with the task's own scoring gives the saved scores. The metrics,
breakdowns, `method.applied` and the paired comparison must equal those re-aggregated from the saved scores.
"""

from __future__ import annotations

import math
import os
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from harness.checks.installed import not_installed, provenance_text, stale_reasons
from harness.contracts.record import MetricValue, ResultRecord
from harness.contracts.registry import TASKS
from harness.contracts.task import Sample, Task
from harness.errors import HarnessError, rows_guard
from harness.records.board_key import canonical, canonical_options
from harness.records.paired import recompute
from harness.records.store import (
    SampleLog,
    load_record,
    model_slug,
    read_record,
    safe_name,
    samples_path,
    samples_sha256,
    write_record,
)

TOLERANCE = 1e-9
# Generated splits are bit-identical on one machine and equal within this (relative to each array's largest value)
# across processors and their numeric code paths (benchmarks/split_portability.py): what is compared with a split
# re-generated here (metas, outputs re-scored) and verify's per-sample scores allow this much.
ACROSS_MACHINES = 1e-6
CLOCK_SKEW = timedelta(hours=1)  # a record dated this far ahead of the checking machine's clock is in the future
GENERATED_SPLIT = "offline"  # the split every task generates from a seed (SplitSpec)
SHOWN = 3  # ids named in one problem line
SPLITS_KEPT = 4  # generated splits a checker keeps (records of one task and its few option sets sit together)


def close(a: Any, b: Any, tol: float = TOLERANCE) -> bool:
    """Equal up to `tol` (relative or absolute) in every number, through dicts, lists and tuples; NaN equals NaN."""
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], tol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    return a == b


def named(ids: list[str]) -> str:
    more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return ", ".join(repr(i) for i in ids[:SHOWN]) + more


def task_of(record: ResultRecord) -> Task:
    """The installed task with the record's options (HarnessError when it is not installed or the options no longer fit)."""
    try:
        return TASKS.get(record.task.name)(record.task.options)
    except HarnessError as exc:
        raise HarnessError(f"cannot re-score it: {exc}") from None


def rescored(task: Task, rows: list[dict[str, Any]], samples: dict[str, Sample]) -> list[str]:
    """Ids whose saved scores differ from their saved outputs scored again (first metric that differs, in words)."""
    bad = []
    for row in rows:
        try:
            again = task.score(samples[row["id"]], row["output"])
        except Exception as exc:  # noqa: BLE001 - an edited output the scorer cannot read is a finding, not a crash
            bad.append(f"{row['id']} (its output cannot be scored: {type(exc).__name__})")
            continue
        if not close(again, row["scores"], ACROSS_MACHINES):
            names = sorted(set(again) | set(row["scores"]))
            name = next(n for n in names if not close(again.get(n), row["scores"].get(n), ACROSS_MACHINES))
            bad.append(f"{row['id']} ({name}: saved {row['scores'].get(name)}, re-scored {again.get(name)})")
    return bad


def metric_differences(recorded: dict[str, MetricValue], again: dict[str, MetricValue]) -> list[str]:
    """One line per metric whose value, interval, stderr, n or direction differs from the re-aggregated one."""
    lines = []
    for name in sorted(set(recorded) | set(again)):
        mine, theirs = recorded.get(name), again.get(name)
        if mine is not None and theirs is not None and close(mine.model_dump(), theirs.model_dump()):
            continue
        if mine is not None and theirs is not None and close(mine.value, theirs.value):
            lines.append(f"metric {name}: its interval, stderr or n differ from those the samples give")
        else:
            lines.append(f"metric {name} = {mine.value if mine else 'nothing'} but the samples give "
                         f"{theirs.value if theirs else 'nothing'}")
    return lines


def claim_problems(record: ResultRecord, now: datetime | None = None) -> list[str]:
    """What a record claims that no samples log can confirm, held to what is possible: a limit that is not negative,
    no hand-picked samples, a creation time not in the future, and costs that are finite numbers (positive where
    nothing is free)."""
    problems = []
    if record.config.limit is not None and record.config.limit < 0:
        problems.append(f"config.limit {record.config.limit} is negative: a run's limit is a count of samples (or none)")
    if record.config.sample_ids is not None:
        problems.append(f"config.sample_ids picks {len(record.config.sample_ids)} sample(s): a run restricted to chosen "
                        "samples is a `harness verify` re-run, not a result; run the whole split (or --limit N)")
    created = record.created_at if record.created_at.tzinfo else record.created_at.replace(tzinfo=timezone.utc)
    if created > (now or datetime.now(timezone.utc)) + CLOCK_SKEW:
        problems.append(f"created_at {record.created_at.isoformat()} is in the future: a record is dated when it ran")
    costs: list[tuple[str, float | int | None, bool]] = []  # (field, value, must be above zero)
    for scope, stats in record.performance.latency.items():
        costs += [(f"latency {scope} p50", stats.p50, True), (f"latency {scope} repeats", stats.repeats, True)]
        costs += [(f"latency {scope} {name}", getattr(stats, name), False)
                  for name in ("p90", "p99", "mean", "std", "median", "mad", "min", "max", "warmups")]
        costs += [(f"latency {scope} raw", value, False) for value in stats.raw]
    if record.performance.throughput is not None:
        costs.append(("throughput", record.performance.throughput.value, True))
    memory = record.performance.memory
    if memory is not None:
        costs += [("memory peak_bytes", memory.peak_bytes, True), ("memory reserved_bytes", memory.reserved_bytes, False),
                  ("memory parameter_bytes", memory.parameter_bytes, False)]
        if memory.kv_cache is not None:
            kv = memory.kv_cache
            costs += [(f"memory kv_cache {name}", getattr(kv, name), False)
                      for name in ("peak_bytes", "decode_bytes", "peak_tokens", "analytical_peak_bytes")]
    for name, value, positive in costs:
        if value is not None and (not math.isfinite(value) or value < 0 or (positive and value == 0)):
            problems.append(f"{name} is {value}: a measured cost is a finite number, "
                            + ("above zero" if positive else "zero or more"))
    return problems


@dataclass
class Report:
    """What one record's check found: problems fail validation, warnings do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    run_id: str | None = None  # when the record could be read
    in_place: bool = False  # it sits in its cell's folder (task/method/model/hardware) under its own run id
    stale: list[str] = field(default_factory=list)  # how the installed code differs from the code that made it
    plugin: str = ""  # where a plugin method came from (installed.provenance_text); empty for a built-in one

    @property
    def ok(self) -> bool:
        return not self.problems


class Checker:
    """Checks records one after another, remembering the splits it generated (their cost:
    one per task, version, options, limit and seed, a few kept at a time). `deep=False` skips re-generating the
    split (ids, metas and outputs re-scored against it), the one check whose cost grows with the task's data."""

    def __init__(self) -> None:
        self._splits: OrderedDict[tuple[Any, ...], tuple[Task, list[Sample]]] = OrderedDict()

    def generated(self, task: Task, record: ResultRecord) -> tuple[Task, dict[str, Sample]]:
        """The record's split and the task instance that generated it (a task may keep per-split state that its
        scoring reads, so the two are kept and used together)."""
        key = (record.task.name, record.task.version, canonical(canonical_options(record.task.name, record.task.options)),
               record.config.limit, record.config.seed)
        if key not in self._splits:
            self._splits[key] = task, task.samples(GENERATED_SPLIT, record.config.limit, record.config.seed)
            while len(self._splits) > SPLITS_KEPT:
                self._splits.popitem(last=False)
        self._splits.move_to_end(key)
        maker, split = self._splits[key]
        return maker, {s.id: s for s in split}

    def check(self, path: Path, deep: bool = True) -> Report:
        report = Report()
        try:
            record, report.warnings = read_record(path)
        except HarnessError as exc:
            report.problems.append(str(exc))
            return report
        report.run_id, report.in_place = record.run_id, in_place(record, path)
        missing = not_installed(record)
        if missing:
            report.problems += [f"{path}: {line}" for line in missing]
            return report
        report.stale = stale_reasons(record)
        report.plugin = provenance_text(record)
        try:
            with rows_guard("checked"):  # this record fails, the others go on
                report.problems += self._problems(record, path, deep)
        except HarnessError as exc:
            report.problems.append(f"{path}: {exc}")
        return report

    def _problems(self, record: ResultRecord, path: Path, deep: bool = True) -> list[str]:
        problems = [f"{path}: {line}" for line in claim_problems(record)]
        if (record.config.limit is not None and record.config.limit < 0) or record.config.sample_ids is not None:
            return problems  # no split has a negative size or hand-picked ids: nothing else can be checked against one
        if path.stem != record.run_id:
            problems.append(f"{path}: the file name does not match its run_id {record.run_id}")
        scored = record.task.dataset is None or record.task.dataset.n_evaluated > 0  # a run stopped before its first sample has none
        if record.main_metric not in record.metrics and record.status in ("complete", "partial") and scored:
            problems.append(f"{path}: main metric {record.main_metric!r} missing from a {record.status} record")
        log_path = samples_path(record, path)
        if log_path is None:
            if record.status == "complete":
                problems.append(f"{path}: a complete record must name its samples file")
            return problems
        if not log_path.exists():
            return problems + [f"{path}: samples file {log_path.name} is missing"]
        if samples_sha256(log_path) != record.artifacts.sha256:
            return problems + [f"{path}: samples file {log_path.name} does not match the recorded sha256"]
        task = task_of(record)
        rows = SampleLog(log_path).read()
        repeated = [i for i, n in Counter(r["id"] for r in rows).items() if n > 1]
        if repeated:
            problems.append(f"{path}: sample id(s) {named(repeated)} appear more than once in {log_path.name}")
        if record.task.split == GENERATED_SPLIT and deep:
            problems += [f"{path}: {line}" for line in self._against_split(task, record, rows)]
        again = task.metrics_of(rows, record.config.seed) if rows else {}  # the cell aggregates only what it scored
        problems += [f"{path}: {line}" for line in metric_differences(record.metrics, again)]
        if record.task.dataset and record.task.dataset.n_evaluated != len(rows):
            problems.append(f"{path}: n_evaluated {record.task.dataset.n_evaluated} but the samples file has {len(rows)} rows")
        if record.method.applied is not None and task.applied(rows) != record.method.applied:
            problems.append(f"{path}: method.applied {record.method.applied} but the samples give {task.applied(rows)}")
        return problems + [f"{path}: {line}" for line in self._comparison(task, record, path, rows)]

    def _against_split(self, task: Task, record: ResultRecord, rows: list[dict[str, Any]]) -> list[str]:
        """Ids, metas, scores and breakdowns against the split the task generates from the record's seed."""
        task, samples = self.generated(task, record)
        strangers = [r["id"] for r in rows if r["id"] not in samples]
        if strangers:
            return [f"sample id(s) {named(strangers)} are not in split {GENERATED_SPLIT} of {record.task.name} (seed "
                    f"{record.config.seed}, limit {record.config.limit})"]
        problems = []
        logged = {r["id"] for r in rows}
        if record.status == "complete" and len(logged) < len(samples):
            problems.append(f"complete, but sample(s) {named([i for i in samples if i not in logged])} of the split are missing")
        if record.task.dataset and record.task.dataset.n_total != len(samples):
            problems.append(f"n_total {record.task.dataset.n_total} but the split has {len(samples)} samples")
        moved = [r["id"] for r in rows if not close(r.get("meta", {}), samples[r["id"]].meta, ACROSS_MACHINES)]
        if moved:
            problems.append(f"sample(s) {named(moved)} carry a meta that is not the split's")
        bad = rescored(task, rows, samples)
        if bad:
            problems.append(f"{len(bad)} sample(s) score differently from their saved outputs: {named(bad)}")
        breakdowns = task.breakdowns([samples[r["id"]] for r in rows], task.score_rows(rows)) if rows else {}
        if not close(breakdowns, record.breakdowns):
            problems.append("breakdowns differ from those the samples give")
        return problems

    @staticmethod
    def _comparison(task: Task, record: ResultRecord, path: Path, rows: list[dict[str, Any]]) -> list[str]:
        again = recompute(task, record, path, rows)
        if isinstance(again, str):
            return [again]
        if again is None:
            return []
        return [f"paired difference {name} = {paired.difference} but the samples give "
                f"{again.metrics[name].difference if name in again.metrics else 'nothing'}"
                for name, paired in record.comparison.metrics.items()
                if name not in again.metrics or not close(again.metrics[name].model_dump(), paired.model_dump())]


def in_place(record: ResultRecord, path: Path) -> bool:
    """Whether a record sits where `harness run` writes it: task/method/model/hardware/RUN_ID.json."""
    base = record.method.base_model
    folders = (safe_name(record.task.name), safe_name(record.method.name), model_slug(base.id if base else None),
               safe_name(str(record.environment.get("hardware_key", "unknown"))))
    return tuple(path.parent.parts[-4:]) == folders and path.stem == record.run_id


def already_passed(path: Path) -> Report:
    """The report of a record a validation receipt passed with its present bytes: warnings and run id read again."""
    try:
        record, warnings = read_record(path)
    except HarnessError as exc:
        return Report(problems=[str(exc)])
    return Report(warnings=warnings, run_id=record.run_id, in_place=in_place(record, path))


def _check_group(paths: list[Path], deep: list[bool]) -> list[Report]:
    checker = Checker()
    return [checker.check(path, d) for path, d in zip(paths, deep)]


def check_paths(paths: list[Path], deep: Callable[[Path], bool] = lambda _: True, jobs: int | None = None,
                passed: Collection[Path] = ()) -> list[Report]:
    """Every record checked, in the order given, on up to `jobs` processes (default: the cores), the records of one
    task folder together (each process keeps its splits); records in `passed` (a validation receipt's, see
    harness.checks.validation_receipt) only read again. Then run ids held twice (refuse_repeated_run_ids)."""
    reports: list[Report | None] = [already_passed(p) if p in passed else None for p in paths]
    groups: dict[Path, list[int]] = {}
    for i, path in enumerate(paths):
        if reports[i] is not None:
            continue
        groups.setdefault(path.parents[3] if len(path.parents) > 4 else path.parent, []).append(i)
    ordered = sorted(groups.values(), key=len, reverse=True)  # the largest first, so the processes finish together
    workers = min(jobs or os.cpu_count() or 1, len(ordered))
    work = [([paths[i] for i in group], [deep(paths[i]) for i in group]) for group in ordered]
    if workers <= 1:
        done = [_check_group(*item) for item in work]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            done = list(pool.map(_check_group, *zip(*work)))
    for group, found in zip(ordered, done):
        for i, report in zip(group, found):
            reports[i] = report
    checked = [r for r in reports if r is not None]
    refuse_repeated_run_ids(paths, checked)
    return checked


def refuse_repeated_run_ids(paths: list[Path], checked: list[Report]) -> None:
    """Run ids held twice: the copy that sits in its place is kept, every other is refused naming both paths."""
    held: dict[str, list[int]] = {}
    for i, report in enumerate(checked):
        if report.run_id is not None:
            held.setdefault(report.run_id, []).append(i)
    for run_id, where in held.items():
        if len(where) < 2:
            continue
        placed = [i for i in where if checked[i].in_place]
        kept = placed[0] if len(placed) == 1 else None
        for i in where:
            if i != kept:
                others = ", ".join(str(paths[j]) for j in where if j != i)
                checked[i].problems.append(f"{paths[i]}: run_id {run_id} is also held by {others}: "
                                           + ("this copy is not in its cell's folder; remove it" if kept is not None
                                              else "keep one of them"))


def rescore(path: Path, write: bool) -> tuple[ResultRecord, list[str]]:
    """Re-score saved outputs with the current scorer (outputs are not re-run): the re-scored record and what differs
    from the record on disk, one line each; with `write` the samples file and the record are rewritten. Rows the
    task's code cannot score or aggregate are one line (HarnessError), and nothing is written."""
    with rows_guard("re-scored", path):
        return _rescore(path, write)


def _rescore(path: Path, write: bool) -> tuple[ResultRecord, list[str]]:
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
    changed = []
    for row in rows:
        scores = task.score(samples[row["id"]], row["output"])
        if not close(scores, row["scores"]):
            changed.append(row["id"])
        row["scores"] = scores
    again = record.model_copy(deep=True)
    again.metrics = task.metrics_of(rows, record.config.seed)
    again.breakdowns = task.breakdowns([samples[r["id"]] for r in rows], task.score_rows(rows))
    again.method.applied = task.applied(rows)
    comparison = recompute(task, again, path, rows)
    if isinstance(comparison, str):
        raise HarnessError(f"{path}: {comparison}: rerun the cell")
    again.comparison = comparison
    differences = [f"sample(s) {named(changed)} score differently from their saved scores"] if changed else []
    differences += metric_differences(record.metrics, again.metrics)
    for part in ("breakdowns", "comparison"):
        if not close(record.model_dump(mode="json")[part], again.model_dump(mode="json")[part]):
            differences.append(f"{part} differ from the recorded ones")
    if write and differences:
        log.rewrite(rows)
        again.artifacts.sha256 = samples_sha256(log_path)
        write_record(path, again)
    return again, differences
