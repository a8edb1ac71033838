"""The cell worker stops when the `harness run` that started it goes away, whatever ended that process.

Two mechanisms, either of which suffices: on Linux the kernel sends SIGTERM when the parent dies
(prctl PR_SET_PDEATHSIG, even after kill -9), and a watchdog thread polls the parent pid on every platform.
SIGTERM becomes `Interrupted` in the main thread, so the worker records what it finished as `partial`
(resumable) and exits; it never goes on to write a complete record later.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from types import FrameType

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.25


class Interrupted(KeyboardInterrupt):
    """The run was stopped from outside (the parent died, or SIGTERM): finished samples are kept."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one interruption is enough; the worker is already winding up
    raise Interrupted(f"stopped by signal {signum}")


def _parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_INTERVAL_S)
    os.kill(os.getpid(), signal.SIGTERM)


def bind_to_parent(parent_pid: int) -> None:
    """Turn SIGTERM into `Interrupted` and deliver it when `parent_pid` is no longer this process's parent."""
    signal.signal(signal.SIGTERM, _on_term)
    _parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the kernel was told to watch it
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=_watch, args=(parent_pid,), name="harness-lifeline", daemon=True).start()
