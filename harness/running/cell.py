"""One cell (task x method x model x hardware), run inside its own subprocess by the runner.

Usage (internal): python -m harness.running.cell < cell-spec.json
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from harness.contracts.provenance import method_provider
from harness.contracts.record import (
    Artifacts,
    BaseModelInfo,
    Comparison,
    DatasetInfo,
    HarnessInfo,
    MethodInfo,
    Performance,
    ResultRecord,
    RunConfig,
    Status,
    TaskInfo,
)
from harness.contracts.task import Sample
from harness.errors import HarnessError
from harness.records.board_key import distinct_options, distinct_params
from harness.records.paired import compare_with, find_reference
from harness.records.reproduce import reproduce_command
from harness.records.store import (
    COMPRESSED_SUFFIX,
    SAMPLES_SUFFIX,
    SampleLog,
    cell_dir,
    ensure_dir,
    load_record,
    log_run_id,
    safe_name,
    samples_sha256,
    store_compressed,
    write_record,
)
from harness.running.lifeline import Interrupted, bind_to_parent

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


class CellSpec(BaseModel):
    """Everything that defines a cell; its hash names the run so that --resume finds it again."""

    task: str
    task_options: dict[str, Any] = Field(default_factory=dict)
    method: str
    method_params: dict[str, Any] = Field(default_factory=dict)
    model: str | None = None
    dtype: str | None = None
    split: str = "offline"
    limit: int | None = None
    seed: int = 0
    device: str = "auto"
    warmups: int = 1
    repeats: int = 3
    out: str = "results"
    resume: bool = False
    sample_ids: list[str] | None = None  # only these samples of the split (harness verify's informative choice)
    outcome_path: str | None = None
    parent_pid: int | None = None  # the worker stops when this process is gone

    def config_hash(self) -> str:
        """Options and parameters enter in canonical form (harness.records.board_key), so that an option added later with a
        default that keeps behaviour leaves the hash, and so the runs --resume finds, as they were."""
        keys = {"task", "method", "model", "dtype", "split", "limit", "seed", "device"}
        if self.sample_ids is not None:
            keys.add("sample_ids")
        identity = {**self.model_dump(include=keys), "task_options": distinct_options(self.task, self.task_options),
                    "method_params": distinct_params(self.method, self.method_params)}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]

    def lock_name(self) -> str:
        """The cell's lock in its results folder: task, method and configuration."""
        return f"{safe_name(self.task)}--{safe_name(self.method)}--{self.config_hash()}"


def new_run_id(spec: CellSpec) -> str:
    """Time to the second, 48 random bits, the configuration hash: unique even for identical runs started together."""
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(6)}-{spec.config_hash()}"


def run_logs(root: Path, spec: CellSpec, pattern: str = "") -> list[Path]:
    """Samples logs (plain or compressed) of this exact configuration under `root` (`pattern` adds folder levels),
    newest first."""
    found = [p for suffix in (SAMPLES_SUFFIX, COMPRESSED_SUFFIX) for p in root.glob(f"{pattern}*-{spec.config_hash()}{suffix}")]
    return sorted(found, key=lambda p: p.name, reverse=True)


def record_beside(log: Path) -> Path:
    """The record path of the run that wrote this samples log."""
    return log.with_name(log_run_id(log) + ".json")


def finished(log: Path) -> bool:
    """Whether the run that wrote this samples log has a complete record."""
    record = record_beside(log)
    return record.exists() and load_record(record).status == "complete"


def resumable_run(folder: Path, spec: CellSpec) -> str | None:
    """The newest run of this exact configuration whose samples were logged but whose record is not complete."""
    for log in run_logs(folder, spec):
        if not finished(log):
            return log_run_id(log)
    return None


def open_run(folder: Path, spec: CellSpec) -> str:
    """The run to write: the unfinished one under --resume, else a fresh id claimed atomically."""
    if spec.resume:
        found = resumable_run(folder, spec)
        if found is None:
            raise HarnessError(f"nothing to resume in {folder}: no unfinished run of this configuration; run without --resume")
        return found
    while True:
        run_id = new_run_id(spec)
        if SampleLog(folder / f"{run_id}{SAMPLES_SUFFIX}").claim():
            return run_id


def base_record(spec: CellSpec, task: Any, method: Any, env: dict[str, Any], run_id: str, status: Status) -> ResultRecord:
    from harness.records.environment import harness_info

    task_spec = task.spec  # the instance's: its metrics may depend on the options
    provider = method_provider(method.name)
    if provider is not None:  # the plugin's distribution is listed with the packages the run used
        env = {**env, "packages": {**env.get("packages", {}), provider.distribution: provider.version}}
    return ResultRecord(
        run_id=run_id, created_at=datetime.now(timezone.utc), status=status, harness=HarnessInfo(**harness_info()),
        task=TaskInfo(name=task_spec.name, version=task_spec.version, family=task_spec.family, split=spec.split,
                      spec_hash=task_spec.spec_hash(), options=task.options_dict(), protocol=task.protocol()),
        method=MethodInfo(name=method.name, version=method.version, family=method.family, params=method.params_dict(),
                          provider=provider),
        config=RunConfig(seed=spec.seed, limit=spec.limit, sample_ids=spec.sample_ids, device=env["device"],
                         warmups=spec.warmups, repeats=spec.repeats, command=""),
        main_metric=task_spec.main_metric, environment=env,
    )


def compare_with_reference(task: Any, method_name: str, record: ResultRecord, rows: list[dict[str, Any]], path: Path,
                           out: Path, model_id: str | None, hardware_key: str, seed: int) -> Comparison | None:
    """Pair this run with the newest complete run of the task's reference method on the same board, if there is one."""
    reference = type(task).reference_method()
    if reference is None or reference == method_name:
        return None
    found = find_reference(record, cell_dir(out, record.task.name, reference, model_id, hardware_key))
    try:
        return None if found is None else compare_with(task, rows, path, *found, seed)
    except HarnessError as exc:  # an unreadable reference costs the comparison, never this run's record
        print(f"warning: not paired with {reference}: {exc}", file=sys.stderr)
        return None


def select_samples(samples: list[Sample], ids: list[str] | None) -> list[Sample]:
    """The split's samples, or only those named (in split order); an unknown id is an error."""
    if ids is None:
        return samples
    known = {s.id for s in samples}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise HarnessError(f"sample {unknown[0]!r} is not in this split: the task changed since the record was made")
    wanted = set(ids)
    return [s for s in samples if s.id in wanted]


def full_disk(folder: Path, done: int) -> HarnessError:
    return HarnessError(f"no space left on the device holding {folder}: free some space, then rerun with --resume "
                        f"(the {done} finished sample(s) are kept)")


def run_cell(spec: CellSpec) -> tuple[Status, Path]:
    import torch

    from harness.contracts.meter import Meter
    from harness.contracts.registry import METHODS, TASKS
    from harness.contracts.runtime import Runtime, resolve_device, seed_everything
    from harness.records.environment import capture

    task_cls, method_cls = TASKS.get(spec.task), METHODS.get(spec.method)
    task, method = task_cls(spec.task_options), method_cls(spec.method_params)
    spec.task_options, spec.method_params = task.options_dict(), method.params_dict()
    device = resolve_device(spec.device)
    env = capture(device.type)
    seed_everything(spec.seed)
    runtime = Runtime(device=device, seed=spec.seed, split=spec.split, model_id=spec.model, dtype=spec.dtype)
    meter = Meter(device, spec.warmups, spec.repeats)
    meter.reset_peak()

    samples = select_samples(task.samples(spec.split, spec.limit, spec.seed), spec.sample_ids)
    task.check(method, runtime, samples)
    model_id = runtime.llm.id if task_cls.spec.uses_model else spec.model
    folder = cell_dir(Path(spec.out), task_cls.spec.name, method.name, model_id, env["hardware_key"])
    ensure_dir(folder)
    run_id = open_run(folder, spec)
    log = SampleLog(folder / f"{run_id}{SAMPLES_SUFFIX}")
    done = {row["id"]: row for row in log.read()}
    # A resumed run's earlier record no longer describes its samples once they change: until this run writes
    # its own, the samples log alone is what --resume continues.
    (folder / f"{run_id}.json").unlink(missing_ok=True)
    log.repair_tail()
    task.prepare(method, runtime)
    fit_started = time.perf_counter()
    task.fit(method, runtime)
    fit_seconds = time.perf_counter() - fit_started

    status: Status = "complete"
    error = None
    performance = Performance()
    try:
        from harness.running.progress import CellProgress

        todo = [s for s in samples if s.id not in done]
        with CellProgress(f"{task_cls.spec.name} / {method.name}", len(samples), len(samples) - len(todo)) as progress:
            for sample in todo:
                output = task.predict(sample, method, runtime)
                row = {"id": sample.id, "output": output, "scores": task.score(sample, output), "meta": sample.meta}
                log.append(row)
                done[sample.id] = row
                progress.advance()
        measured = task.measure(method, runtime, samples, meter)
        memory = meter.peak_memory()
        memory.kv_cache = measured.kv_cache
        memory.parameter_bytes = measured.parameter_bytes
        latency = {**measured.latency, "fit": meter.latency([fit_seconds], warmups=0)} if task.fits() else measured.latency
        performance = Performance(latency=latency, throughput=measured.throughput, memory=memory)
    except (torch.cuda.OutOfMemoryError, MemoryError) as exc:
        status, error = "oom", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'out of memory'}"
    except Interrupted:
        status, error = "partial", "stopped from outside (the harness run ended); rerun with --resume to finish"
    except KeyboardInterrupt:
        status, error = "partial", "interrupted by the user; rerun with --resume to finish"
    except HarnessError:
        raise
    except OSError as exc:
        if exc.errno in FULL_DISK:
            raise full_disk(folder, len(done)) from None
        traceback.print_exc()
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a failing cell is a result, not a crash of the whole run
        traceback.print_exc()
        status, error = "failed", f"{type(exc).__name__}: {exc}"

    # The log, not memory, says what finished: a stop may land between a row's append and its bookkeeping.
    done = {row["id"]: row for row in log.read()}
    record = base_record(spec, task, method, env, run_id, status)
    record.error = error
    record.method.fitted = method.fitted_state()
    if runtime.llm_loaded:
        llm = runtime.llm
        record.method.base_model = BaseModelInfo(id=llm.id, revision=llm.revision, dtype=llm.dtype)
    record.config.command = reproduce_command(record)
    rows = [done[s.id] for s in samples if s.id in done]
    evaluated = [s for s in samples if s.id in done]
    path = folder / f"{run_id}.json"
    if rows:
        record.metrics = task.metrics_of(rows, spec.seed)
        record.breakdowns = task.breakdowns(evaluated, task.score_rows(rows))
        record.method.applied = task.applied(rows)
        record.comparison = compare_with_reference(task, method.name, record, rows, path, Path(spec.out), model_id,
                                                   env["hardware_key"], spec.seed)
    if status == "complete" and len(rows) < len(samples):
        record.status = "partial"
    source, revision = task.dataset_source(spec.split)
    record.task.dataset = DatasetInfo(source=source, revision_or_sha256=revision, n_total=len(samples), n_evaluated=len(rows))
    record.performance = performance
    if log.path.exists():
        record.artifacts = Artifacts(samples=log.path.name, sha256=samples_sha256(log.path))
    try:
        write_record(path, record)
        if record.status == "complete" and record.artifacts is not None:
            store_compressed(record, path, log.path)
    except OSError as exc:
        if exc.errno in FULL_DISK:
            raise full_disk(folder, len(rows)) from None
        raise
    return record.status, path


def quiet_libraries() -> None:
    """Keep the library's own progress bars and advisories out of the run's output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def main() -> int:
    spec = CellSpec.model_validate_json(sys.stdin.read())
    if spec.parent_pid is not None:
        bind_to_parent(spec.parent_pid)
    outcome: dict[str, Any]
    code = 0
    try:
        quiet_libraries()
        status, path = run_cell(spec)
        outcome = {"status": status, "record": str(path)}
    except HarnessError as exc:
        outcome, code = {"status": "bad_input", "error": str(exc)}, EXIT_BAD_INPUT
    except Interrupted:  # stopped before any sample ran, or while its record was being written: nothing to record
        return EXIT_INTERRUPTED
    if spec.parent_pid is not None and os.getppid() != spec.parent_pid:
        return EXIT_INTERRUPTED  # nobody is left to read the outcome
    if spec.outcome_path:
        Path(spec.outcome_path).write_text(json.dumps(outcome))
    else:
        print(json.dumps(outcome))
    return code


if __name__ == "__main__":
    sys.exit(main())
