"""The real-data path: labelled reasoning traces from a local JSON Lines file (ReTruthQA-style records).

One record per line: {"domain", "question", "steps": [...] or "trace": "line per step", "label": 0|1}, optionally
"id", "wrong_step" (0-based index of the first wrong step, for step-level metrics), "split" ("fit" or "test") and
"group" (records of one group always share a split). Without "split", records are split by group/id like the
offline set.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import HarnessError
from tasks.hallucination.traces import LabelledTrace, Trace


class TraceRecord(BaseModel):
    """One line of the local file."""

    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    domain: str = Field(min_length=1)
    question: str
    steps: list[str] | None = None
    trace: str | None = None
    label: int = Field(ge=0, le=1)
    wrong_step: int | None = Field(None, ge=0)
    split: str | None = Field(None, pattern="^(fit|test)$")
    group: str | None = None

    @model_validator(mode="after")
    def _has_steps(self) -> "TraceRecord":
        if self.steps is None:
            self.steps = [line.strip() for line in (self.trace or "").splitlines() if line.strip()]
        if not self.steps:
            raise ValueError("needs 'steps' (a list) or a non-empty 'trace'")
        if self.wrong_step is not None and self.wrong_step >= len(self.steps):
            raise ValueError(f"wrong_step {self.wrong_step} is past the last of {len(self.steps)} steps")
        return self


def read_traces(path: str | None) -> list[tuple[LabelledTrace, str | None]]:
    """Each labelled trace with the split its record names (None when it names none)."""
    if not path:
        raise HarnessError("the local split needs a file: add --task-arg data_path=/path/to/traces.jsonl")
    file = Path(path).expanduser()
    if not file.is_file():
        raise HarnessError(f"trace file {file} does not exist: pass a JSON Lines file with --task-arg data_path=...")
    found, seen = [], set()
    for number, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = TraceRecord.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not valid JSON"
            raise HarnessError(f"{file} line {number}: {reason} (see tasks/hallucination/local_data.py for the format)") from None
        trace_id = record.id or f"line-{number}"
        if trace_id in seen:
            raise HarnessError(f"{file} line {number}: id {trace_id!r} appears twice: give every record its own id")
        seen.add(trace_id)
        trace = Trace(id=trace_id, domain=record.domain, question=record.question, steps=tuple(record.steps))
        found.append((LabelledTrace(trace, record.label, record.wrong_step if record.label else None,
                                    record.group or trace_id), record.split))
    if not found:
        raise HarnessError(f"{file} holds no records: one JSON object per line")
    return found
