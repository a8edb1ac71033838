"""Result records made without running a model: real passkey samples and scores, made-up outputs and costs.

Used by the site tests and the site-build benchmark; every record passes `harness validate`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness.contracts.record import (
    Artifacts,
    BaseModelInfo,
    DatasetInfo,
    HarnessInfo,
    KVCacheMemory,
    LatencyStats,
    Memory,
    MethodInfo,
    Performance,
    ResultRecord,
    RunConfig,
    TaskInfo,
)
from harness.contracts.registry import METHODS, TASKS
from harness.records.store import SAMPLES_SUFFIX, SampleLog, cell_dir, ensure_dir, samples_sha256, write_record

PASSKEY_OPTIONS = {"lengths": [1024, 2048], "depths": [0.0, 0.25, 0.5, 0.75, 1.0]}
EPOCH = datetime(2026, 11, 1, tzinfo=timezone.utc)


def latency(seconds: float) -> LatencyStats:
    raw = [seconds * f for f in (0.98, 1.0, 1.03)]
    return LatencyStats(timer="perf_counter", warmups=1, repeats=3, p50=raw[1], p90=raw[2], p99=raw[2], mean=sum(raw) / 3,
                        std=0.02 * seconds, median=raw[1], mad=0.02 * seconds, min=raw[0], max=raw[2], raw=raw, unstable=False)


def write_passkey_record(out: Path, method: str, quality: float, kv_bytes: int, ttft: float, *, run_index: int = 0,
                         hardware: str = "cpu-2c-test", model: str = "test/tiny-llama", status: str = "complete",
                         seed: int = 0, params: dict | None = None) -> Path:
    """A passkey record (and samples file) in which exactly a share `quality` of the samples find the key."""
    task = TASKS.get("passkey")(PASSKEY_OPTIONS)
    samples = task.samples("offline", None, seed)
    rng = random.Random(f"{method}:{run_index}:{seed}")
    run_id = f"{(EPOCH + timedelta(minutes=run_index)).strftime('%Y%m%dT%H%M%S')}-{run_index:08x}"
    folder = cell_dir(out, "passkey", method, model, hardware)
    ensure_dir(folder)
    record = ResultRecord(
        run_id=run_id, created_at=EPOCH + timedelta(minutes=run_index), status=status,
        harness=HarnessInfo(version="0.1.0", git_sha="0" * 40, dirty=False),
        task=TaskInfo(name="passkey", version=task.spec.version, family="long_context", split="offline",
                      spec_hash=task.spec.spec_hash(), options=task.options_dict(), protocol=task.protocol()),
        method=MethodInfo(name=method, version=METHODS.get(method).version if method in METHODS.names() else "1", family="long_context", params=params or {"budget": 0.5},
                          base_model=BaseModelInfo(id=model, dtype="float32")),
        config=RunConfig(seed=seed, device="cpu", warmups=1, repeats=3,
                         command=f"harness run --method {method} --task passkey --split offline --seed {seed}"),
        main_metric="exact_match", environment={"hardware_key": hardware, "device": "cpu"},
    )
    if status != "complete":
        record.error = "RuntimeError: made-up failure for the site tests"
        path = folder / f"{run_id}.json"
        write_record(path, record)
        return path
    log = SampleLog(folder / f"{run_id}{SAMPLES_SUFFIX}")
    rows = []
    finds = set(rng.sample(range(len(samples)), round(quality * len(samples))))
    for i, sample in enumerate(samples):
        found = i in finds
        output = {"generated": f" {sample.target}." if found else " 12345.", "gold_logprob": -0.5 if found else -9.0 - rng.random()}
        row = {"id": sample.id, "output": output, "scores": task.score(sample, output), "meta": sample.meta}
        log.append(row)
        rows.append(row)
    record.metrics = task.metrics_of(rows, seed)
    record.breakdowns = task.breakdowns(samples, [r["scores"] for r in rows])
    record.task.dataset = DatasetInfo(source="cpython:pydoc_data.topics", n_total=len(samples), n_evaluated=len(rows))
    record.performance = Performance(
        latency={"time_to_first_token": latency(ttft), "time_per_output_token": latency(ttft / 50)},
        memory=Memory(peak_bytes=1_000_000_000 + kv_bytes, scope="process_peak_rss", device="cpu",
                      kv_cache=KVCacheMemory(peak_bytes=2 * kv_bytes, decode_bytes=kv_bytes, peak_tokens=2048,
                                             analytical_peak_bytes=kv_bytes)),
    )
    record.artifacts = Artifacts(samples=log.path.name, sha256=samples_sha256(log.path))
    path = folder / f"{run_id}.json"
    write_record(path, record)
    return path
