"""Runs a list of cells on an executor: checks names and options first, continues unfinished runs under --resume,
keeps complete ones in a grid (`harness.running.grid` plans the grid itself)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.contracts.registry import METHODS, TASKS
from harness.errors import HarnessError
from harness.records.store import ensure_dir, safe_name
from harness.running.cell import CellSpec, finished, record_beside, run_logs
from harness.running.cell_process import CellOutcome

if TYPE_CHECKING:
    from harness.running.executors import RayOptions


def normalised(spec: CellSpec) -> CellSpec:
    """Check names and options in the parent, so that typos fail before any model loads, and fill in the defaults
    (the worker does the same, so both compute one configuration hash, the lock's and the run id's)."""
    task = TASKS.get(spec.task)(spec.task_options)
    method = METHODS.get(spec.method)(spec.method_params)
    return spec.model_copy(update={"task_options": task.options_dict(), "method_params": method.params_dict()})


def resume_plan(specs: list[CellSpec]) -> list[CellSpec | CellOutcome]:
    """Under --resume: continue unfinished cells, keep complete ones, start the others, and say which is which;
    a run with nothing unfinished at all is one line, exit 2."""
    from harness.records.terminal import console

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
    from harness.records.terminal import console
    from harness.running.grid import complete_record

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
    from harness.running.executors import RayOptions, run_local, run_ray

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
    from harness.contracts.runtime import resolve_device
    from harness.records.environment import hardware_key

    return {hardware_key(resolve_device(device).type) for device in {spec.device for spec in specs}}
