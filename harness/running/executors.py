"""Where a grid's cells run: one after another on this machine (`local`), or as Ray tasks on a cluster (`ray`).

Either way each cell is the unchanged cell process (`python -m harness.running.cell`); a Ray worker runs it in a scratch
folder and sends back the files it wrote, which the driver writes into its own results folder, so the cluster
needs no shared filesystem."""

from __future__ import annotations

import re
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contracts.registry import TASKS
from harness.errors import HarnessError
from harness.records.run_lock import CellLock
from harness.records.store import ensure_dir, is_samples_log, result_files, safe_name, write_text_atomic
from harness.running.cell import CellSpec
from harness.running.cell_process import CellOutcome, run_cell_subprocess

EXECUTORS = ("local", "ray")


@dataclass
class Placement:
    """Where and how long one cell ran (the grid log's line)."""

    spec: CellSpec
    node: str
    wall_s: float
    status: str


@dataclass
class RayOptions:
    """How the Ray executor reaches its cluster and what each cell asks of it."""

    address: str | None = None
    cpus_per_cell: float = 1.0
    gpus_per_cell: float = 0.0
    placements: list[Placement] = field(default_factory=list)


def run_local(specs: list[CellSpec]) -> list[CellOutcome]:
    """Today's behaviour: each cell in its own subprocess, one after another."""
    return [run_cell_subprocess(spec) for spec in specs]


def check_address(address: str, timeout_s: float = 5.0) -> None:
    """One line when a Ray address cannot be reached, before Ray itself retries for a minute."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise HarnessError(f"--address expects HOST:PORT (for example 127.0.0.1:6379) or auto, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise HarnessError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}): start it with "
                           "`ray start --head` or give the head's address") from None


def reference_inputs(spec: CellSpec, out: Path) -> dict[str, bytes]:
    """The records (and samples) of the task's reference method, which the cell pairs its run with."""
    reference = TASKS.get(spec.task).reference_method()
    if reference is None or reference == spec.method:
        return {}
    folder = out / safe_name(spec.task) / safe_name(reference)
    if not folder.is_dir():
        return {}
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and (p.suffix == ".json" or is_samples_log(p))}


def run_in_scratch(spec_json: str, inputs: dict[str, bytes]) -> dict[str, Any]:
    """A Ray worker's job: run the cell in a scratch results folder holding `inputs`; return what it wrote."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="harness-ray-") as tmp:
        root = Path(tmp)
        for rel, data in inputs.items():
            ensure_dir((root / rel).parent)
            (root / rel).write_bytes(data)
        spec = CellSpec.model_validate_json(spec_json).model_copy(update={"out": tmp})
        try:
            outcome = run_cell_subprocess(spec)
        except HarnessError as exc:
            return {"error": str(exc)}
        record = outcome.record.relative_to(root).as_posix() if outcome.record else None
        return {"status": outcome.status, "record": record, "files": {rel: path.read_bytes() for rel, path in result_files(root).items()
                          if rel not in inputs},
                "node": socket.gethostname(), "wall_s": time.monotonic() - started}


def write_returned(out: Path, files: dict[str, bytes]) -> None:
    """Write a worker's files into the driver's results folder; never replace a file that differs."""
    for rel, data in files.items():
        path = out / rel
        if path.exists() and path.read_bytes() != data:
            raise HarnessError(f"{path} already exists with other content: a worker's file would replace it; "
                               "run the grid into an empty --out folder and `harness merge` it")
    for rel, data in files.items():
        ensure_dir((out / rel).parent)
        if not (out / rel).exists():
            write_text_atomic(out / rel, data)


# Why `ray.init` could not join a cluster, as Ray words it (searched in the exception and its causes; the first
# match wins), and the fix; anything else keeps Ray's own first line.
RAY_JOIN_ERRORS = (
    (r"(?i)InvalidAuthToken|authentication token",
     "token authentication failed (this process has no token or not the cluster's): give it the cluster's "
     "token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token) and RAY_AUTH_MODE=token, or start the "
     "cluster and run this with RAY_AUTH_MODE=disabled"),
    (r"Version mismatch: The cluster was started with:\s+Ray: (\S+)\s+Python: (\S+)",
     "version mismatch: the cluster runs Ray {0} on Python {1} and this process does not: install the "
     "cluster's versions here (pip install 'ray=={0}' on Python {1})"),
    (r"Timed out while waiting for GCS|Failed to connect to GCS",
     "no Ray cluster answers there: start one with `ray start --head` or check the address (the head's GCS port)"),
)


def ray_join_error(exc: BaseException, address: str | None) -> str:
    """One line for a failed `ray.init`: the cause Ray gives and its fix (RAY_JOIN_ERRORS)."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    text = "\n".join(str(e) for e in chain)
    for pattern, message in RAY_JOIN_ERRORS:
        if match := re.search(pattern, text):
            cause = message.format(*match.groups())
            break
    else:
        cause = next((line.strip() for line in str(chain[0]).splitlines() if line.strip()), type(chain[0]).__name__)
    return f"cannot join the Ray cluster at {address or 'auto'}: {cause}"


def _start_ray(options: RayOptions) -> Any:
    if options.address:
        check_address(options.address)
    try:
        import ray
    except ImportError:
        raise HarnessError("--executor ray needs Ray: pip install 'harness[ray]' (or pip install ray)") from None
    try:
        ray.init(address=options.address, log_to_driver=False, include_dashboard=False, configure_logging=False)
    except Exception as exc:  # a ConnectionError would otherwise reach the CLI's OSError (path) handler
        raise HarnessError(ray_join_error(exc, options.address)) from None
    return ray


def run_ray(specs: list[CellSpec], options: RayOptions) -> list[CellOutcome]:
    """Each cell a Ray task asking for its CPUs and GPUs; reference cells first (the others pair with them);
    one progress bar for the grid; the driver holds every cell's lock while its task runs."""
    from rich.progress import Progress

    from harness.records.terminal import console

    ray = _start_ray(options)
    remote = ray.remote(run_in_scratch).options(num_cpus=options.cpus_per_cell, num_gpus=options.gpus_per_cell,
                                                max_retries=0)
    out = Path(specs[0].out)
    waves = [[s for s in specs if TASKS.get(s.task).reference_method() == s.method],
             [s for s in specs if TASKS.get(s.task).reference_method() != s.method]]
    outcomes: dict[str, CellOutcome] = {}
    try:
        with Progress(console=console, transient=False) as bar:
            job = bar.add_task(f"grid on Ray ({len(specs)} cells)", total=len(specs))
            for wave in (w for w in waves if w):
                locks: list[CellLock] = []
                try:
                    for s in wave:
                        locks.append(CellLock(out, s.lock_name(), f"{s.method} on {s.task}").acquire())
                    pending = {remote.remote(s.model_dump_json(), reference_inputs(s, out)): s for s in wave}
                    while pending:
                        done, _ = ray.wait(list(pending), num_returns=1)
                        spec = pending.pop(done[0])
                        result = ray.get(done[0])
                        if "error" in result:
                            raise HarnessError(result["error"])
                        write_returned(out, result["files"])
                        record = out / result["record"] if result["record"] else None
                        outcomes[spec.config_hash()] = CellOutcome(spec, result["status"], record)
                        options.placements.append(Placement(spec, result["node"], result["wall_s"], result["status"]))
                        console.print(f"{spec.method} on {spec.task}: {result['status']} on {result['node']} "
                                      f"in {result['wall_s']:.1f} s")
                        bar.advance(job)
                finally:
                    for lock in locks:
                        lock.release()
    finally:
        ray.shutdown()
    return [outcomes[s.config_hash()] for s in specs if s.config_hash() in outcomes]
