"""The command that reproduces a record, rebuilt from its configuration (a record's own `config.command` is never shown)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from pydantic import BaseModel, ValidationError

from harness.contracts.causal_lm import EMBEDDED_ID
from harness.contracts.record import ResultRecord
from harness.errors import HarnessError

DEFAULT_WARMUPS, DEFAULT_REPEATS = 1, 3
DEFAULT_DTYPE = {"cpu": "float32", "cuda": "bfloat16"}  # what `harness run` loads a model in without --dtype


def _defaults(registry_name: str, name: str) -> dict[str, Any]:
    """The default options or parameters of a registered task or method ({} when this installation lacks it)."""
    from harness.contracts.registry import METHODS, TASKS

    registry = TASKS if registry_name == "tasks" else METHODS
    try:
        cls = registry.get(name)
    except HarnessError:
        return {}
    model: type[BaseModel] = cls.Options if registry_name == "tasks" else cls.Params
    try:
        return model().model_dump(mode="json")
    except ValidationError:  # required fields: no defaults to leave out
        return {}


def _value(value: Any) -> str:
    """How `--task-arg` / `--method-arg` read the value back: JSON, except plain strings that are not JSON."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, separators=(",", ":"))


def reproduce_command(record: ResultRecord) -> str:
    """`harness run ...` with the record's method, parameters, task, options, model, dtype, split, limit, seed and
    timing repeats; defaults (options and parameters as installed, the device's dtype) are left out, so the command
    is the configuration a plain run had and `--resume` on it finds that run. Every word is shell-quoted."""
    parts = ["harness", "run", "--method", record.method.name, "--task", record.task.name,
             "--split", record.task.split, "--seed", str(record.config.seed)]
    base = record.method.base_model
    if base is not None:
        if base.id != EMBEDDED_ID:
            parts += ["--model", base.id]
        if base.dtype != DEFAULT_DTYPE.get(record.config.device):
            parts += ["--dtype", base.dtype]
    if record.config.limit is not None:
        parts += ["--limit", str(record.config.limit)]
    if record.config.warmups != DEFAULT_WARMUPS:
        parts += ["--warmups", str(record.config.warmups)]
    if record.config.repeats != DEFAULT_REPEATS:
        parts += ["--repeats", str(record.config.repeats)]
    for flag, values, defaults in (("--method-arg", record.method.params, _defaults("methods", record.method.name)),
                                   ("--task-arg", record.task.options, _defaults("tasks", record.task.name))):
        for key, value in sorted(values.items()):
            if key not in defaults or defaults[key] != value:
                parts += [flag, f"{key}={_value(value)}"]
    return shlex.join(parts)
