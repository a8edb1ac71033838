"""Where a run's self-generated traces come from: the shipped file when the run's model wrote it, else the cache.

The shipped file holds the embedded model's traces. A run whose model (by fingerprint) or generation settings
differ never reads it: it generates with its own model into `<harness cache>/self_traces/<fingerprint>-<settings>.jsonl`
and later runs with that model read them back from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.contracts.causal_lm import LoadedModel, cache_root
from tasks.hallucination import self_generate
from tasks.hallucination.self_generate import (
    GenerationSettings,
    extend_trace_file,
    matches,
    model_fingerprint,
    read_trace_file,
    row_fits,
)
from tasks.hallucination.self_problems import SelfProblem


@dataclass
class TraceSource:
    """The rows found for a set of problems, and how many came from each source."""

    rows: dict[str, dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)  # shipped / cache / generated
    files: dict[str, str] = field(default_factory=dict)  # source -> file path
    fingerprint: str = ""


def cache_file(fingerprint: str, settings: GenerationSettings) -> Path:
    return cache_root() / "self_traces" / f"{fingerprint[:16]}-{settings.key()[:12]}.jsonl"


def model_traces(lm: LoadedModel, problems: list[SelfProblem], settings: GenerationSettings,
                 fingerprint: str | None = None) -> TraceSource:
    """Rows for `problems` written by `lm`: from the shipped file if `lm` wrote it with these settings, the rest from
    the cache, generating (and caching) whatever neither holds."""
    fingerprint = fingerprint or model_fingerprint(lm)
    found = TraceSource(rows={}, fingerprint=fingerprint)
    shipped = Path(self_generate.SHIPPED)
    header, rows = read_trace_file(shipped)
    if matches(header, fingerprint, settings):
        found.rows = {p.id: rows[p.id] for p in problems if row_fits(rows.get(p.id), p)}
        if found.rows:
            found.counts["shipped"], found.files["shipped"] = len(found.rows), str(shipped)
    rest = [p for p in problems if p.id not in found.rows]
    if rest:
        path = cache_file(fingerprint, settings)
        _, cached = read_trace_file(path)
        hits = sum(row_fits(cached.get(p.id), p) for p in rest)
        found.rows.update(extend_trace_file(path, lm, fingerprint, settings, rest))
        found.counts.update({k: v for k, v in (("cache", hits), ("generated", len(rest) - hits)) if v})
        found.files["cache"] = str(path)
    return found
