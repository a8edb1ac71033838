"""Geometry for the site's inline SVG plots and heatmaps (numbers only; the templates draw and escape)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.board import pareto_front

WIDTH, HEIGHT, MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 460, 300, 64, 44, 16, 16
LOG_SCALE_RATIO = 20.0


@dataclass
class PlotPoint:
    """One method's result placed on the canvas."""

    px: float
    py: float
    label: str
    tooltip: str
    href: str
    on_front: bool


@dataclass
class Scatter:
    """A main-metric-vs-cost scatter with its Pareto front as a staircase."""

    title: str
    x_label: str
    y_label: str
    points: list[PlotPoint]
    front: str  # SVG polyline points
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = MARGIN_LEFT
    plot_bottom: int = HEIGHT - MARGIN_BOTTOM
    plot_top: int = MARGIN_TOP
    plot_right: int = WIDTH - MARGIN_RIGHT


class Axis:
    """Maps data values to pixels, linear or (for costs spanning more than 20x) logarithmic."""

    def __init__(self, values: list[float], lo_px: float, hi_px: float, allow_log: bool):
        low, high = min(values), max(values)
        self.log = allow_log and low > 0 and high / low > LOG_SCALE_RATIO
        if self.log:
            low, high = math.log10(low), math.log10(high)
        pad = (high - low) * 0.08 or (abs(high) * 0.1 or 1.0)
        self.low, self.high, self.lo_px, self.hi_px = low - pad, high + pad, lo_px, hi_px

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.lo_px + (v - self.low) / (self.high - self.low) * (self.hi_px - self.lo_px)

    def ticks(self, fmt: Callable[[float], str], count: int = 5) -> list[tuple[float, str]]:
        out = []
        for k in range(count):
            v = self.low + (self.high - self.low) * (k + 0.5) / count
            value = 10 ** v if self.log else v
            out.append((self(value), fmt(value)))
        return out


def scatter(title: str, x_label: str, y_label: str, rows: list[dict[str, Any]], x_key: str, higher_is_better: bool,
            x_fmt: Callable[[float], str], y_fmt: Callable[[float], str]) -> Scatter | None:
    """Rows with `value`, `x_key`, `method`, `run_page`; None when fewer than one row has both coordinates."""
    rows = [r for r in rows if r.get(x_key) is not None and r.get("value") is not None
            and not (isinstance(r[x_key], float) and math.isnan(r[x_key]))]
    if not rows:
        return None
    xs = [float(r[x_key]) for r in rows]
    ys = [float(r["value"]) for r in rows]
    x_axis = Axis(xs, MARGIN_LEFT, WIDTH - MARGIN_RIGHT, allow_log=True)
    y_axis = Axis(ys, HEIGHT - MARGIN_BOTTOM, MARGIN_TOP, allow_log=False)
    front = pareto_front(xs, ys, higher_is_better)
    points = [
        PlotPoint(x_axis(x), y_axis(y), r["method"], f"{r['method']}: {y_label} {y_fmt(y)}, {x_label} {x_fmt(x)}",
                  r["run_page"], i in front)
        for i, (r, x, y) in enumerate(zip(rows, xs, ys))
    ]
    stairs: list[tuple[float, float]] = []
    for i in front:
        px, py = x_axis(xs[i]), y_axis(ys[i])
        if stairs:
            stairs.append((px, stairs[-1][1]))
        stairs.append((px, py))
    return Scatter(title, x_label + (" (log scale)" if x_axis.log else ""), y_label, points,
                   " ".join(f"{x:.1f},{y:.1f}" for x, y in stairs), x_axis.ticks(x_fmt), y_axis.ticks(y_fmt))


@dataclass
class Heatmap:
    """A two-key breakdown (e.g. depth x length) of one metric, as rows of coloured cells."""

    title: str
    row_key: str
    col_key: str
    cols: list[Any]
    rows: list[tuple[Any, list[tuple[str, str] | None]]] = field(default_factory=list)  # (row value, [(text, colour)])


def grid_keys(rows: list[dict[str, Any]], metric_names: set[str]) -> list[str] | None:
    """The one or two keys a breakdown is indexed by, or None. Columns named after a metric, or a metric name and a
    suffix (e.g. auroc_low), and the count n hold values, not keys."""
    if not rows:
        return None
    is_value = lambda k: k == "n" or k in metric_names or any(k.startswith(f"{m}_") for m in metric_names)
    keys = [k for k in rows[0] if not is_value(k)]
    return keys if len(keys) in (1, 2) else None


def colour(fraction: float) -> str:
    """Pale red (worst) through pale yellow to green (best)."""
    f = min(1.0, max(0.0, fraction))
    red = int(230 - 130 * max(0.0, f - 0.5) * 2)
    green = int(120 + 100 * min(1.0, f * 2))
    return f"rgb({red},{green},120)"


def grid(title: str, row_key: str, col_key: str, cells: dict[tuple[Any, Any], float], row_order: list[Any],
         col_order: list[Any], higher_is_better: bool, fmt: Callable[[float], str]) -> Heatmap:
    """Coloured cells; the scale is [0, 1] when every value lies there (rates), else the values' range."""
    values = list(cells.values())
    low, high = (0.0, 1.0) if all(0.0 <= v <= 1.0 for v in values) else (min(values), max(values))
    out = Heatmap(title, row_key, col_key, col_order)
    for row_value in row_order:
        line: list[tuple[str, str] | None] = []
        for col_value in col_order:
            v = cells.get((row_value, col_value))
            if v is None:
                line.append(None)
                continue
            fraction = (v - low) / (high - low) if high > low else 1.0
            line.append((fmt(v), colour(fraction if higher_is_better else 1.0 - fraction)))
        out.rows.append((row_value, line))
    return out


def heatmap(title: str, rows: list[dict[str, Any]], metric: str, metric_names: set[str], higher_is_better: bool,
            fmt: Callable[[float], str]) -> Heatmap | None:
    """One method's two-key breakdown; the key with more distinct values runs down the rows."""
    keys = grid_keys(rows, metric_names)
    if keys is None or len(keys) != 2 or not any(r.get(metric) is not None for r in rows):
        return None
    col_key, row_key = sorted(keys, key=lambda k: len({r[k] for r in rows}))
    cells = {(r[row_key], r[col_key]): r[metric] for r in rows if r.get(metric) is not None}
    return grid(title, row_key, col_key, cells, sorted({r[row_key] for r in rows}), sorted({r[col_key] for r in rows}),
                higher_is_better, fmt)


def comparison(title: str, per_method: list[tuple[str, list[dict[str, Any]]]], metric: str, metric_names: set[str],
               higher_is_better: bool, fmt: Callable[[float], str]) -> Heatmap | None:
    """Methods side by side for a breakdown with one key, or whose second key has one value on the whole board."""
    all_rows = [r for _, rows in per_method for r in rows]
    keys = grid_keys(all_rows, metric_names)
    if keys is None or not any(r.get(metric) is not None for r in all_rows):
        return None
    varying = [k for k in keys if len({r[k] for r in all_rows}) > 1]
    if len(varying) != 1:
        return None
    key = varying[0]
    cells = {(r[key], method): r[metric] for method, rows in per_method for r in rows if r.get(metric) is not None}
    return grid(title, key, "method", cells, sorted({r[key] for r in all_rows}), [m for m, _ in per_method],
                higher_is_better, fmt)
