"""A cell's progress through its samples: a bar on a terminal; plain lines when the output is a file or a pipe (a line
when the samples start, one every PROGRESS_EVERY seconds with what is done, the time taken and an estimate of what is
left, and one when they are done), as lm-eval's logs show it."""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Any, TextIO

PROGRESS_EVERY = 30.0  # seconds between plain progress lines
EVERY_ENV = "HARNESS_PROGRESS_EVERY"  # overrides PROGRESS_EVERY (tests set 0: a line after every sample)


def duration(seconds: float) -> str:
    """Seconds as 45s, 12m05s or 3h07m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class CellProgress:
    """Counts a cell's samples as they finish; shows them as a rich bar on a terminal, else as plain lines on `stream`
    (standard output, where the run's result lines go)."""

    def __init__(self, name: str, total: int, done: int, stream: TextIO | None = None):
        self.name, self.total, self.done, self.resumed = name, total, done, done
        self.stream = stream or sys.stdout
        self.every = float(os.environ.get(EVERY_ENV, PROGRESS_EVERY))
        self.bar: Any = None  # rich's Progress on a terminal
        self.job: Any = None
        self.started = self.last = time.monotonic()

    def __enter__(self) -> "CellProgress":
        if self.stream.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(file=self.stream), transient=True)
            self.bar.__enter__()
            self.job = self.bar.add_task(self.name, total=self.total, completed=self.done)
        else:
            resumed = f" ({self.resumed} done before, resumed)" if self.resumed else ""
            self.line(f"started: {self.total} sample(s){resumed}")
        return self

    def line(self, text: str) -> None:
        print(f"{self.name}: {text}", file=self.stream, flush=True)

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.advance(self.job)
            return
        now = time.monotonic()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            elapsed, ran = now - self.started, self.done - self.resumed
            left = elapsed / ran * (self.total - self.done)
            self.line(f"{self.done}/{self.total} samples, {duration(elapsed)} elapsed, about {duration(left)} left")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.__exit__(kind, exc, tb)
        elif kind is None:
            self.line(f"{self.done}/{self.total} samples in {duration(time.monotonic() - self.started)}; measuring "
                      "latency and memory")
        else:
            self.line(f"stopped at {self.done}/{self.total} samples ({kind.__name__})")
