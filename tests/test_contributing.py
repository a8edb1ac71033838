"""CONTRIBUTING's walk-through of a method in its own package, followed as a newcomer would: the package is built
from the document's own file blocks, installed, listed, tested with harness's pytest plugin, run, validated and shown."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.conftest import ROOT, harness_cli

GUIDE = ROOT / "CONTRIBUTING.md"
FILE_BLOCK = re.compile(r'```\w+ title="(knorm/[^"]+)"\n(.*?)```', re.S)
COMMANDS = ["pip install -e ./knorm", "harness list methods", "python -m pytest -q knorm/tests",
            "harness run --method full,knorm --task passkey --out my-results", "harness validate my-results",
            "harness site --results my-results --out build/my-site"]
SMALL = ["--task-arg", "lengths=[256]", "--task-arg", "depths=[0.5]", "--repeats", "1", "--warmups", "0"]


def test_the_plugin_walk_through_works_as_written(tmp_path, tiny_model_dir):
    guide = GUIDE.read_text()
    for command in COMMANDS:  # the commands below are the guide's (with a tiny model and a private install)
        assert command in guide, command
    files = FILE_BLOCK.findall(guide)
    assert {name for name, _ in files} == {"knorm/pyproject.toml", "knorm/knorm_policy.py", "knorm/tests/test_knorm.py"}
    for name, text in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    site_packages = tmp_path / "site-packages"  # pip install, into a folder of its own rather than the shared venv
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                                "--target", str(site_packages), str(tmp_path / "knorm")], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(site_packages), str(ROOT)])}

    listed = harness_cli("list", "methods", env=env)
    assert listed.returncode == 0 and "knorm" in listed.stdout and "harness-knorm" in listed.stdout, listed.stderr
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "knorm/tests")],
                            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **env}, timeout=900)
    assert tested.returncode == 0 and "1 passed" in tested.stdout, tested.stdout + tested.stderr
    out = tmp_path / "my-results"
    ran = harness_cli("run", "--method", "full,knorm", "--task", "passkey", "--out", str(out), "--model",
                      str(tiny_model_dir), *SMALL, env=env)
    assert ran.returncode == 0, ran.stderr
    [knorm] = [json.loads(p.read_text()) for p in out.rglob("*.json") if json.loads(p.read_text())["method"]["name"] == "knorm"]
    assert knorm["status"] == "complete" and knorm["method"]["provider"]["distribution"] == "harness-knorm"
    assert knorm["comparison"]["reference"] == "full"  # paired with full on the same board
    checked = harness_cli("validate", str(out), env=env)
    assert checked.returncode == 0 and "method from plugin harness-knorm 0.1.0" in checked.stdout, checked.stderr
    built = harness_cli("site", "--results", str(out), "--out", str(tmp_path / "build/my-site"), env=env)
    assert built.returncode == 0, built.stderr
    assert "knorm" in (tmp_path / "build/my-site/tasks/passkey.html").read_text()
