"""The registry: lazy built-ins, did-you-mean, duplicate names, entry-point plugins."""

import subprocess
import sys

import pytest

from harness.contracts.registry import METHODS, TASKS, Entry, Registry
from harness.errors import HarnessError


def test_builtins_are_listed_without_importing_torch():
    code = "import sys; from harness.contracts.registry import TASKS, METHODS; TASKS.names(); METHODS.names(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_names_and_loading():
    assert {"passkey", "niah_multikey", "long_ppl"} <= set(TASKS.names())
    assert {"full", "streamingllm", "lacache", "snapkv"} <= set(METHODS.names())
    assert METHODS.get("lacache").name == "lacache"


def test_unknown_name_suggests_close_matches():
    with pytest.raises(HarnessError, match="did you mean lacache"):
        METHODS.get("lacach")
    with pytest.raises(HarnessError, match="known tasks"):
        TASKS.get("zzz")


def test_duplicate_names_are_rejected():
    registry = Registry("method", "harness.methods", "baselines")
    found: dict[str, Entry] = {}
    registry.add(Entry("x", "a:b"), found)
    with pytest.raises(HarnessError, match="duplicate method name 'x'"):
        registry.add(Entry("x", "c:d"), found)


def test_entry_point_plugins_join_the_registry(monkeypatch):
    from importlib.metadata import EntryPoint

    import harness.contracts.registry as registry_module

    def fake_entry_points(group):
        return [EntryPoint("my_policy", "baselines.full:FullCache", group)] if group == "harness.methods" else []

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    registry = Registry("method", "harness.methods", "baselines")
    assert registry.get("my_policy").name == "full"
    assert registry.entry("my_policy").origin.startswith("plugin")

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [EntryPoint("lacache", "x:y", group)])
    with pytest.raises(HarnessError, match="duplicate method name 'lacache'"):
        Registry("method", "harness.methods", "baselines").names()
