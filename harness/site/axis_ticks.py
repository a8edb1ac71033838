"""Round axis ticks for linear axes: Heckbert's "nice numbers" (steps of 1, 2 or 5 times a power of ten)."""

from __future__ import annotations

import math


def nice(value: float, round_it: bool) -> float:
    """The nice number (1, 2, 5 or 10 times a power of ten) nearest `value` (round) or at or above it (ceiling)."""
    exponent = math.floor(math.log10(value))
    fraction = value / 10 ** exponent
    if round_it:
        step = 1 if fraction < 1.5 else 2 if fraction < 3 else 5 if fraction < 7 else 10
    else:
        step = 1 if fraction <= 1 else 2 if fraction <= 2 else 5 if fraction <= 5 else 10
    return step * 10 ** exponent


def linear_ticks(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    """A rounded range covering [low, high] and its ticks, about `count` of them, evenly spaced at a nice step."""
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice(nice(high - low, False) / max(1, count - 1), True)
    first, last = math.floor(low / step) * step, math.ceil(high / step) * step
    ticks = [round(first + k * step, 12) for k in range(int(round((last - first) / step)) + 1)]
    return first, last, ticks
