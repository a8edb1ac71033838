"""Which records are comparable: one board key shared by pairing, the site's boards, grid resume and `validate`.

A record stores every option its task had when it ran. Options added later with a default that keeps behaviour
(a real-data `columns` option, say) are missing from older records, so raw options would split one board in two.
Options and parameters are therefore compared in *canonical form*: completed with the installed task's (method's)
defaults, for display, or, equivalently for comparison, reduced to the values that differ from those defaults,
for keys and hashes (board ids, a configuration's hash in run ids), which then stay the same when an option is
added. An option no longer in the task is kept as it is, and so keeps its board apart; a change of behaviour still
needs a version bump, which the key holds too. A task or method that is not installed is compared as written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from harness.contracts.record import ResultRecord
from harness.contracts.registry import METHODS, TASKS


def canonical(value: object) -> str:
    """A value as compact JSON with sorted keys: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=None)
def _defaults(kind: str, name: str) -> str | None:
    """The installed task's options (method's parameters) at their defaults, as canonical JSON; None if unknown."""
    registry, attribute = (TASKS, "Options") if kind == "task" else (METHODS, "Params")
    if name not in registry.names():
        return None
    try:
        return canonical(getattr(registry.get(name), attribute)().model_dump(mode="json"))
    except Exception:  # noqa: BLE001 - a model without defaults for every field: compare as written
        return None


def _completed(kind: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
    defaults = _defaults(kind, name)
    return dict(values) if defaults is None else {**json.loads(defaults), **values}


def _distinct(kind: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
    defaults = _defaults(kind, name)
    if defaults is None:
        return dict(values)
    default = json.loads(defaults)
    return {k: v for k, v in values.items() if k not in default or canonical(default[k]) != canonical(v)}


def canonical_options(task: str, options: dict[str, Any]) -> dict[str, Any]:
    """A task's options completed with the installed task's defaults."""
    return _completed("task", task, options)


def canonical_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A method's parameters completed with the installed method's defaults."""
    return _completed("method", method, params)


def distinct_options(task: str, options: dict[str, Any]) -> dict[str, Any]:
    """A task's options that differ from the installed task's defaults (equal exactly when the canonical ones are)."""
    return _distinct("task", task, options)


def distinct_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A method's parameters that differ from the installed method's defaults."""
    return _distinct("method", method, params)


@dataclass(frozen=True)
class BoardKey:
    """The setting in which runs are ranked and paired: the same samples (task, version, canonical options, split,
    limit, seed, and the chosen ids of a `verify` re-run), the same base model, the same hardware. Nothing is compared
    across two keys."""

    task: str
    task_version: str
    options: str  # canonical JSON of the options that differ from the defaults
    split: str
    limit: int | None
    seed: int
    subset: str | None  # sha256 of the sorted sample ids a re-run was restricted to; None for the whole selection
    model: str | None
    revision: str | None
    dtype: str | None
    hardware: str

    def id(self) -> str:
        """A short stable name for the board (the site's anchors)."""
        return _digest(self.__dict__)[:10]


def _digest(value: object) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def board_key(record: ResultRecord) -> BoardKey:
    base = record.method.base_model
    ids = record.config.sample_ids
    return BoardKey(task=record.task.name, task_version=record.task.version,
                    options=canonical(distinct_options(record.task.name, record.task.options)),
                    split=record.task.split, limit=record.config.limit, seed=record.config.seed,
                    subset=None if ids is None else _digest(sorted(ids)),
                    model=base.id if base else None, revision=base.revision if base else None,
                    dtype=base.dtype if base else None, hardware=str(record.environment.get("hardware_key", "unknown")))


def same_board(a: ResultRecord, b: ResultRecord) -> bool:
    return board_key(a) == board_key(b)

