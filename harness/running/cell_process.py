"""One cell in its own worker process: crash isolation and honest peak memory; a worker that dies without a record
still leaves one (failed, or oom when it was killed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.contracts.causal_lm import EMBEDDED_ID
from harness.contracts.registry import METHODS, TASKS
from harness.errors import HarnessError
from harness.records.reproduce import reproduce_command
from harness.records.run_lock import CellLock
from harness.records.store import cell_dir, ensure_dir, write_record
from harness.running.cell import EXIT_BAD_INPUT, CellSpec, base_record, new_run_id

SIGKILL_EXIT = -9


@dataclass
class CellOutcome:
    """How one cell ended and where its record is."""

    spec: CellSpec
    status: str
    record: Path | None


def record_crash(spec: CellSpec, returncode: int) -> Path:
    """A cell process that died without writing its record still leaves one: failed, or oom if it was killed."""
    from harness.contracts.runtime import resolve_device
    from harness.records.environment import capture

    task_cls, method_cls = TASKS.get(spec.task), METHODS.get(spec.method)
    env = capture(resolve_device(spec.device).type)
    status = "oom" if returncode == SIGKILL_EXIT else "failed"
    record = base_record(spec, task_cls(spec.task_options), method_cls(spec.method_params), env, new_run_id(spec), status)
    record.error = f"cell process exited with code {returncode}" + (" (killed: out of memory?)" if status == "oom" else "")
    record.config.command = reproduce_command(record)
    model_id = spec.model or (EMBEDDED_ID if task_cls.spec.uses_model else None)
    folder = cell_dir(Path(spec.out), spec.task, spec.method, model_id, env["hardware_key"])
    ensure_dir(folder)
    path = folder / f"{record.run_id}.json"
    write_record(path, record)
    return path


def run_cell_subprocess(spec: CellSpec) -> CellOutcome:
    """Run one cell in a worker that holds the cell's lock with this process and dies with it."""
    with CellLock(Path(spec.out), spec.lock_name(), f"{spec.method} on {spec.task}") as lock, \
            tempfile.TemporaryDirectory(prefix="harness-cell-") as tmp:
        spec = spec.model_copy(update={"outcome_path": os.path.join(tmp, "outcome.json"), "parent_pid": os.getpid()})
        # stderr is inherited: the cell's progress bar and any traceback reach the user's terminal directly.
        returncode = subprocess.run([sys.executable, "-m", "harness.running.cell"], input=spec.model_dump_json(), text=True,
                                    pass_fds=(lock.fd,)).returncode
        outcome_file = Path(spec.outcome_path)
        outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else None
    if returncode == EXIT_BAD_INPUT and outcome:
        raise HarnessError(outcome["error"])
    if outcome is None or "record" not in outcome:
        path = record_crash(spec, returncode)
        return CellOutcome(spec, "oom" if returncode == SIGKILL_EXIT else "failed", path)
    return CellOutcome(spec, outcome["status"], Path(outcome["record"]))
