"""A grid of cells from lists of methods, tasks and models: which pairs run, which options go where, its shards,
and which of its cells are already complete."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contracts.causal_lm import EMBEDDED_ID, default_dtype
from harness.contracts.record import ResultRecord
from harness.contracts.registry import METHODS, TASKS
from harness.errors import HarnessError
from harness.records.board_key import canonical, distinct_options, distinct_params
from harness.records.store import load_record, safe_name
from harness.running.cell import CellSpec


def split_list(values: list[str] | str | None) -> list[str]:
    """`a,b` and repeated flags alike, as one list in order, without repeats or empty names."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else values
    found: list[str] = []
    for item in items:
        for name in item.split(","):
            if name.strip() and name.strip() not in found:
                found.append(name.strip())
    return found


def pair_refusal(method: str, task: str) -> str | None:
    """Why `method` cannot run `task` (one line), or None when it can."""
    method_cls, task_cls = METHODS.get(method), TASKS.get(task)
    if task_cls.spec.requires != method_cls.protocol:
        return (f"method {method!r} ({method_cls.protocol}) cannot run task {task!r}, which needs a "
                f"{task_cls.spec.requires} method: pick a task of that family (see `harness list tasks`)")
    refusal = task_cls.accepts(method_cls)
    return f"task {task!r} does not run method {method!r}: {refusal}" if refusal else None


def default_tasks(method: str) -> tuple[list[str], list[str]]:
    """Every task in the default plan that the method can run, and one line for each task of its protocol that
    declines it."""
    method_cls = METHODS.get(method)
    runnable, notes = [], []
    for name in TASKS.names():
        task_cls = TASKS.get(name)
        if task_cls.spec.requires != method_cls.protocol:
            continue
        refusal = task_cls.accepts(method_cls)
        if refusal:
            notes.append(f"skipping task {name}: {refusal}")
        elif task_cls.default_plan:
            runnable.append(name)
    return runnable, notes


def plan_pairs(methods: list[str], tasks: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The (method, task) pairs to run and a line for each skipped one. One method with tasks named: a task it
    cannot run is an error, as it always was; in a grid of several methods it is skipped where it does not fit,
    and a grid with no runnable pair at all is an error."""
    pairs: list[tuple[str, str]] = []
    notes: list[str] = []
    reasons: list[str] = []
    for method in methods:
        if not tasks:
            runnable, skipped = default_tasks(method)
            pairs += [(method, t) for t in runnable]
            notes += [f"{method}: {line}" if len(methods) > 1 else line for line in skipped]
            if not runnable:
                reasons.append(f"no task accepts method {method!r} ({METHODS.get(method).protocol}) yet")
            continue
        for task in tasks:
            refusal = pair_refusal(method, task)
            if refusal and len(methods) == 1:
                raise HarnessError(refusal)
            if refusal:
                notes.append(f"skipping {method} on {task}: {refusal.split(': ')[0]}")
                reasons.append(refusal)
            else:
                pairs.append((method, task))
    if not pairs:
        if len(reasons) == 1:
            raise HarnessError(reasons[0])
        raise HarnessError(f"no method of {', '.join(methods)} can run any task of this grid ({reasons[0]}): "
                           "pick methods and tasks of one family (see `harness list`)")
    return pairs, notes


def accepted_subset(options: dict[str, Any], fields: dict[str, set[str]], flag: str) -> dict[str, dict[str, Any]]:
    """Give each name the options its fields accept; an option that none accepts is an error."""
    unused = [key for key in options if not any(key in f for f in fields.values())]
    if unused:
        accepted = sorted(set().union(*fields.values()))
        raise HarnessError(f"no {flag} in this run accepts option {unused[0]!r}: accepted options are "
                           f"{', '.join(accepted) or 'none'}")
    return {name: {k: v for k, v in options.items() if k in f} for name, f in fields.items()}


def sweep_points(sweeps: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the swept values (one empty point when nothing is swept), in the order given."""
    keys = list(sweeps)
    return [dict(zip(keys, values)) for values in itertools.product(*(sweeps[k] for k in keys))]


def plan_grid(methods: list[str], tasks: list[str], models: list[str], method_args: dict[str, Any],
              task_args: dict[str, Any], common: dict[str, Any],
              sweeps: dict[str, list[Any]] | None = None) -> tuple[list[CellSpec], list[str]]:
    """Every cell of methods x tasks x models x swept values, method and task options applied where they are accepted
    (a swept key is a method parameter where a method of the grid takes it, else a task option); a task that uses no
    model gets one cell whatever the models. Returns the cells in a stable order and the skipped pairs."""
    pairs, notes = plan_pairs(methods, tasks)
    planned = list(dict.fromkeys(t for _, t in pairs))
    used = list(dict.fromkeys(m for m, _ in pairs))
    method_fields = {m: set(METHODS.get(m).Params.model_fields) for m in used}
    task_fields = {t: set(TASKS.get(t).Options.model_fields) for t in planned}
    for key in sweeps or {}:
        if key in method_args or key in task_args:
            raise HarnessError(f"{key} is both swept and set (--sweep and --method-arg/--task-arg): give it once")
        if not any(key in f for f in (*method_fields.values(), *task_fields.values())):
            raise HarnessError(f"--sweep {key}: no method or task in this run takes {key!r} (see `harness list`)")
    specs: dict[str, CellSpec] = {}
    for point in sweep_points(sweeps or {}):
        to_methods = {k: v for k, v in point.items() if any(k in f for f in method_fields.values())}
        task_options = accepted_subset({**task_args, **{k: v for k, v in point.items() if k not in to_methods}},
                                       task_fields, "task")
        params = accepted_subset({**method_args, **to_methods}, method_fields, "method")
        for method, task in pairs:
            for model in (models or [None]) if TASKS.get(task).spec.uses_model else [None]:
                for options in TASKS.get(task).expand(task_options[task]):
                    spec = CellSpec(task=task, task_options=options, method=method, method_params=params[method],
                                    model=model, **common)
                    specs.setdefault(spec.config_hash(), spec)
    return list(specs.values()), notes


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based): the cells whose configuration hash falls in it."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise HarnessError(f"--shard expects I/N with 1 <= I <= N (for example --shard 1/4), got {text!r}")
        return cls(int(match[1]), int(match[2]))

    def holds(self, spec: CellSpec) -> bool:
        return int(spec.config_hash(), 16) % self.count == self.index - 1


def reference_first(specs: list[CellSpec]) -> list[CellSpec]:
    """Cells of each task's reference method first, so that every other cell finds its reference to pair with."""
    return sorted(specs, key=lambda s: TASKS.get(s.task).reference_method() != s.method)


def runs_configuration(record: ResultRecord, spec: CellSpec) -> bool:
    """Whether a record ran the cell's configuration: options and parameters compared in canonical form (so a record
    made before an option was added still counts), the embedded model and the default dtype as the cell resolves
    them, `auto` matching the device the record ran on."""
    uses_model = TASKS.get(spec.task).spec.uses_model
    base = record.method.base_model
    if uses_model and (base is None or base.id != (spec.model or EMBEDDED_ID)
                       or base.dtype != (spec.dtype or default_dtype(record.config.device))):
        return False
    return (record.task.name == spec.task and record.method.name == spec.method and record.task.split == spec.split
            and record.config.limit == spec.limit and record.config.seed == spec.seed
            and record.config.sample_ids == spec.sample_ids and spec.device in ("auto", record.config.device)
            and canonical(distinct_options(spec.task, record.task.options)) == canonical(distinct_options(spec.task, spec.task_options))
            and canonical(distinct_params(spec.method, record.method.params)) == canonical(distinct_params(spec.method, spec.method_params)))


def complete_record(spec: CellSpec, hardware_keys: set[str] | None) -> Path | None:
    """The newest complete record of the cell's configuration under its results folder, made by the task and method
    versions of today's code on one of `hardware_keys` (None: any); None if there is none."""
    task = TASKS.get(spec.task)(spec.task_options)
    method = METHODS.get(spec.method)(spec.method_params)
    found = []
    for path in (Path(spec.out) / safe_name(spec.task) / safe_name(spec.method)).glob("*/*/*.json"):
        try:
            record = load_record(path)
        except HarnessError:
            continue  # an unreadable record is validate's business; the cell then runs again
        if (record.status == "complete" and record.task.version == task.spec.version
                and record.method.version == method.version and runs_configuration(record, spec)
                and (hardware_keys is None or record.environment.get("hardware_key") in hardware_keys)):
            found.append((record.created_at, path))
    return max(found)[1] if found else None
