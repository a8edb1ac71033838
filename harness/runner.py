"""Plans the grid of cells for a run and executes each in its own subprocess (crash isolation, honest peak memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cell import EXIT_BAD_INPUT, CellSpec, base_record, finished, new_run_id, record_beside, run_logs
from harness.errors import HarnessError
from harness.lock import CellLock
from harness.models import EMBEDDED_ID
from harness.registry import METHODS, TASKS
from harness.reproduce import reproduce_command
from harness.store import cell_dir, ensure_dir, safe_name, write_record

SIGKILL_EXIT = -9

if TYPE_CHECKING:
    from harness.executors import RayOptions


@dataclass
class CellOutcome:
    """How one cell ended and where its record is."""

    spec: CellSpec
    status: str
    record: Path | None


def _record_crash(spec: CellSpec, returncode: int) -> Path:
    """A cell process that died without writing its record still leaves one: failed, or oom if it was killed."""
    from harness.environment import capture
    from harness.runtime import resolve_device

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
        returncode = subprocess.run([sys.executable, "-m", "harness.cell"], input=spec.model_dump_json(), text=True,
                                    pass_fds=(lock.fd,)).returncode
        outcome_file = Path(spec.outcome_path)
        outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else None
    if returncode == EXIT_BAD_INPUT and outcome:
        raise HarnessError(outcome["error"])
    if outcome is None or "record" not in outcome:
        path = _record_crash(spec, returncode)
        return CellOutcome(spec, "oom" if returncode == SIGKILL_EXIT else "failed", path)
    return CellOutcome(spec, outcome["status"], Path(outcome["record"]))


def normalised(spec: CellSpec) -> CellSpec:
    """Check names and options in the parent, so that typos fail before any model loads, and fill in the defaults
    (the worker does the same, so both compute one configuration hash, the lock's and the run id's)."""
    task = TASKS.get(spec.task)(spec.task_options)
    method = METHODS.get(spec.method)(spec.method_params)
    return spec.model_copy(update={"task_options": task.options_dict(), "method_params": method.params_dict()})


def resume_plan(specs: list[CellSpec]) -> list[CellSpec | CellOutcome]:
    """Under --resume: continue unfinished cells, keep complete ones, start the others, and say which is which;
    a run with nothing unfinished at all is one line, exit 2."""
    from harness.report import console

    plan: list[CellSpec | CellOutcome] = []
    unfinished = 0
    for spec in specs:
        logs = run_logs(Path(spec.out) / safe_name(spec.task) / safe_name(spec.method), spec, "*/*/")
        if any(not finished(log) for log in logs):
            unfinished += 1
            plan.append(spec)
        elif logs:
            record = record_beside(logs[0])
            console.print(f"{spec.task}: run {record.stem} is already complete; kept")
            plan.append(CellOutcome(spec, "complete", record))
        else:
            console.print(f"{spec.task}: nothing to resume; starting it")
            plan.append(spec.model_copy(update={"resume": False}))
    if not unfinished:
        names = ", ".join(s.task for s in specs)
        raise HarnessError(f"nothing to resume in {specs[0].out}: no unfinished run of {specs[0].method} on {names} "
                           "with this configuration; run without --resume")
    return plan


def keep_complete(specs: list[CellSpec], hardware_keys: set[str] | None) -> list[CellSpec | CellOutcome]:
    """A grid resumes: a cell that already has a complete record of its configuration (today's task and method
    versions, this hardware) is kept, the others run."""
    from harness.grid import complete_record
    from harness.report import console

    plan: list[CellSpec | CellOutcome] = []
    for spec in specs:
        found = complete_record(spec, hardware_keys)
        if found is None:
            plan.append(spec)
        else:
            console.print(f"{spec.method} on {spec.task}: run {found.stem} is already complete; kept (--rerun runs it again)")
            plan.append(CellOutcome(spec, "complete", found))
    return plan


def run(specs: list[CellSpec], skip_complete: bool = False, executor: str = "local",
        ray_options: "RayOptions | None" = None) -> list[CellOutcome]:
    """Run the cells on the executor; under --resume continue unfinished ones; in a grid keep complete ones."""
    from harness.executors import RayOptions, run_local, run_ray

    specs = [normalised(spec) for spec in specs]
    ensure_dir(Path(specs[0].out))
    if specs[0].resume:
        plan = resume_plan(specs)
    elif skip_complete:
        plan = keep_complete(specs, local_hardware_keys(specs) if executor == "local" else None)
    else:
        plan = list(specs)
    pending = [step for step in plan if isinstance(step, CellSpec)]
    if not pending:
        ran = []
    else:
        ran = run_local(pending) if executor == "local" else run_ray(pending, ray_options or RayOptions())
    by_hash = {outcome.spec.config_hash(): outcome for outcome in ran}
    return [step if isinstance(step, CellOutcome) else by_hash[step.config_hash()] for step in plan
            if isinstance(step, CellOutcome) or step.config_hash() in by_hash]


def local_hardware_keys(specs: list[CellSpec]) -> set[str]:
    """The hardware keys this machine records under for the cells' devices."""
    from harness.environment import hardware_key
    from harness.runtime import resolve_device

    return {hardware_key(resolve_device(device).type) for device in {spec.device for spec in specs}}
