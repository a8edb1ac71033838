"""Terminal rendering of records: the run summary table and one record in detail."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.record import ResultRecord

console = Console(width=None if sys.stdout.isatty() else 160)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def human_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def metric_text(record: ResultRecord, name: str) -> str:
    metric = record.metrics.get(name)
    if metric is None:
        return "-"
    text = f"{metric.value:.3f}"
    if metric.ci95:
        text += f" [{metric.ci95[0]:.3f}, {metric.ci95[1]:.3f}]"
    return text


def summary_table(records: list[tuple[ResultRecord, Path]]) -> Table:
    table = Table(title="harness results", show_lines=False)
    for col in ("task", "method", "status", "main metric (95% CI)", "KV peak / answering", "peak mem", "TTFT p50", "TPOT p50"):
        table.add_column(col)
    for record, _ in records:
        perf = record.performance
        kv = perf.memory.kv_cache if perf.memory else None
        ttft = perf.latency.get("time_to_first_token")
        tpot = perf.latency.get("time_per_output_token") or perf.latency.get("time_per_streamed_token")
        table.add_row(
            record.task.name, record.method.name, record.status if not record.error else f"{record.status}: {record.error[:60]}",
            f"{record.main_metric} {metric_text(record, record.main_metric)}",
            f"{human_bytes(kv.peak_bytes)} / {human_bytes(kv.decode_bytes)}" if kv else "-",
            human_bytes(perf.memory.peak_bytes) if perf.memory else "-",
            human_seconds(ttft.p50 if ttft else None), human_seconds(tpot.p50 if tpot else None),
        )
    return table


def record_detail(record: ResultRecord, path: Path) -> Table:
    table = Table(title=f"run {record.run_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    base = record.method.base_model
    rows = [
        ("record", str(path)), ("status", record.status + (f" ({record.error})" if record.error else "")),
        ("task", f"{record.task.name} v{record.task.version} split={record.task.split} options={record.task.options}"),
        ("method", f"{record.method.name} v{record.method.version} params={record.method.params}"),
        ("model", f"{base.id} ({base.dtype})" if base else "-"),
        ("hardware", record.environment.get("hardware_key", "?")),
        ("reproduce", record.config.command),
    ]
    for name in record.metrics:
        rows.append((f"metric {name}", metric_text(record, name) + f" (n={record.metrics[name].n})"))
    for scope, lat in record.performance.latency.items():
        flag = "  UNSTABLE: std > 10% of mean" if lat.unstable else ""
        rows.append((f"latency {scope}", f"p50 {human_seconds(lat.p50)} p90 {human_seconds(lat.p90)} "
                                         f"mean {human_seconds(lat.mean)} ± {human_seconds(lat.std)} ({lat.repeats} repeats){flag}"))
    mem = record.performance.memory
    if mem:
        rows.append(("peak memory", f"{human_bytes(mem.peak_bytes)} ({mem.scope}, {mem.kind})"))
        if mem.kv_cache:
            kv = mem.kv_cache
            rows.append(("KV cache", f"measured peak {human_bytes(kv.peak_bytes)} ({kv.peak_tokens} tokens), while answering "
                                     f"{human_bytes(kv.decode_bytes)}; analytical peak {human_bytes(kv.analytical_peak_bytes)}"))
    for key, value in rows:
        table.add_row(key, value)
    return table
