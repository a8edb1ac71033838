"""`harness verify`: re-run a recorded cell on the offline split with a small limit and compare its metrics."""

from __future__ import annotations

import math
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.integrity import samples_path
from harness.models import EMBEDDED_ID
from harness.record import MetricValue, ResultRecord
from harness.registry import TASKS
from harness.store import SampleLog, load_record

if TYPE_CHECKING:
    from harness.cell import CellSpec


@dataclass
class MetricCheck:
    """One metric on the re-run samples: as recorded, as re-run, and whether they agree within tolerance."""

    name: str
    recorded: float
    rerun: float
    agrees: bool


@dataclass
class Verification:
    """The outcome of re-running a record's first samples."""

    record: ResultRecord
    n_samples: int
    identical_scores: int
    checks: list[MetricCheck]
    rerun_hardware: str

    @property
    def agrees(self) -> bool:
        return all(c.agrees for c in self.checks)


def within(recorded: float, rerun: float, atol: float, rtol: float) -> bool:
    return math.isclose(recorded, rerun, abs_tol=atol, rel_tol=rtol)


def compare(recorded: dict[str, MetricValue], rerun: dict[str, MetricValue], atol: float, rtol: float) -> list[MetricCheck]:
    return [MetricCheck(name, m.value, rerun[name].value, within(m.value, rerun[name].value, atol, rtol))
            if name in rerun else MetricCheck(name, m.value, math.nan, False) for name, m in recorded.items()]


def cell_spec_for(record: ResultRecord, limit: int, device: str, out: str, command: str) -> "CellSpec":
    from harness.cell import CellSpec

    base = record.method.base_model
    model = None if base is None or base.id == EMBEDDED_ID else base.id
    return CellSpec(task=record.task.name, task_options=record.task.options, method=record.method.name,
                    method_params=record.method.params, model=model, dtype=base.dtype if base else None, split="offline",
                    limit=limit, seed=record.config.seed, device=device, warmups=0, repeats=1, out=out, command=command)


def verify(path: Path, limit: int, device: str = "auto", atol: float = 0.01, rtol: float = 0.01) -> Verification:
    """Re-run the record's cell on its first `limit` offline samples and compare metrics on exactly those samples."""
    from harness.models import check_model_available
    from harness.runner import run

    if limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {limit}")
    record = load_record(path)
    if record.task.split != "offline":
        raise HarnessError(f"{path} was run on split {record.task.split!r}; verify re-runs the offline split only: "
                           "rerun that split yourself with the record's command")
    log_path = samples_path(record, path)
    if log_path is None or not log_path.exists():
        raise HarnessError(f"{path} has no samples file ({record.status} record): there is nothing to compare against")
    recorded_rows = {row["id"]: row for row in SampleLog(log_path).read()}
    command = shlex.join(["harness", "verify", str(path), "--limit", str(limit)])
    with tempfile.TemporaryDirectory(prefix="harness-verify-") as out:
        spec = cell_spec_for(record, limit, device, out, command)
        if TASKS.get(record.task.name).spec.uses_model:
            check_model_available(spec.model)
        [outcome] = run([spec])
        rerun = load_record(outcome.record)
        if rerun.status != "complete":
            raise HarnessError(f"the re-run ended {rerun.status} ({rerun.error}): see the messages above")
        rerun_rows = SampleLog(samples_path(rerun, outcome.record)).read()
    shared = [row for row in rerun_rows if row["id"] in recorded_rows]
    if not shared:
        raise HarnessError(f"none of the first {limit} offline samples is in {log_path.name}: the task changed since the record was made")
    task = TASKS.get(record.task.name)(record.task.options)
    recorded = task.metrics_of([recorded_rows[row["id"]] for row in shared], record.config.seed)
    again = task.metrics_of(shared, record.config.seed)
    identical = sum(row["scores"] == recorded_rows[row["id"]]["scores"] for row in shared)
    return Verification(record, len(shared), identical, compare(recorded, again, atol, rtol),
                        str(rerun.environment.get("hardware_key", "unknown")))
