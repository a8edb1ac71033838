"""Lazy name -> class registries for tasks and methods (built-ins plus entry-point plugins)."""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from harness.errors import HarnessError


@dataclass(frozen=True)
class Entry:
    """One registered name: where to import it from, and a summary that needs no import."""

    name: str
    target: str  # "package.module:Attribute"
    family: str = ""
    summary: str = ""
    origin: str = "built-in"
    distribution: str | None = None  # the installed distribution of a plugin (None: built in)

    def load(self) -> Any:
        module_name, _, attr = self.target.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise HarnessError(f"cannot load {self.name!r} from {self.target} ({exc}): reinstall the package that provides it") from exc
        return obj


class Registry:
    """Names of one kind (tasks or methods); nothing is imported until a name is used."""

    def __init__(self, kind: str, group: str, builtins: str):
        self.kind = kind
        self.group = group
        self._builtins_module = builtins
        self._entries: dict[str, Entry] | None = None

    def add(self, entry: Entry, into: dict[str, Entry]) -> None:
        if entry.name in into:
            raise HarnessError(
                f"duplicate {self.kind} name {entry.name!r} ({into[entry.name].target} and {entry.target}): rename one of them"
            )
        into[entry.name] = entry

    @property
    def entries(self) -> dict[str, Entry]:
        if self._entries is None:
            found: dict[str, Entry] = {}
            for entry in importlib.import_module(self._builtins_module).BUILTINS:
                self.add(entry, found)
            for ep in entry_points(group=self.group):
                dist = ep.dist.name if ep.dist else None
                self.add(Entry(ep.name, ep.value, origin=f"plugin ({dist or 'unknown'})", distribution=dist), found)
            self._entries = found
        return self._entries

    def names(self) -> list[str]:
        return sorted(self.entries)

    def entry(self, name: str) -> Entry:
        try:
            return self.entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"known {self.kind}s: {', '.join(self.names())}"
            raise HarnessError(f"unknown {self.kind} {name!r}: {hint} (see `harness list {self.kind}s`)") from None

    def get(self, name: str) -> Any:
        return self.entry(name).load()


TASKS = Registry("task", "harness.tasks", "tasks")
METHODS = Registry("method", "harness.methods", "baselines")
