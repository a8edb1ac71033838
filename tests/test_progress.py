"""Progress a log can show: `harness run` piped to a file prints plain lines when a cell's samples start, as they go
(every HARNESS_PROGRESS_EVERY seconds; 30 by default) and when they are done; a terminal gets the bar instead."""

from __future__ import annotations

import io

from harness.running.progress import CellProgress, duration
from tests.conftest import harness_cli


def test_a_piped_run_logs_its_cells_progress_in_plain_lines(tmp_path):
    proc = harness_cli("run", "--method", "naive", "--task", "syntsbench", "--limit", "4", "--repeats", "1", "--warmups", "0",
                       "--out", str(tmp_path), env={"HARNESS_PROGRESS_EVERY": "0"})
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("syntsbench / naive: ")]
    assert lines[0] == "syntsbench / naive: started: 4 sample(s)"
    assert [line.split(": ", 1)[1].split(",")[0] for line in lines[1:-1]] == ["1/4 samples", "2/4 samples", "3/4 samples"]
    assert all("elapsed, about" in line and line.endswith("left") for line in lines[1:-1])
    assert lines[-1].startswith("syntsbench / naive: 4/4 samples in ") and "measuring latency and memory" in lines[-1]
    assert "\x1b[" not in proc.stdout  # no bar, no terminal codes in a log


def test_plain_progress_is_spaced_and_says_what_a_resumed_cell_had_and_where_it_stopped():
    stream = io.StringIO()
    with CellProgress("t / m", 10, 4, stream) as progress:  # the default: a line every 30 s at most
        progress.advance()
    assert stream.getvalue().splitlines() == ["t / m: started: 10 sample(s) (4 done before, resumed)",
                                              "t / m: 5/10 samples in 0s; measuring latency and memory"]
    stream = io.StringIO()
    try:
        with CellProgress("t / m", 3, 0, stream) as progress:
            progress.advance()
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert stream.getvalue().splitlines()[-1] == "t / m: stopped at 1/3 samples (KeyboardInterrupt)"
    assert [duration(s) for s in (4.4, 725, 11220)] == ["4s", "12m05s", "3h07m"]
