"""One run at a time per cell: an exclusive lock per (results folder, cell configuration).

The lock is an flock on a file under `<results>/.locks/`. The runner takes it before starting the cell's worker
and hands the descriptor down to it, so the lock lasts as long as either process lives: a killed `harness run`
whose worker is still finishing keeps the cell locked, and the kernel releases it when both are gone.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from harness.errors import HarnessError

LOCKS_FOLDER = ".locks"


class CellLock:
    """An exclusive, non-blocking lock on one cell of one results folder; `fd` is inherited by the worker."""

    def __init__(self, out: Path, name: str, what: str):
        self.path = out / LOCKS_FOLDER / f"{name}.lock"
        self.what = what
        self.fd: int | None = None

    def acquire(self) -> "CellLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise HarnessError(f"another harness run (pid {holder}) is running {self.what} into {self.path.parent.parent}: "
                               "wait for it to finish (then --resume if it was interrupted), or use another --out") from None
        try:  # who holds it, for the message above; a full disk only loses that hint
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "CellLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
