"""Terminal rendering of records: the run summary table and one record in detail."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.contracts.record import ResultRecord
from harness.records.reproduce import reproduce_command

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # control characters but newline and tab


def literal(text: str) -> str:
    """Text as a terminal should show it from a record or a path: control characters (escape sequences) as escapes."""
    return CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class LiteralConsole(Console):
    """A rich console that prints every string as it is: no markup (a method named `[bold]` stays so) and control
    characters shown as escapes, never sent to the terminal."""

    def render_str(self, text: str, **kwargs: Any) -> Any:
        return super().render_str(literal(text), **kwargs)


console = LiteralConsole(width=None if sys.stdout.isatty() else 160, markup=False)


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


def rate_unit(unit: str) -> str:
    """A recorded throughput unit as people read it: `images_per_s` -> `images/s`."""
    return unit.replace("_per_s", "/s").replace("_", " ")


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


def latency_text(record: ResultRecord) -> str:
    """Every latency scope's median, named."""
    return ", ".join(f"{scope.replace('_', ' ')} {human_seconds(lat.p50)}" for scope, lat in record.performance.latency.items()) or "-"


def memory_text(record: ResultRecord) -> str:
    """The method's own memory (KV cache at peak / while answering, or parameters) and the process peak."""
    mem = record.performance.memory
    if mem is None:
        return "-"
    parts = []
    if mem.kv_cache:
        parts.append(f"KV {human_bytes(mem.kv_cache.peak_bytes)} / {human_bytes(mem.kv_cache.decode_bytes)} answering")
    if mem.parameter_bytes is not None:
        parts.append(f"params {human_bytes(mem.parameter_bytes)}")
    parts.append(f"peak {human_bytes(mem.peak_bytes)}")
    return ", ".join(parts)


def paired_text(record: ResultRecord, name: str) -> str:
    """This run minus the reference on shared samples, with the paired interval, the test and the win/tie/loss counts."""
    comparison = record.comparison
    paired = comparison.metrics.get(name) if comparison else None
    if paired is None:
        return "-"
    text = f"{paired.difference:+.3f}"
    if paired.ci95:
        text += f" [{paired.ci95[0]:+.3f}, {paired.ci95[1]:+.3f}]"
    if paired.p_value is not None:
        text += f" p={paired.p_value:.2g}"
    return text + f" ({paired.wins} better / {paired.ties} tied / {paired.losses} worse, n={paired.n})"


def summary_table(records: list[tuple[ResultRecord, Path]]) -> Table:
    table = Table(title="harness results", show_lines=False)
    for col in ("task", "method", "status", "main metric (95% CI)", "vs reference (paired)", "memory", "latency p50"):
        table.add_column(col)
    for record, _ in records:
        versus = f"vs {record.comparison.reference}: {paired_text(record, record.main_metric)}" if record.comparison else "-"
        table.add_row(
            record.task.name, record.method.name, record.status if not record.error else f"{record.status}: {record.error[:60]}",
            f"{record.main_metric} {metric_text(record, record.main_metric)}", versus, memory_text(record), latency_text(record),
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
        ("reproduce", reproduce_command(record)),
    ]
    for name in record.metrics:
        rows.append((f"metric {name}", metric_text(record, name) + f" (n={record.metrics[name].n})"))
    if record.comparison:
        rows.append(("compared with", f"{record.comparison.reference} run {record.comparison.run_id} ({record.comparison.record})"))
        for name in record.comparison.metrics:
            rows.append((f"paired {name}", paired_text(record, name)))
    if record.method.applied:
        rows.append(("applied", ", ".join(f"{k}={v}" for k, v in record.method.applied.items())))
    for scope, lat in record.performance.latency.items():
        flag = "  UNSTABLE (pyperf's checks)" if lat.unstable else ""
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
