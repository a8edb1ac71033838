"""Shared helpers; the tiny model fixtures (`tiny_model_dir`, `tiny_llm`) come from harness's pytest plugin, harness.testing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tokenizer(tiny_tokenizer):
    """The embedded tokenizer (harness.testing's `tiny_tokenizer`; `tiny_model_dir` and `tiny_llm` come from there too)."""
    return tiny_tokenizer


def harness_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the installed CLI the way a user does."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, cwd=cwd or ROOT,
                          env=full_env, timeout=timeout)


def logged_rows(where: Path) -> list[dict]:
    """The sample rows of a record (a .json path) or of every run under a results folder (in path order), read as
    harness reads them (a complete run's log is stored compressed)."""
    from harness.checks.integrity import samples_path
    from harness.records.store import SampleLog, is_samples_log, load_record

    if where.suffix == ".json":
        return SampleLog(samples_path(load_record(where), where)).read()
    logs = sorted(p for p in where.rglob("*") if is_samples_log(p))
    assert logs, f"no samples log under {where}"
    return [row for log in logs for row in SampleLog(log).read()]


HOSTILE_METHOD = "<script>alert(1)</script>"  # a method name as a hostile contributor's plugin could register it


@pytest.fixture(scope="module")
def hostile_method(tmp_path_factory):
    """A plugin registering SnapKV under HOSTILE_METHOD (a dist-info with entry points), installed for this module: on
    sys.path here and on PYTHONPATH for the CLI's subprocesses."""
    from harness.contracts.registry import METHODS

    root = tmp_path_factory.mktemp("hostile-plugin")
    dist = root / "harness_hostile_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-hostile-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[harness.methods]\n{HOSTILE_METHOD} = baselines.snapkv:SnapKV\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
        patch.setattr(METHODS, "_entries", None)
        assert HOSTILE_METHOD in METHODS.names()
        yield HOSTILE_METHOD
    METHODS._entries = None
