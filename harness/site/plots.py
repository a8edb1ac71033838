"""Geometry for the site's inline SVG plots and heatmaps (numbers only; the templates draw and escape)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.site.axis_ticks import linear_ticks
from harness.site.board_table import pareto_front
from harness.site.plot_labels import CHAR_WIDTH, Box, Placed, place_labels

WIDTH, HEIGHT, MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 460, 300, 64, 44, 16, 16
LOG_SCALE_RATIO = 20.0
UNITS = {"bytes": [(1024.0 ** k, s) for k, s in enumerate(["B", "KiB", "MiB", "GiB", "TiB"])],
         "seconds": [(1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s")], "number": [(1.0, "")]}


@dataclass
class PlotPoint:
    """One method's result placed on the canvas, with its interval bar and (where it fits) its label."""

    px: float
    py: float
    label: str
    tooltip: str
    href: str
    on_front: bool
    py_low: float | None = None
    py_high: float | None = None
    reference: bool = False
    label_at: Placed | None = None


class Canvas:
    """The size and plot area every SVG plot shares (the templates read them from the plot)."""

    width = WIDTH
    height = HEIGHT
    plot_left = MARGIN_LEFT
    plot_bottom = HEIGHT - MARGIN_BOTTOM
    plot_top = MARGIN_TOP
    plot_right = WIDTH - MARGIN_RIGHT


@dataclass
class Scatter(Canvas):
    """A main-metric-vs-cost scatter: Pareto staircase, interval bars, a chance line, and what could not be drawn."""

    title: str
    x_label: str
    y_label: str
    points: list[PlotPoint]
    front: str  # SVG polyline points
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    chance: tuple[float, str] | None = None  # (y pixel, label)
    missing: list[str] = field(default_factory=list)  # methods with no value on the x axis
    unlabelled: list[str] = field(default_factory=list)  # points whose label had no free spot (hover shows them)


def unit_for(kind: str, largest: float) -> tuple[float, str]:
    """The largest unit of `kind` (bytes, seconds, number) in which `largest` is at least 1."""
    units = UNITS.get(kind, UNITS["number"])
    fitting = [u for u in units if abs(largest) >= u[0]]
    return fitting[-1] if fitting else units[0]


def tick_text(value: float, step: float | None, suffix: str) -> str:
    """A tick value with as many decimals as its step needs."""
    decimals = 0 if step is None else max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f} {suffix}".strip()


def log_unit_ticks(low: float, high: float, kind: str) -> tuple[float, float, list[tuple[float, str]]]:
    """Log-axis ticks at 1, 10 and 100 of each unit (1 KiB, 10 KiB, 100 KiB, 1 MiB ...; decades for plain numbers),
    from the last one at or below `low` to the first at or above `high`, every other one when there are more than 7."""
    if kind in ("bytes", "seconds"):
        units = UNITS[kind]
        found = [(m * scale, f"{m} {suffix}") for i, (scale, suffix) in enumerate(units) for m in (1, 10, 100)
                 if i + 1 == len(units) or m * scale < units[i + 1][0]]
        if kind == "seconds":
            found += [(m, f"{m} s") for m in (1000, 10000)]
    else:
        found = [(10.0 ** k, f"{10.0 ** k:g}") for k in range(-12, 13)]
    first = max((t for t in found if t[0] <= low), default=found[0])
    last = min((t for t in found if t[0] >= high), default=found[-1])
    ticks = [t for t in found if first[0] <= t[0] <= last[0]]
    while len(ticks) > 7:
        ticks = ticks[::2] if ticks[::2][-1] == last else ticks[::2] + [last]
    return first[0], last[0], ticks


class Axis:
    """Maps data values to pixels over a range rounded to nice ticks; logarithmic for costs spanning more than 20x."""

    def __init__(self, values: list[float], lo_px: float, hi_px: float, allow_log: bool, kind: str = "number"):
        low, high = min(values), max(values)
        self.log = allow_log and low > 0 and high / low > LOG_SCALE_RATIO
        self.lo_px, self.hi_px = lo_px, hi_px
        if self.log:
            self.low, self.high, self.labelled = log_unit_ticks(low, high, kind)
            return
        scale, suffix = unit_for(kind, max(abs(low), abs(high)))
        first, last, ticks = linear_ticks(low / scale, high / scale)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else None
        self.low, self.high = first * scale, last * scale
        self.labelled = [(t * scale, tick_text(t, step, suffix)) for t in ticks]

    def __call__(self, value: float) -> float:
        if self.log:
            v, low, high = math.log10(value), math.log10(self.low), math.log10(self.high)
        else:
            v, low, high = value, self.low, self.high
        return self.lo_px + (v - low) / (high - low) * (self.hi_px - self.lo_px)

    def ticks(self) -> list[tuple[float, str]]:
        return [(self(value), label) for value, label in self.labelled]


def finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def scatter(title: str, x_label: str, y_label: str, rows: list[dict[str, Any]], x_key: str, higher_is_better: bool,
            x_kind: str, x_fmt: Callable[[float], str], y_fmt: Callable[[float], str], chance: float | None = None,
            reference: str | None = None) -> Scatter | None:
    """Rows with `value` (and `ci_low`/`ci_high`), `x_key`, `method`, `run_page`; None when no row has both coordinates.
    Rows with a value but no `x_key` are listed in `missing`, never dropped silently."""
    drawn = [r for r in rows if finite(r.get(x_key)) and finite(r.get("value"))]
    missing = sorted({str(r.get("label") or r["method"]) for r in rows if finite(r.get("value")) and not finite(r.get(x_key))})
    if not drawn:
        return None
    xs = [float(r[x_key]) for r in drawn]
    ys = [float(r["value"]) for r in drawn]
    bounds = [float(r[k]) for r in drawn for k in ("ci_low", "ci_high") if finite(r.get(k))]
    y_axis = Axis(ys + bounds + ([chance] if chance is not None else []), HEIGHT - MARGIN_BOTTOM, MARGIN_TOP, allow_log=False)
    x_axis = Axis(xs, MARGIN_LEFT, WIDTH - MARGIN_RIGHT, allow_log=True, kind=x_kind)
    front = pareto_front(xs, ys, higher_is_better)
    points = [
        PlotPoint(x_axis(x), y_axis(y), r.get("label") or r["method"], f"{r.get('label') or r['method']}: {y_label} {y_fmt(y)}"
                  + (f" [{y_fmt(r['ci_low'])}, {y_fmt(r['ci_high'])}]" if finite(r.get("ci_low")) else "")
                  + f", {x_label} {x_fmt(x)}", r["run_page"], i in front,
                  y_axis(float(r["ci_low"])) if finite(r.get("ci_low")) else None,
                  y_axis(float(r["ci_high"])) if finite(r.get("ci_high")) else None, r["method"] == reference)
        for i, (r, x, y) in enumerate(zip(drawn, xs, ys))
    ]
    canvas = Box(MARGIN_LEFT + 1, MARGIN_TOP + 1, WIDTH - MARGIN_RIGHT - 1, HEIGHT - MARGIN_BOTTOM - 1)
    chance_line = None
    blocked = []
    if chance is not None:
        text = f"chance {y_fmt(chance)}"
        chance_line = (y_axis(chance), text)
        blocked.append(Box(MARGIN_LEFT + 2, chance_line[0] - 13, MARGIN_LEFT + 6 + CHAR_WIDTH * len(text), chance_line[0]))
    for point, spot in zip(points, place_labels([(p.px, p.py, p.label) for p in points], canvas, blocked)):
        point.label_at = spot
    stairs: list[tuple[float, float]] = []
    for i in front:
        px, py = x_axis(xs[i]), y_axis(ys[i])
        if stairs:
            stairs.append((px, stairs[-1][1]))
        stairs.append((px, py))
    return Scatter(title, x_label + (" (log scale)" if x_axis.log else ""), y_label, points,
                   " ".join(f"{x:.1f},{y:.1f}" for x, y in stairs), x_axis.ticks(), y_axis.ticks(),
                   chance_line, missing,
                   [p.label for p in points if p.label_at is None])


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


CURVE_MIN_POINTS = 8  # a one-key numeric breakdown with at least this many keys is drawn as lines, not a table
CURVE_STYLES = 6  # line styles the stylesheet defines (curve-0 ... curve-5), reused in turn


@dataclass
class CurveLine:
    """One method's breakdown as a polyline, with its legend entry."""

    label: str
    points: str  # SVG polyline points
    style: int
    tooltip: str


@dataclass
class Curve(Canvas):
    """A one-key numeric breakdown (e.g. perplexity by token position) with one line per method."""

    title: str
    x_label: str
    y_label: str
    lines: list[CurveLine]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]


def curve(title: str, per_method: list[tuple[str, list[dict[str, Any]]]], metric: str, metric_names: set[str],
          fmt: Callable[[float], str]) -> Curve | None:
    """Methods as lines over a breakdown's one numeric key, when it has at least CURVE_MIN_POINTS values; the y axis
    is logarithmic when the values span more than 20x (perplexity past a model's trained context)."""
    all_rows = [r for _, rows in per_method for r in rows if finite(r.get(metric))]
    keys = grid_keys(all_rows, metric_names)
    if keys is None or len(keys) != 1 or not all(isinstance(r[keys[0]], (int, float)) for r in all_rows):
        return None
    key = keys[0]
    if len({r[key] for r in all_rows}) < CURVE_MIN_POINTS:
        return None
    x_axis = Axis([float(r[key]) for r in all_rows], MARGIN_LEFT, WIDTH - MARGIN_RIGHT, allow_log=False)
    y_axis = Axis([float(r[metric]) for r in all_rows], HEIGHT - MARGIN_BOTTOM, MARGIN_TOP, allow_log=True)
    lines = []
    for i, (method, rows) in enumerate(per_method):
        drawn = sorted((float(r[key]), float(r[metric])) for r in rows if finite(r.get(metric)))
        if drawn:
            lines.append(CurveLine(method, " ".join(f"{x_axis(x):.1f},{y_axis(y):.1f}" for x, y in drawn),
                                   i % CURVE_STYLES, f"{method}: {metric} from {fmt(drawn[0][1])} at {key} "
                                   f"{drawn[0][0]:g} to {fmt(drawn[-1][1])} at {drawn[-1][0]:g}"))
    return Curve(title, key, metric + (" (log scale)" if y_axis.log else ""), lines, x_axis.ticks(), y_axis.ticks())
