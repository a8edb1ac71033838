"""The core's layering (pyproject.toml's import-linter contracts): each layer of `harness` imports only the layers
below it, no module imports a sibling that imports it back, the core knows no task or method, and tasks and methods
import only the author's layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def lint(config: Path | None = None) -> subprocess.CompletedProcess:
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(linter), *(["--config", str(config)] if config else [])], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_every_import_contract_is_kept():
    found = lint()
    assert found.returncode == 0, found.stdout[-3000:]
    assert "Contracts: 4 kept, 0 broken." in found.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    """The contract binds: the same layers, read as if `harness.records` sat above `harness.site`, are broken by
    today's imports (the site reads records)."""
    text = (ROOT / "pyproject.toml").read_text()
    swapped = text.replace('  "harness.site",\n', "").replace('  "harness.records",\n', '  "harness.records",\n  "harness.site",\n')
    assert swapped != text
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped)
    found = lint(config)
    assert found.returncode == 1 and "harness is layered: a layer imports only the layers below it BROKEN" in found.stdout
