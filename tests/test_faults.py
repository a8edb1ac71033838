"""Fault injection on real runs: kill -9 at random points, concurrent runs of one cell, a full disk, a corrupted
samples file. Each ends with `harness validate` clean, no finished sample lost and none duplicated.

The runs are the cheapest cell there is (naive forecaster, 4 SynTSBench series); HARNESS_FAULT_WRITE_DELAY slows
every sample and record write so that kills land in the middle of writes too.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.checks.integrity import Checker
from harness.contracts.registry import TASKS
from harness.records.store import SAMPLES_SUFFIX, WRITE_DELAY_ENV, SampleLog, is_samples_log, log_run_id
from tests.conftest import ROOT, harness_cli

CELL = ["run", "--method", "naive", "--task", "syntsbench", "--limit", "4", "--repeats", "1", "--warmups", "0"]
IDS = {sample.id for sample in TASKS.get("syntsbench")().samples("offline", 4, 0)}  # the cell's four samples
SLOW = {WRITE_DELAY_ENV: "0.4"}


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`harness ...` in its own process group, as a user's shell starts it."""
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def snapshot(out: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file() and ".locks" not in p.parts}


def logs(out: Path) -> dict[str, list[str]]:
    """Every run's logged rows' ids, by run id (a truncated last line from a kill mid-write is not a row; a complete
    run's log is stored compressed, and both forms may stand for a moment: the longer counts)."""
    found: dict[str, list[str]] = {}
    for path in (p for p in out.rglob("*") if is_samples_log(p)):
        if path.name.endswith(".gz"):
            ids = [row["id"] for row in SampleLog(path).read()]
        else:
            text = path.read_text()
            lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
            ids = [json.loads(line)["id"] for line in lines]
        run = log_run_id(path)
        found[run] = max(found.get(run, []), ids, key=len)
    return found


def assert_sound(out: Path, before: dict[str, list[str]]) -> dict[str, list[str]]:
    """Validate clean; no samples log lost a finished row or holds one twice; returns the logs now."""
    checker = Checker()
    problems = [line for path in sorted(out.rglob("*.json")) if ".locks" not in path.parts
                for line in checker.check(path).problems]
    assert problems == []
    now = logs(out)
    for name, ids in before.items():
        assert name in now and now[name][:len(ids)] == ids, name  # nothing lost, nothing rewritten
    for name, ids in now.items():
        assert len(ids) == len(set(ids)) and set(ids) <= IDS, name  # nothing duplicated, nothing foreign
    return now


def unfinished(out: Path) -> bool:
    """A samples log without a complete record: what --resume continues."""
    for log in (p for p in out.rglob("*") if is_samples_log(p)):
        record = log.with_name(log_run_id(log) + ".json")
        if not record.exists() or json.loads(record.read_text())["status"] != "complete":
            return True
    return False


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.rglob("*.json")) if ".locks" not in p.parts]


def sizes(out: Path) -> dict[str, int]:
    found = {}
    for path in out.rglob(f"*{SAMPLES_SUFFIX}"):
        try:
            found[path.name] = path.stat().st_size
        except FileNotFoundError:  # a finished run's log is compressed (and removed) between the listing and here
            continue
    return found


def wait_for(proc: subprocess.Popen, ready, timeout: float = 90.0) -> list[int]:
    """Poll until `ready()` or the run ends; the worker pids seen meanwhile."""
    deadline, workers = time.monotonic() + timeout, []
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        workers = children(proc.pid) or workers
        time.sleep(0.02)
    return children(proc.pid) or workers


def kill_point(out: Path, phase: str, rng: random.Random):
    """When to kill: a random moment of start-up, just after a sample row was written (or mid-way through the
    next one), or while a record is being written."""
    if phase == "startup":
        moment = time.monotonic() + rng.uniform(0.2, 3.0)
        return lambda: time.monotonic() > moment
    if phase == "sample":
        before, pause = sizes(out), rng.uniform(0.0, 0.8)
        grown: list[float] = []

        def ready() -> bool:
            if not grown and any(size > before.get(name, 0) for name, size in sizes(out).items()):
                grown.append(time.monotonic())
            return bool(grown) and time.monotonic() > grown[0] + pause
        return ready
    return lambda: any(out.rglob(".*.json.*.tmp"))


def test_kill_9_at_random_points_leaves_nothing_running_and_everything_resumable(tmp_path):
    rng = random.Random(18)
    out = tmp_path / "results"
    seen: dict[str, list[str]] = {}
    phases = ["startup", "sample", "sample", "record", "sample", "record"]
    rng.shuffle(phases)
    for phase in phases:
        proc = spawn(*CELL, "--out", str(out), *(["--resume"] if unfinished(out) else []), env=SLOW)
        workers = wait_for(proc, kill_point(out, phase, rng))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL) if rng.random() < 0.3 else proc.kill()  # the whole group, or the parent
        proc.communicate()
        assert wait_gone(workers) == []  # the worker died with its parent
        quiet = snapshot(out)
        time.sleep(0.5)
        assert snapshot(out) == quiet  # and nothing is written after
        for record in records(out):
            assert record["status"] in ("complete", "partial"), record["error"]
        seen = assert_sound(out, seen)
    while unfinished(out) or not any(r["status"] == "complete" for r in records(out)):
        proc = harness_cli(*CELL, "--out", str(out), *(["--resume"] if unfinished(out) else []))
        assert proc.returncode == 0, proc.stderr
    seen = assert_sound(out, seen)
    complete = [r for r in records(out) if r["status"] == "complete"]
    assert sorted(r["run_id"] for r in complete) == sorted(seen)  # every log was finished, none lost
    assert all(set(ids) == IDS for ids in seen.values()) and all(r["task"]["dataset"]["n_evaluated"] == 4 for r in complete)
    assert len({r["run_id"] for r in records(out)}) == len(records(out))
    nothing = harness_cli(*CELL, "--out", str(out), "--resume")
    assert nothing.returncode == 2 and "nothing to resume" in nothing.stderr
    assert harness_cli("validate", str(out)).returncode == 0


def test_concurrent_runs_of_one_cell_one_writes_the_other_refuses(tmp_path):
    out = tmp_path / "results"
    first, second = spawn(*CELL, "--out", str(out), env=SLOW), spawn(*CELL, "--out", str(out), env=SLOW)
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in (first, second)]
    assert sorted(code for code, _ in results) == [0, 2], results
    [refusal] = [err for code, err in results if code == 2]
    lines = [line for line in refusal.splitlines() if line.strip()]
    assert len(lines) == 1 and "another harness run" in lines[0] and "Traceback" not in refusal
    [record] = records(out)
    assert record["status"] == "complete"
    assert_sound(out, {})
    # --resume takes the lock too: it cannot join a run that is still writing.
    running = spawn(*CELL, "--out", str(out), env={WRITE_DELAY_ENV: "1.5"})
    while len(logs(out)) < 2:  # its worker has claimed its run (the lock is held from before the worker starts)
        time.sleep(0.1)
    joined = harness_cli(*CELL, "--out", str(out), "--resume")
    assert joined.returncode == 2 and "another harness run" in joined.stderr, joined.stderr
    assert running.wait(timeout=120) == 0
    assert len([r for r in records(out) if r["status"] == "complete"]) == 2
    assert_sound(out, {})


def mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a small tmpfs at `where`; the reason when this machine does not allow it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "needs root to mount a small tmpfs (run the suite as root to test a full disk)"
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True)
    return None if proc.returncode == 0 else f"mount -t tmpfs refused: {proc.stderr.strip()}"


def fill(where: Path, leave: int) -> Path:
    """Fill the file system at `where` until `leave` bytes are free."""
    filler = where / "filler"
    stat = os.statvfs(where)
    filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


def test_a_full_disk_is_one_line_and_resumable(tmp_path):
    disk = tmp_path / "disk"
    reason = mount_tmpfs(disk, "2m")
    if reason:
        pytest.skip(reason)
    try:
        out = disk / "results"
        assert harness_cli(*CELL, "--out", str(out)).returncode == 0
        [earlier] = [p for p in out.rglob("*.json") if ".locks" not in p.parts]
        kept = {p: p.read_bytes() for p in earlier.parent.iterdir()}
        for leave in (0, 4096):  # nothing left for the first sample; room for the samples, not for the record
            filler = fill(disk, leave)
            proc = harness_cli(*CELL, "--out", str(out))
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            assert proc.returncode == 2 and len(lines) == 1 and "no space left" in lines[0], proc.stderr
            assert "--resume" in lines[0] and "Traceback" not in proc.stderr
            filler.unlink()
            assert {p: p.read_bytes() for p in kept} == kept  # earlier results untouched
        seen = assert_sound(out, {})
        assert harness_cli(*CELL, "--out", str(out), "--resume").returncode == 0
        assert_sound(out, seen)
        assert [r["status"] for r in records(out)] == ["complete", "complete"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_samples_file_corrupted_mid_way(tmp_path):
    out = tmp_path / "results"
    proc = spawn(*CELL, "--out", str(out), env={WRITE_DELAY_ENV: "0.5"})
    while not any(len(ids) >= 2 for ids in logs(out).values()):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # parent and worker at once: no record, an unfinished samples log
    proc.communicate()
    [log] = list(out.rglob(f"*{SAMPLES_SUFFIX}"))
    lines = log.read_text().splitlines(keepends=True)
    corrupt = lines[0] + lines[1][: len(lines[1]) // 2] + "\n" + "".join(lines[2:])  # a torn row in the middle
    log.write_text(corrupt)
    resumed = harness_cli(*CELL, "--out", str(out), "--resume")
    assert resumed.returncode == 2 and "line 2 is not a sample record" in resumed.stderr and "Traceback" not in resumed.stderr
    assert log.read_text() == corrupt  # left as found, for the user to inspect
    log.rename(tmp_path / log.name)  # the fix the message names: move it away
    nothing = harness_cli(*CELL, "--out", str(out), "--resume")
    assert nothing.returncode == 2 and "nothing to resume" in nothing.stderr
    assert harness_cli(*CELL, "--out", str(out)).returncode == 0
    [record] = records(out)
    assert record["status"] == "complete"
    assert_sound(out, {})
    # A complete record whose samples file is corrupted later is caught, and clean again once restored.
    [complete_log] = [p for p in out.rglob("*") if is_samples_log(p)]
    assert complete_log.name.endswith(".gz")  # a complete run's log is kept compressed
    good = complete_log.read_bytes()
    complete_log.write_bytes(good[: len(good) // 2] + bytes([good[len(good) // 2] ^ 0xFF]) + good[len(good) // 2 + 1:])
    proc = harness_cli("validate", str(out))
    assert proc.returncode == 1 and "is not valid gzip" in proc.stderr and "Traceback" not in proc.stderr
    complete_log.write_bytes(good)
    assert harness_cli("validate", str(out)).returncode == 0


def test_a_stop_just_after_a_row_is_logged_counts_that_row(tmp_path, monkeypatch):
    """The stop lands after the second row reached the log but before the run noted it: the partial record must
    describe the log as it stands, or validate refuses it (a race CI once hit)."""
    from harness.running.cell import CellSpec, run_cell
    from harness.running.lifeline import Interrupted

    appended, append = [], SampleLog.append

    def append_then_stop(log: SampleLog, row: dict) -> None:
        append(log, row)
        appended.append(row["id"])
        if len(appended) == 2:
            raise Interrupted()
    monkeypatch.setattr(SampleLog, "append", append_then_stop)
    status, path = run_cell(CellSpec(task="syntsbench", method="naive", limit=4, warmups=0, repeats=1,
                                     out=str(tmp_path / "results")))
    assert status == "partial" and len(appended) == 2
    record = json.loads(path.read_text())
    assert record["task"]["dataset"]["n_evaluated"] == 2
    assert Checker().check(path).problems == []
