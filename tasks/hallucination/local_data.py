"""The real-data path: labelled reasoning traces (ReTruthQA-style records) from a file or dataset, via `datasets`.

One record per line: {"domain", "question", "steps": [...] or "trace": "line per step", "label": 0|1}, optionally
"id", "wrong_step" (0-based index of the first wrong step, for step-level metrics), "split" ("fit" or "test") and
"group" (records of one group always share a split). Without "split", records are split by group/id like the
offline set.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.contracts.real_data import read_table
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


def read_traces(path: str | None, columns: dict[str, str] | None = None,
                data_split: str | None = None) -> tuple[list[tuple[LabelledTrace, str | None]], str]:
    """Each labelled trace with the split its record names (None when it names none), and the pin of what was read.

    The records come through `datasets` (harness.contracts.real_data): a JSONL / CSV / parquet file, a `save_to_disk` folder or a
    Hub dataset in the local cache; `columns` maps record fields to other column names."""
    if not path:
        raise HarnessError("the local split needs a file: add --task-arg data_path=/path/to/traces.jsonl")
    table = read_table(path, columns, data_split, option="--task-arg data_path=...")
    found, seen = [], set()
    for number, row in enumerate(table.rows, 1):
        row = {key: value for key, value in row.items() if value is not None}
        if "id" in row:
            row["id"] = str(row["id"])
        try:
            record = TraceRecord.model_validate(row)
        except ValidationError as exc:
            raise HarnessError(f"{path} line {number}: {exc.errors()[0]['msg']} (see tasks/hallucination/local_data.py "
                               f"for the format)") from None
        trace_id = record.id or f"line-{number}"
        if trace_id in seen:
            raise HarnessError(f"{path} line {number}: id {trace_id!r} appears twice: give every record its own id")
        seen.add(trace_id)
        trace = Trace(id=trace_id, domain=record.domain, question=record.question, steps=tuple(record.steps))
        found.append((LabelledTrace(trace, record.label, record.wrong_step if record.label else None,
                                    record.group or trace_id), record.split))
    if not found:
        raise HarnessError(f"{path} holds no records: one JSON object per line")
    return found, table.pinned
