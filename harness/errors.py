"""The one exception type that reaches the user as a single clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class HarnessError(Exception):
    """A problem with the user's input or environment: printed as one line, exit code 2."""


@contextmanager
def rows_guard(doing: str, path: Path | None = None) -> Iterator[None]:
    """Task code fed a record's rows it never wrote (edited by hand, or forged) may fail any way: as one line saying
    what could not be done and the exception, naming the record `path` when given."""
    try:
        yield
    except HarnessError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the task's code raised on those rows
        where = f"{path}: " if path is not None else ""
        raise HarnessError(f"{where}its samples cannot be {doing} ({type(exc).__name__}: {str(exc)[:200]}): restore "
                           "the record and its samples log, or rerun the cell") from None
