"""`harness verify`: re-run a recorded cell on a few of its samples and compare with the samples and the record.

Three comparisons, all of which must hold: the record against its own samples (every `harness validate` check,
so an edited metric fails here), each metric of the re-run against the recorded samples re-aggregated over the
same samples (within a tolerance stated per metric), and the per-sample scores (counted as equal within a
relative 1e-6, so deterministic methods are not reported as differing by rounding). The samples are chosen
to make the check informative (`harness.running.verify_choice`), or verify says why it cannot be.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.checks.integrity import ACROSS_MACHINES, Checker, close, samples_path
from harness.contracts.causal_lm import EMBEDDED_ID
from harness.contracts.record import MetricValue, ResultRecord
from harness.contracts.registry import TASKS
from harness.errors import HarnessError, rows_guard
from harness.records.store import SampleLog, load_record
from harness.running.verify_choice import choose

if TYPE_CHECKING:
    from harness.running.cell import CellSpec

SCORE_TOLERANCE = ACROSS_MACHINES  # per-sample scores this close count as identical (the splits' own promise)


@dataclass
class MetricCheck:
    """One metric on the re-run samples: as recorded, as re-run, the tolerance allowed, and whether they agree."""

    name: str
    recorded: float
    rerun: float
    tolerance: float

    @property
    def agrees(self) -> bool:
        return abs(self.rerun - self.recorded) <= self.tolerance


@dataclass
class Verification:
    """The outcome of re-running some of a record's samples."""

    record: ResultRecord
    sample_ids: list[str]
    equal_scores: int
    checks: list[MetricCheck]
    rerun_hardware: str
    record_problems: list[str]
    uninformative: str | None

    @property
    def agrees(self) -> bool:
        return not self.record_problems and all(c.agrees for c in self.checks)


def compare(recorded: dict[str, MetricValue], rerun: dict[str, MetricValue], atol: float, rtol: float) -> list[MetricCheck]:
    return [MetricCheck(name, m.value, rerun[name].value if name in rerun else float("nan"), atol + rtol * abs(m.value))
            for name, m in recorded.items()]


def cell_spec_for(record: ResultRecord, sample_ids: list[str], device: str, out: str) -> "CellSpec":
    from harness.running.cell import CellSpec

    base = record.method.base_model
    model = None if base is None or base.id == EMBEDDED_ID else base.id
    return CellSpec(task=record.task.name, task_options=record.task.options, method=record.method.name,
                    method_params=record.method.params, model=model, dtype=base.dtype if base else None, split="offline",
                    limit=record.config.limit, sample_ids=sample_ids, seed=record.config.seed, device=device, warmups=0,
                    repeats=1, out=out)


def rerun_rows(spec: "CellSpec") -> tuple[list[dict[str, Any]], str]:
    """The re-run's sample rows and the hardware it ran on."""
    from harness.running.runner import run

    [outcome] = run([spec])
    rerun = load_record(outcome.record)
    if rerun.status != "complete":
        raise HarnessError(f"the re-run ended {rerun.status} ({rerun.error}): see the messages above")
    return SampleLog(samples_path(rerun, outcome.record)).read(), str(rerun.environment.get("hardware_key", "unknown"))


def verify(path: Path, limit: int, device: str = "auto", atol: float = 0.01, rtol: float = 0.01) -> Verification:
    """Re-run `limit` informative samples of the record's cell and compare them with the record's samples and metrics
    (HarnessError, one line, when it cannot: task code that cannot read the record's rows included)."""
    with rows_guard("verified", path):
        return _verify(path, limit, device, atol, rtol)


def _verify(path: Path, limit: int, device: str, atol: float, rtol: float) -> Verification:
    from harness.contracts.causal_lm import check_model_available

    if limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {limit}")
    record = load_record(path)
    if record.task.split != "offline":
        raise HarnessError(f"{path} was run on split {record.task.split!r}; verify re-runs the offline split only: "
                           "rerun that split yourself with the record's command")
    log_path = samples_path(record, path)
    if log_path is None or not log_path.exists():
        raise HarnessError(f"{path} has no samples file ({record.status} record): there is nothing to compare against")
    problems = Checker().check(path).problems
    rows = SampleLog(log_path).read()
    if not rows:
        raise HarnessError(f"{log_path.name} holds no samples: there is nothing to compare against")
    task = TASKS.get(record.task.name)(record.task.options)
    chosen, uninformative = choose(task, rows, limit, record.config.seed)
    ids = [row["id"] for row in chosen]
    with tempfile.TemporaryDirectory(prefix="harness-verify-") as out:
        spec = cell_spec_for(record, ids, device, out)
        if TASKS.get(record.task.name).spec.uses_model:
            check_model_available(spec.model)
        again, hardware = rerun_rows(spec)
    by_id = {row["id"]: row for row in again}
    recorded = task.metrics_of(chosen, record.config.seed)
    rerun = task.metrics_of([by_id[i] for i in ids if i in by_id], record.config.seed)
    equal = sum(i in by_id and close(by_id[i]["scores"], row["scores"], SCORE_TOLERANCE) for i, row in zip(ids, chosen))
    return Verification(record, ids, equal, compare(recorded, rerun, atol, rtol), hardware, problems, uninformative)
