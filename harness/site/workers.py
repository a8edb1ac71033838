"""One pool of worker processes for a command's independent jobs, started only when the work is worth it."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any


class Workers:
    """Maps functions over items on up to `jobs` spawned processes (default: the cores), sharing one pool between
    calls; work too small to pay for a process (fewer than `per_process` items a process) runs here."""

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None

    def start(self, warm: Callable[..., Any], *args: Any) -> None:
        """Start the pool now (when there is more than one process to have), each worker calling `warm(*args)` first,
        so that the workers' start (their imports) overlaps the caller's own work before its first map."""
        if self.jobs > 1 and self.pool is None:
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"), initializer=warm, initargs=args)
            for _ in range(self.jobs):  # a pool spawns a worker per waiting job
                self.pool.submit(int)

    def map(self, function: Callable[..., Any], items: Sequence[Any], per_process: int, *shared: Any) -> list[Any]:
        """[function(*shared, item) for item in items], in order."""
        workers = min(self.jobs, math.ceil(len(items) / max(1, per_process)))
        if workers <= 1:
            return [function(*shared, item) for item in items]
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"))
        columns = [[value] * len(items) for value in shared]
        return list(self.pool.map(function, *columns, items, chunksize=max(1, len(items) // (self.jobs * 8))))

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
