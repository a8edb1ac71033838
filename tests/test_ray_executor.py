"""The Ray executor, inside a private network namespace (loopback only): a grid's cells run as Ray tasks and the
driver writes what the workers send back. Ray starts once for the whole test run, hermetic: its own temp dir and
session, its own auth token, no inherited RAY_* settings, so what an earlier Ray left on the machine (/tmp/ray,
~/.ray/auth_token, RAY_AUTH_MODE, a cluster still running) changes nothing."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from harness import cli
from harness.errors import HarnessError
from harness.running.executors import RayOptions, _start_ray, ray_join_error
from tests.conftest import harness_cli
from tests.test_cli import records
from tests.test_grid import FAST, metrics_by_config

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'harness[ray]'")
ADDRESS = "127.0.0.1:6390"


class RayCluster(NamedTuple):
    enter: list[str]  # the command prefix that enters the cluster's network namespace
    env: dict[str, str]  # the environment its head was started with: a driver uses it too


def _ray_env(temp_dir: str, token: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (this process's environment) without any RAY_* an earlier session may have exported, plus the test
    cluster's own settings: token auth with a fresh token (RAY_AUTH_TOKEN outranks RAY_AUTH_TOKEN_PATH and
    ~/.ray/auth_token when Ray loads a token) and its private temp dir."""
    kept = {k: v for k, v in (os.environ if base is None else base).items() if not k.upper().startswith("RAY_")}
    return {**kept, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": temp_dir, "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": token}


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


def _stop_namespace(holder: subprocess.Popen, grace_s: float = 10.0) -> None:
    """End every process inside the holder's network namespace (the cluster's, and only those: `ray stop` would
    end every Ray on the machine), then the holder."""
    netns = os.readlink(f"/proc/{holder.pid}/ns/net")
    deadline = time.monotonic() + grace_s
    while True:
        inside = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and int(entry) != holder.pid and os.readlink(f"/proc/{entry}/ns/net") == netns:
                    inside.append(int(entry))
            except OSError:  # gone meanwhile
                pass
        if not inside or time.monotonic() > deadline + 10:  # none left, or only ones that SIGKILL cannot end
            break
        for pid in inside:
            try:
                os.kill(pid, signal.SIGTERM if time.monotonic() < deadline else signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.5)
    holder.kill()
    holder.wait()


@pytest.fixture(scope="session")
def ray_cluster():
    """A one-node Ray cluster inside the namespace with its own temp dir (short: Ray's socket paths live under it)
    and token."""
    holder = _namespace()
    enter = ["nsenter", "-t", str(holder.pid), "-n"]
    temp_dir = tempfile.mkdtemp(prefix="harness-ray-")
    env = _ray_env(temp_dir, secrets.token_hex(32))
    ray_cli = str(Path(sys.executable).with_name("ray"))
    try:
        started = subprocess.run([*enter, ray_cli, "start", "--head", "--node-ip-address=127.0.0.1",
                                  f"--port={ADDRESS.rsplit(':', 1)[1]}", f"--temp-dir={temp_dir}", "--num-cpus=2",
                                  "--include-dashboard=false", "--object-store-memory=200000000",
                                  "--disable-usage-stats"], capture_output=True, text=True, env=env, timeout=180)
        assert started.returncode == 0, (started.stdout + started.stderr)[-2000:]
        yield RayCluster(enter, env)
    finally:
        _stop_namespace(holder)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_ray_grid_writes_the_records_a_local_run_does(ray_cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    grid = ("run", "--method", "naive,seasonal_naive", *FAST)
    assert harness_cli(*grid, "--out", str(local)).returncode == 0
    proc = subprocess.run([*ray_cluster.enter, sys.executable, "-m", "harness.cli", *grid, "--executor", "ray",
                           "--address", ADDRESS, "--cpus-per-cell", "1", "--out", str(remote)],
                          capture_output=True, text=True, timeout=600, env=ray_cluster.env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    placed = [line for line in proc.stdout.splitlines() if " on syntsbench: complete on " in line]
    assert len(placed) == 2, proc.stdout
    assert metrics_by_config(remote) == metrics_by_config(local)
    for path in records(remote):  # the driver wrote the worker's record and samples; they check out
        assert path.with_name(json.loads(path.read_text())["artifacts"]["samples"]).exists()
    assert harness_cli("validate", str(remote)).returncode == 0
    again = subprocess.run([*ray_cluster.enter, sys.executable, "-m", "harness.cli", *grid, "--executor", "ray",
                            "--address", ADDRESS, "--out", str(remote)], capture_output=True, text=True, timeout=600,
                           env=ray_cluster.env)
    assert again.returncode == 0 and again.stdout.count("already complete; kept") == 2, again.stderr[-2000:]


def test_the_test_cluster_ignores_what_an_earlier_ray_left_in_the_environment(tmp_path):
    stale = {"PATH": "/usr/bin", "RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN": "stale",
             "RAY_AUTH_TOKEN_PATH": str(tmp_path / "auth_token"), "RAY_ADDRESS": "10.0.0.1:6379",
             "RAY_TMPDIR": "/tmp", "RAY_gcs_server_port_wait_time_s": "1"}
    env = _ray_env(str(tmp_path), "fresh", stale)
    assert env == {"PATH": "/usr/bin", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(tmp_path),
                   "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "fresh"}


def _raised(outer: BaseException, cause: BaseException | None = None) -> BaseException:
    """`outer` as Ray raises it: with its cause attached."""
    try:
        raise outer from cause
    except BaseException as exc:
        return exc


# What ray.init raised in a private namespace (Ray 2.60), shortened: a ConnectionError whose cause holds the
# last connection error's traceback text.
_GCS = "Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n  File ...\n"
_VERSIONS = ("Version mismatch: The cluster was started with:\n    Ray: 2.60.0\n    Python: 3.11.7\n"
             "This process on node 127.0.0.1 was started with:\n    Ray: 2.59.0\n    Python: 3.11.7\n")
JOIN_FAILURES = {
    "token": (_raised(ConnectionError(f"Failed to connect to Ray cluster at {ADDRESS}"), RuntimeError(
        _GCS + "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is missing "
        "or incorrect. Note: RAY_AUTH_MODE is currently 'disabled' (not 'token').")),
        "token authentication failed", "RAY_AUTH_MODE"),
    "no token": (RuntimeError("Token authentication is enabled but no authentication token was found. Ensure ..."),
                 "token authentication failed", "RAY_AUTH_TOKEN"),
    "version": (RuntimeError(_VERSIONS), "version mismatch: the cluster runs Ray 2.60.0 on Python 3.11.7",
                "pip install 'ray==2.60.0'"),
    "unreachable": (_raised(ConnectionError(f"Failed to connect to Ray cluster at {ADDRESS}"), RuntimeError(
        _GCS + "ray.exceptions.RpcError: Timed out while waiting for GCS to become available.")),
        "no Ray cluster answers there", "ray start --head"),
    "other": (ValueError("When connecting to an existing cluster, num_cpus and num_gpus must not be provided.\nmore"),
              "When connecting to an existing cluster, num_cpus and num_gpus must not be provided.", "provided."),
}


@pytest.mark.parametrize("case", JOIN_FAILURES)
def test_a_failed_join_names_the_cause_ray_gives_and_its_fix(case):
    exc, cause, fix = JOIN_FAILURES[case]
    message = ray_join_error(exc, ADDRESS)
    assert message.startswith(f"cannot join the Ray cluster at {ADDRESS}: {cause}") and fix in message
    assert "\n" not in message and "Traceback" not in message


def test_the_cli_reports_a_refused_join_as_ray_words_it_not_as_a_path_problem(monkeypatch, capsys, tmp_path):
    def refuse(**_):
        raise JOIN_FAILURES["token"][0]

    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(HarnessError, match="token authentication failed"):
        _start_ray(RayOptions())
    code = cli.main(["run", "--method", "naive", *FAST, "--executor", "ray", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot join the Ray cluster at auto: token authentication failed")
    assert "check the path" not in err and len(err.strip().splitlines()) == 1
