"""The real-data path of the retrieval tasks: items from a table (RULER / LongBench style, converted).

A JSONL / CSV / parquet file, a `save_to_disk` folder or a Hub dataset in the local cache, read with `datasets`;
fields {"id", "context", "question", "answer"} with optional "prefix" (the protected instruction before the
context), "length" and "depth" (kept for the depth x length table); `columns` maps them to other column names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from harness.contracts.real_data import read_table
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


def read_items(path: str | None, columns: dict[str, str] | None = None, split: str | None = None) -> tuple[list[LocalItem], str]:
    """Retrieval items from a JSONL / CSV / parquet file, a `save_to_disk` folder or a cached Hub dataset (through
    `datasets`), columns renamed by `columns` (item field -> source column); returns them and their pin."""
    if not path:
        raise HarnessError("the local split needs a file: add --task-arg data_file=/path/to/items.jsonl (or a save_to_disk folder, or a cached Hub id)")
    table = read_table(path, columns, split, option="--task-arg data_file=...")
    items = []
    for number, row in enumerate(table.rows, 1):
        row = {key: str(value) if key in ("id", "answer") and value is not None else value for key, value in row.items()}
        try:
            items.append(LocalItem.model_validate(row))
        except ValidationError as exc:
            raise HarnessError(f"{path} row {number} is not a retrieval item ({exc.errors()[0]['msg']}): expected id, "
                               f"context, question, answer (rename columns with --task-arg columns='{{\"context\": \"...\"}}')") from None
    if not items:
        raise HarnessError(f"{path} holds no items: one JSON object per line")
    return items, table.pinned


