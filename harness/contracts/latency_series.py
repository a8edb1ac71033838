"""Latency series as pyperf benchmarks: pyperf's own stability checks, and JSON files `python -m pyperf` reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyperf
from pyperf._cli import format_checks

from harness.contracts.record import ResultRecord
from harness.errors import HarnessError

# pyperf's advice to run more processes is about its own multi-process protocol, not a sign of a noisy series.
NOT_A_STABILITY_CHECK = "Not enough samples"


def benchmark(name: str, raw: Sequence[float], metadata: dict[str, Any] | None = None) -> pyperf.Benchmark:
    """One pyperf benchmark (one run, one loop per value) of raw timings in seconds."""
    run_metadata = {"name": name, "unit": "second", "loops": 1, **(metadata or {})}
    return pyperf.Benchmark([pyperf.Run([float(x) for x in raw], metadata=run_metadata, collect_metadata=False)])


def stability_warnings(raw: Sequence[float]) -> list[str]:
    """pyperf's warnings for a series: standard deviation >= 10% of the mean, a minimum or maximum >= 50% away from
    the mean, a shortest value under 1 ms (timer resolution)."""
    if len(raw) == 0 or sum(raw) <= 0:
        return []
    lines = format_checks(benchmark("series", raw))
    return [line[2:] for line in lines if line.startswith("* ") and NOT_A_STABILITY_CHECK not in line]


def export_pyperf(record: ResultRecord, path: Path) -> list[str]:
    """Write every latency series of the record as one pyperf suite (benchmarks named by series, so that the
    exports of two runs compare with `python -m pyperf compare_to A B`); returns the series names."""
    latency = record.performance.latency if record.performance else None
    if not latency:
        raise HarnessError(f"run {record.run_id} has no latency series to export (status {record.status}): pick a complete run")
    base_model = record.method.base_model
    metadata = {"harness_run_id": record.run_id, "harness_task": record.task.name, "harness_method": record.method.name,
                "harness_hardware": str(record.environment.get("hardware_key", "unknown")),
                "harness_timer": next(iter(latency.values())).timer}
    if base_model is not None:
        metadata["harness_model"] = base_model.id
    suite = pyperf.BenchmarkSuite([benchmark(name, series.raw, metadata) for name, series in sorted(latency.items())])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        suite.dump(str(path), replace=True)
    except OSError as exc:
        raise HarnessError(f"cannot write {path} ({exc.strerror or exc}): pass --pyperf a writable file path") from None
    return sorted(latency)
