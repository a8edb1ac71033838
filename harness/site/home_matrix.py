"""The home page's method x task matrices, one per hardware key and task family: on each task's main board (the one with the most
current runs), each run's change in the main metric against the task's reference, and its memory and latency
as ratios to the reference's, each with a verdict that colours the cell. A row is a method with its changed
parameters (a sweep's values make rows of their own); a row with no run on a task's main board shows its run on
the board of that task where it has one (the fullest such board), marked as on another board, so no run vanishes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

SAVING, COSTING = 0.9, 1.1  # ratios below SAVING count as a saving, above COSTING as a cost


def given(value: Any) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def verdict(row: dict[str, Any]) -> str:
    """better / worse / same (the paired interval decides), leans-better / leans-worse (no interval), reference or none."""
    how = row.get("delta_how") or ""
    if how == "reference":
        return "reference"
    if not given(row.get("delta")):
        return "none"
    sign = 1.0 if row["higher_is_better"] else -1.0
    if how == "paired" and given(row.get("delta_low")):
        low, high = sorted((sign * row["delta_low"], sign * row["delta_high"]))
        return "better" if low > 0 else "worse" if high < 0 else "same"
    gain = sign * row["delta"]
    return "leans-better" if gain > 0 else "leans-worse" if gain < 0 else "same"


def cost_verdict(ratio: Any) -> str:
    if not given(ratio):
        return "none"
    return "saves" if ratio < SAVING else "costs" if ratio > COSTING else "even"


@dataclass
class MatrixTask:
    """A column: the task, its main board's metric and reference, and where the board is."""

    task: str
    metric: str
    higher_is_better: bool
    reference: str | None
    href: str


@dataclass
class MatrixCell:
    """One run on a task: on its main board, or (`elsewhere`, with that board's link) on another one."""

    row: dict[str, Any]
    accuracy: str
    memory: str
    latency: str
    elsewhere: str | None = None


@dataclass
class Matrix:
    """Methods down, tasks across, for one hardware key and family."""

    hardware: str
    family: str
    tasks: list[MatrixTask] = field(default_factory=list)
    rows: list[tuple[str, str, list[MatrixCell | None]]] = field(default_factory=list)  # (method, page, cells)


def boards_by_size(runs: pd.DataFrame) -> list[str]:
    """A task's boards, the one with the most current runs first (frame order on a tie)."""
    counts = runs["board"].value_counts(sort=False)
    return sorted(counts.index, key=lambda board: -counts[board])


def matrices(frame: pd.DataFrame, rows_of) -> dict[str, list[Matrix]]:
    """Per hardware key, one matrix per family, tasks and rows in name order; `rows_of` turns a frame into rows."""
    current = frame[frame["current"]]
    out: dict[str, list[Matrix]] = {}
    for (hardware, family), on_hw in current.groupby(["hardware", "family"]):
        matrix = Matrix(str(hardware), str(family))
        cells: dict[tuple[str, str], MatrixCell] = {}
        for task, runs in on_hw.groupby("task"):
            boards = boards_by_size(runs)
            first = runs[runs["board"] == boards[0]].iloc[0]
            href = lambda board: f"tasks/{first['task_page']}.html#board-{board}"
            matrix.tasks.append(MatrixTask(str(task), str(first["main_metric"]), bool(first["higher_is_better"]),
                                           first.get("reference"), href(boards[0])))
            for board in boards:  # the main board first: a row takes its first board with a complete run
                for row in rows_of(runs[runs["board"] == board]):
                    key = (str(row["label"]), str(task))
                    if row["status"] == "complete" and row.get("value") is not None and key not in cells:
                        cells[key] = MatrixCell(row, verdict(row), cost_verdict(row.get("memory_ratio")),
                                                cost_verdict(row.get("latency_ratio")),
                                                None if board == boards[0] else href(board))
        labels = sorted({(str(label), str(page)) for label, page in zip(on_hw["label"], on_hw["method_page"])})
        for label, page in labels:
            line = [cells.get((label, t.task)) for t in matrix.tasks]
            if any(line):
                matrix.rows.append((label, page, line))
        out.setdefault(str(hardware), []).append(matrix)
    return out
