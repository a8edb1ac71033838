"""The real-data path of the retrieval tasks: items from a local JSONL file (RULER / LongBench style, converted).

One JSON object per line: {"id", "context", "question", "answer"} with optional "prefix" (the protected
instruction before the context), "length" and "depth" (kept for the depth x length table).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from harness.errors import HarnessError


class LocalItem(BaseModel):
    """One retrieval item; the answer is a number (scored by exact match and digit overlap)."""

    model_config = ConfigDict(extra="ignore")
    id: str
    context: str
    question: str
    answer: str
    prefix: str = ""
    length: int | None = None
    depth: float | None = None

    @field_validator("answer")
    @classmethod
    def _numeric(cls, value: str) -> str:
        if not value.strip().isdigit():
            raise ValueError("answer must be a number (the retrieval metrics compare digits)")
        return value.strip()


def read_items(path: str | None) -> list[LocalItem]:
    if not path:
        raise HarnessError("the local split needs a file: add --task-arg data_file=/path/to/items.jsonl")
    file = Path(path).expanduser()
    if not file.is_file():
        raise HarnessError(f"data file {file} does not exist: pass an existing JSONL file with --task-arg data_file=...")
    items = []
    for number, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(LocalItem.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not JSON"
            raise HarnessError(f"{file} line {number} is not a retrieval item ({reason}): expected id, context, question, answer") from None
    if not items:
        raise HarnessError(f"{file} holds no items: one JSON object per line")
    return items


def file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).expanduser().read_bytes()).hexdigest()
