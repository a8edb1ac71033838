"""Timing and memory measurement: CUDA events + max_memory_allocated on GPU, perf_counter + peak RSS on CPU."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from harness.contracts.latency_series import stability_warnings
from harness.contracts.record import LatencyStats, Memory
from harness.statistics.intervals import summarize


class Clock:
    """Marks points in time on one device; read the intervals after the work is done."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self._marks: list = []

    def mark(self) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append(event)
        else:
            self._marks.append(time.perf_counter())

    def intervals(self) -> list[float]:
        """Seconds between consecutive marks."""
        if self.cuda:
            torch.cuda.synchronize()
            return [a.elapsed_time(b) / 1000.0 for a, b in zip(self._marks, self._marks[1:])]
        return [b - a for a, b in zip(self._marks, self._marks[1:])]


class Meter:
    """Builds clocks and reads peak memory for the device a cell runs on."""

    def __init__(self, device: torch.device, warmups: int, repeats: int):
        self.device = device
        self.warmups = warmups
        self.repeats = repeats

    @property
    def timer(self) -> str:
        return "cuda_events" if self.device.type == "cuda" else "perf_counter"

    def clock(self) -> Clock:
        return Clock(self.device)

    def time_each(self, call: Callable[[Any], object], items: Sequence[Any]) -> list[float]:
        """Warm up on the first item, then time `call` on every item, `repeats` times over: seconds per call."""
        for _ in range(self.warmups):
            call(items[0])
        clock = self.clock()
        clock.mark()
        for _ in range(self.repeats):
            for item in items:
                call(item)
                clock.mark()
        return clock.intervals()

    def latency(self, raw: Sequence[float], context_tokens: int | None = None, warmups: int | None = None) -> LatencyStats:
        stats = summarize(raw)
        return LatencyStats(
            timer=self.timer, warmups=self.warmups if warmups is None else warmups, repeats=len(raw),
            context_tokens=context_tokens, raw=[float(x) for x in raw],
            unstable=bool(stability_warnings(raw)), **stats,
        )

    def reset_peak(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(self.device)

    def peak_memory(self) -> Memory:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            return Memory(
                peak_bytes=torch.cuda.max_memory_allocated(self.device), scope="cuda_max_memory_allocated",
                reserved_bytes=torch.cuda.max_memory_reserved(self.device), device=torch.cuda.get_device_name(self.device),
            )
        return Memory(peak_bytes=peak_rss_bytes(), scope="process_peak_rss", device="cpu")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (the cell's own subprocess)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
