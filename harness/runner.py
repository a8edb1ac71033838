"""Plans the grid of cells for a run and executes each in its own subprocess (crash isolation, honest peak memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.cell import EXIT_BAD_INPUT, CellSpec, base_record, new_run_id
from harness.errors import HarnessError
from harness.models import EMBEDDED_ID
from harness.registry import METHODS, TASKS
from harness.store import cell_dir, ensure_dir, write_record

SIGKILL_EXIT = -9


@dataclass
class CellOutcome:
    """How one cell ended and where its record is."""

    spec: CellSpec
    status: str
    record: Path | None


def plan_tasks(method_name: str, task_names: list[str] | None) -> list[str]:
    """The tasks to run: those asked for (each must suit the method), or every task the method can run."""
    method_cls = METHODS.get(method_name)
    if task_names:
        for name in task_names:
            task_cls = TASKS.get(name)
            if task_cls.spec.requires != method_cls.protocol:
                raise HarnessError(
                    f"method {method_name!r} ({method_cls.protocol}) cannot run task {name!r}, which needs a "
                    f"{task_cls.spec.requires} method: pick a task of that family (see `harness list tasks`)"
                )
            refusal = task_cls.accepts(method_cls)
            if refusal:
                raise HarnessError(f"task {name!r} does not run method {method_name!r}: {refusal}")
        return list(task_names)
    refused = dict(refused_tasks(method_name))
    names = [name for name in TASKS.names() if TASKS.get(name).spec.requires == method_cls.protocol and name not in refused
             and TASKS.get(name).default_plan]
    if not names:
        raise HarnessError(f"no task accepts method {method_name!r} ({method_cls.protocol}) yet")
    return names


def refused_tasks(method_name: str) -> list[tuple[str, str]]:
    """Tasks of the method's protocol that decline it, with their one-line reasons."""
    method_cls = METHODS.get(method_name)
    found = [(name, TASKS.get(name)) for name in TASKS.names()]
    return [(name, task.accepts(method_cls)) for name, task in found
            if task.spec.requires == method_cls.protocol and task.accepts(method_cls)]


def options_per_task(tasks: list[str], options: dict[str, object]) -> dict[str, dict[str, object]]:
    """Give each task the --task-arg options it accepts; an option that no planned task accepts is an error."""
    fields = {name: set(TASKS.get(name).Options.model_fields) for name in tasks}
    unused = [key for key in options if not any(key in f for f in fields.values())]
    if unused:
        accepted = sorted(set().union(*fields.values()))
        raise HarnessError(f"no task in this run accepts option {unused[0]!r}: accepted options are {', '.join(accepted) or 'none'}")
    return {name: {k: v for k, v in options.items() if k in fields[name]} for name in tasks}


def _record_crash(spec: CellSpec, returncode: int) -> Path:
    """A cell process that died without writing its record still leaves one: failed, or oom if it was killed."""
    from harness.environment import capture
    from harness.runtime import resolve_device

    task_cls, method_cls = TASKS.get(spec.task), METHODS.get(spec.method)
    env = capture(resolve_device(spec.device).type)
    status = "oom" if returncode == SIGKILL_EXIT else "failed"
    record = base_record(spec, task_cls(spec.task_options), method_cls(spec.method_params), env, new_run_id(spec), status)
    record.error = f"cell process exited with code {returncode}" + (" (killed: out of memory?)" if status == "oom" else "")
    model_id = spec.model or (EMBEDDED_ID if task_cls.spec.uses_model else None)
    folder = cell_dir(Path(spec.out), spec.task, spec.method, model_id, env["hardware_key"])
    ensure_dir(folder)
    path = folder / f"{record.run_id}.json"
    write_record(path, record)
    return path


def run_cell_subprocess(spec: CellSpec) -> CellOutcome:
    with tempfile.TemporaryDirectory(prefix="harness-cell-") as tmp:
        spec = spec.model_copy(update={"outcome_path": os.path.join(tmp, "outcome.json")})
        # stderr is inherited: the cell's progress bar and any traceback reach the user's terminal directly.
        returncode = subprocess.run([sys.executable, "-m", "harness.cell"], input=spec.model_dump_json(), text=True).returncode
        outcome_file = Path(spec.outcome_path)
        outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else None
    if returncode == EXIT_BAD_INPUT and outcome:
        raise HarnessError(outcome["error"])
    if outcome is None or "record" not in outcome:
        path = _record_crash(spec, returncode)
        return CellOutcome(spec, "oom" if returncode == SIGKILL_EXIT else "failed", path)
    return CellOutcome(spec, outcome["status"], Path(outcome["record"]))


def validate_options(spec: CellSpec) -> None:
    """Check names and options in the parent, so that typos fail before any model loads."""
    TASKS.get(spec.task)(spec.task_options)
    METHODS.get(spec.method)(spec.method_params)


def run(specs: list[CellSpec]) -> list[CellOutcome]:
    for spec in specs:
        validate_options(spec)
    ensure_dir(Path(specs[0].out))
    return [run_cell_subprocess(spec) for spec in specs]
