"""The Ray executor, inside a private network namespace (loopback only): a grid's cells run as Ray tasks and the
driver writes what the workers send back. Ray starts once for the whole test run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import harness_cli
from tests.test_cli import records
from tests.test_grid import FAST, metrics_by_config

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'harness[ray]'")
ADDRESS = "127.0.0.1:6390"


def _namespace() -> subprocess.Popen:
    """A process holding a new network namespace whose only interface, loopback, is up."""
    if not shutil.which("unshare") or not shutil.which("nsenter"):
        pytest.skip("unshare/nsenter are not installed: the Ray tests need a private network namespace")
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep 3600"],
                              stderr=subprocess.PIPE, text=True)
    for _ in range(50):
        probe = subprocess.run(["nsenter", "-t", str(holder.pid), "-n", "ip", "-o", "link", "show", "up"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and " lo:" in probe.stdout and "eth" not in probe.stdout:
            return holder
        if holder.poll() is not None:
            pytest.skip(f"this machine does not permit a private network namespace ({holder.stderr.read().strip()})")
        time.sleep(0.1)
    holder.kill()
    pytest.skip("the private network namespace did not come up within 5 s")


@pytest.fixture(scope="session")
def ray_cluster():
    """A one-node Ray cluster inside the namespace; yields the command prefix that enters it."""
    holder = _namespace()
    enter = ["nsenter", "-t", str(holder.pid), "-n"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    ray_cli = str(Path(sys.executable).with_name("ray"))
    started = subprocess.run([*enter, ray_cli, "start", "--head", "--node-ip-address=127.0.0.1",
                              f"--port={ADDRESS.rsplit(':', 1)[1]}", "--num-cpus=2", "--include-dashboard=false",
                              "--object-store-memory=200000000", "--disable-usage-stats"],
                             capture_output=True, text=True, env=env, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        yield enter
    finally:
        subprocess.run([*enter, ray_cli, "stop", "--force"], capture_output=True, env=env, timeout=120)
        holder.kill()


def test_a_ray_grid_writes_the_records_a_local_run_does(ray_cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    grid = ("run", "--method", "naive,seasonal_naive", *FAST)
    assert harness_cli(*grid, "--out", str(local)).returncode == 0
    proc = subprocess.run([*ray_cluster, sys.executable, "-m", "harness.cli", *grid, "--executor", "ray",
                           "--address", ADDRESS, "--cpus-per-cell", "1", "--out", str(remote)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    placed = [line for line in proc.stdout.splitlines() if " on syntsbench: complete on " in line]
    assert len(placed) == 2, proc.stdout
    assert metrics_by_config(remote) == metrics_by_config(local)
    for path in records(remote):  # the driver wrote the worker's record and samples; they check out
        assert path.with_name(json.loads(path.read_text())["artifacts"]["samples"]).exists()
    assert harness_cli("validate", str(remote)).returncode == 0
    again = subprocess.run([*ray_cluster, sys.executable, "-m", "harness.cli", *grid, "--executor", "ray",
                            "--address", ADDRESS, "--out", str(remote)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.count("already complete; kept") == 2, again.stderr[-2000:]
