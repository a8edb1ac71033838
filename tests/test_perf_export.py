"""Latency series exported as pyperf JSON that pyperf's own CLI reads and compares; pyperf's stability checks."""

from __future__ import annotations

import subprocess
import sys

from harness.contracts.latency_series import stability_warnings
from tests.conftest import harness_cli
from tests.synthetic import write_passkey_record
from tests.test_cli import one_line_error


def test_export_is_read_by_pyperf_stats_and_compare_to(tmp_path):
    fast = write_passkey_record(tmp_path / "results", "streamingllm", 0.5, 1 << 20, 0.10, run_index=1)
    slow = write_passkey_record(tmp_path / "results", "lacache", 0.5, 1 << 20, 0.30, run_index=2)
    for path, name in ((fast, "a.json"), (slow, "b.json")):
        result = harness_cli("export", str(path), "--pyperf", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(tmp_path / "a.json")], capture_output=True, text=True)
    assert stats.returncode == 0 and "time_to_first_token" in stats.stdout and "Number of value per run: 3" in stats.stdout
    compared = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(tmp_path / "a.json"), str(tmp_path / "b.json")],
                              capture_output=True, text=True)
    assert compared.returncode == 0, compared.stderr
    assert "time_to_first_token" in compared.stdout and "3.00x slower" in compared.stdout


def test_export_of_a_run_without_latency_is_one_line(tmp_path):
    failed = write_passkey_record(tmp_path / "results", "lacache", 0.5, 1 << 20, 0.3, status="failed")
    one_line_error(harness_cli("export", str(failed), "--pyperf", str(tmp_path / "x.json")), "has no latency series to export")
    assert not (tmp_path / "x.json").exists()


def test_stability_follows_pyperf_thresholds():
    assert stability_warnings([0.100, 0.101, 0.099, 0.100]) == []
    assert any("standard deviation" in w for w in stability_warnings([0.1, 0.2, 0.1, 0.2]))
    assert any("maximum" in w for w in stability_warnings([0.1] * 9 + [0.3]))
    assert any("shortest raw value" in w for w in stability_warnings([0.0005, 0.0005, 0.0005]))
