"""A record against the installed code: whether its task and method are installed, and whether it is stale.

A record is *stale* when the installed task or method is no longer the code that made it: another task version,
another method version, or a task spec hash that is neither the installed one nor one the task declares equivalent
(`TaskSpec.equivalent_specs`). A stale record may stay in the repository; it is never ranked, and `validate
--changed-since` refuses one that a change adds or modifies.
"""

from __future__ import annotations

import functools
import json

from harness.contracts.provenance import method_provider
from harness.contracts.record import ResultRecord
from harness.contracts.registry import METHODS, TASKS
from harness.contracts.task import TaskSpec
from harness.errors import HarnessError
from harness.records.board_key import canonical


@functools.lru_cache(maxsize=256)
def _task_spec(name: str, options: str) -> tuple[TaskSpec, str]:
    """The installed task's spec with these options (canonical JSON), and its hash."""
    spec = TASKS.get(name)(json.loads(options)).spec
    return spec, spec.spec_hash()


@functools.lru_cache(maxsize=256)
def _method_version(name: str) -> str:
    return str(METHODS.get(name).version)


def not_installed(record: ResultRecord) -> list[str]:
    """The task or method the record names that is not installed here (or no longer accepts its options)."""
    problems = []
    for kind, registry, name in (("task", TASKS, record.task.name), ("method", METHODS, record.method.name)):
        if name not in registry.names():
            problems.append(f"{kind} {name!r} is not installed: a result comes with its code (add the {kind} in the "
                            f"same pull request, or install the package that provides it)")
    if not problems:
        try:
            _task_spec(record.task.name, canonical(record.task.options))
        except (HarnessError, ValueError) as exc:
            problems.append(f"task {record.task.name!r} does not take the record's options ({exc})")
    return problems


def stale_reasons(record: ResultRecord) -> list[str]:
    """How the installed task and method differ from the code that made the record (empty: it is current). A record
    whose task or method is not installed has no reasons here (not_installed names it)."""
    if not_installed(record):
        return []
    spec, spec_hash = _task_spec(record.task.name, canonical(record.task.options))
    reasons = []
    if record.task.version != spec.version:
        reasons.append(f"task {record.task.name} version {record.task.version}, installed {spec.version}")
    elif record.task.spec_hash != spec_hash and record.task.spec_hash not in spec.equivalent_specs:
        reasons.append(f"task {record.task.name} spec {record.task.spec_hash[:12]}, installed {spec_hash[:12]} "
                       "(bump the task's version if results changed, else declare the old hash in equivalent_specs)")
    method_version = _method_version(record.method.name)
    if record.method.version != method_version:
        reasons.append(f"method {record.method.name} version {record.method.version}, installed {method_version}")
    made, installed = record.method.provider, method_provider(record.method.name)
    if made is not None and (installed is None or (made.distribution, made.version) != (installed.distribution, installed.version)):
        reasons.append(f"method {record.method.name} from {made.distribution} {made.version}, installed from "
                       + (f"{installed.distribution} {installed.version}" if installed else "harness itself"))
    return reasons


def provenance_text(record: ResultRecord) -> str:
    """Where a plugin method came from, as one phrase (distribution, version, commit); empty for a built-in method."""
    found = record.method.provider
    if found is None:
        return ""
    commit = f", commit {found.commit[:12]}{' with uncommitted changes' if found.dirty else ''}" if found.commit else ""
    return f"plugin {found.distribution} {found.version}{commit}" + (f" from {found.source}" if found.source else "")


def stale_text(record: ResultRecord) -> str:
    """The reasons as one phrase, empty for a current record."""
    return "; ".join(stale_reasons(record))
