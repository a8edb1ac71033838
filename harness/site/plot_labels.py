"""Places point labels on a plot without overlaps or clipping: for each point in turn, the first candidate position
whose box stays inside the canvas and meets no box already placed (labels and point markers); a label with no free
position is left out and listed, so nothing is drawn on top of anything else.

The result is that of checking every candidate against every box placed before it, in O(n log n) per plot rather
than O(n^2): the markers are all known up front, so which candidates touch a marker is counted for all candidates at
once (a sweep over the markers sorted by x with a Fenwick tree over their y order, O(log n) a candidate); placed
labels never overlap one another, so a uniform grid of them holds a bounded number per cell and a candidate meets
only the few labels in the cells it covers."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

CHAR_WIDTH = 6.2  # px per character at the labels' 10 px font, a little wide on purpose (no font metrics here)
LINE_HEIGHT = 12.0
MARKER = 6.0  # half the side of the box kept free around each point marker
CELL = 32.0  # side of a grid cell for placed labels, in px


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in canvas pixels."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: "Box") -> bool:
        return self.left < other.right and other.left < self.right and self.top < other.bottom and other.top < self.bottom

    def inside(self, outer: "Box") -> bool:
        return self.left >= outer.left and self.right <= outer.right and self.top >= outer.top and self.bottom <= outer.bottom


@dataclass(frozen=True)
class Placed:
    """A label's text anchor: x, the baseline y, and the SVG text-anchor."""

    x: float
    y: float
    anchor: str  # start | end | middle


def candidates(px: float, py: float, width: float) -> list[tuple[Placed, Box]]:
    """Right, left, above, below, then the diagonals, at two distances."""
    out = []
    for gap in (7.0, 16.0):
        spots = [
            (Placed(px + gap, py + 4, "start"), Box(px + gap, py - 8, px + gap + width, py + 4)),
            (Placed(px - gap, py + 4, "end"), Box(px - gap - width, py - 8, px - gap, py + 4)),
            (Placed(px, py - gap, "middle"), Box(px - width / 2, py - gap - LINE_HEIGHT, px + width / 2, py - gap)),
            (Placed(px, py + gap + 9, "middle"), Box(px - width / 2, py + gap - 3, px + width / 2, py + gap + 9)),
            (Placed(px + gap, py - gap, "start"), Box(px + gap, py - gap - LINE_HEIGHT, px + gap + width, py - gap)),
            (Placed(px - gap, py - gap, "end"), Box(px - gap - width, py - gap - LINE_HEIGHT, px - gap, py - gap)),
            (Placed(px + gap, py + gap + 9, "start"), Box(px + gap, py + gap - 3, px + gap + width, py + gap + 9)),
            (Placed(px - gap, py + gap + 9, "end"), Box(px - gap - width, py + gap - 3, px - gap, py + gap + 9)),
        ]
        out += spots
    return out


def marker_box(x: float, y: float) -> Box:
    return Box(x - MARKER, y - MARKER, x + MARKER, y + MARKER)


def markers_met(markers: list[Box], queries: list[Box]) -> list[int]:
    """For each query box, how many of the markers (equal-sized boxes) it overlaps: O((m + q) log m).

    Sorted by left edge, the markers' right edges are sorted too (same size), so the markers overlapping a query
    across x are one run of that order, found by bisection; likewise across y in the order by top edge. What is left
    is counting the markers whose x rank and y rank both fall in a run: a sweep over the x order with a Fenwick tree
    over y ranks, two prefix counts per query."""
    m = len(markers)
    if not m or not queries:
        return [0] * len(queries)
    by_x = sorted(range(m), key=lambda i: (markers[i].left, markers[i].right))
    by_y = sorted(range(m), key=lambda i: (markers[i].top, markers[i].bottom))
    lefts, rights = [markers[i].left for i in by_x], [markers[i].right for i in by_x]
    tops, bottoms = [markers[i].top for i in by_y], [markers[i].bottom for i in by_y]
    y_rank = [0] * m
    for rank, i in enumerate(by_y):
        y_rank[i] = rank
    # the markers meeting q across x are by_x[first:stop] (left < q.right and right > q.left), across y by_y[low:high]
    at: list[list[tuple[int, int, int, int]]] = [[] for _ in range(m + 1)]  # prefix length -> (query, sign, low, high)
    for k, q in enumerate(queries):
        first, stop = bisect_right(rights, q.left), bisect_left(lefts, q.right)
        low, high = bisect_right(bottoms, q.top), bisect_left(tops, q.bottom)
        if first < stop and low < high:
            at[stop].append((k, 1, low, high))
            at[first].append((k, -1, low, high))
    tree = [0] * (m + 1)
    counts = [0] * len(queries)

    def below(r: int) -> int:  # markers added so far with y rank < r
        total = 0
        while r > 0:
            total += tree[r]
            r &= r - 1
        return total

    for prefix in range(m + 1):
        for k, sign, low, high in at[prefix]:
            counts[k] += sign * (below(high) - below(low))
        if prefix < m:
            r = y_rank[by_x[prefix]] + 1
            while r <= m:
                tree[r] += 1
                r += r & -r
    return counts


class Grid:
    """Boxes bucketed by the CELL-sized cells they cover, clipped to the canvas (candidates never leave it)."""

    def __init__(self, canvas: Box):
        self.canvas = canvas
        self.finite = all(map(math.isfinite, (canvas.left, canvas.top, canvas.right, canvas.bottom)))
        self.cells: dict[tuple[int, int], list[Box]] = {}

    def span(self, box: Box) -> tuple[range, range] | None:
        c = self.canvas
        if not self.finite:  # an unbounded canvas: one cell for everything (correct, only slower)
            return range(1), range(1)
        left, right = max(min(box.left, box.right), c.left), min(max(box.left, box.right), c.right)  # an inverted
        top, bottom = max(min(box.top, box.bottom), c.top), min(max(box.top, box.bottom), c.bottom)  # box meets its span
        if not (left <= right and top <= bottom) or not all(map(math.isfinite, (left, right, top, bottom))):
            return None
        return (range(math.floor(left / CELL), math.floor(right / CELL) + 1),
                range(math.floor(top / CELL), math.floor(bottom / CELL) + 1))

    def add(self, box: Box) -> None:
        span = self.span(box)
        for cx in span[0] if span else ():
            for cy in span[1]:
                self.cells.setdefault((cx, cy), []).append(box)

    def meets(self, box: Box, own: Box) -> bool:
        """Whether `box` overlaps a box of the grid other than one equal to `own` (the point's own marker)."""
        span = self.span(box)
        for cx in span[0] if span else ():
            for cy in span[1]:
                if any(box.overlaps(t) for t in self.cells.get((cx, cy), ()) if t != own):
                    return True
        return False


def place_labels(points: list[tuple[float, float, str]], canvas: Box, blocked: list[Box] | None = None) -> list[Placed | None]:
    """A position for each (x, y, text), or None where every candidate would overlap or leave the canvas.

    Each label takes the first of its candidates that lies inside the canvas and overlaps no point marker, no
    `blocked` box and no label placed before it (a box equal to the point's own marker is not counted)."""
    markers = [marker_box(x, y) for x, y, _ in points]
    multiplicity: dict[Box, int] = {}
    for box in markers:
        multiplicity[box] = multiplicity.get(box, 0) + 1
    options = [[(p, box) for p, box in candidates(x, y, CHAR_WIDTH * len(text) + 2) if box.inside(canvas)]
               for x, y, text in points]
    queries = [box for spots in options for _, box in spots]
    met = iter(markers_met(markers, queries))
    grid = Grid(canvas)
    for box in blocked or []:
        grid.add(box)
    out: list[Placed | None] = []
    for own, spots in zip(markers, options):
        spot = None
        for p, box in spots:
            others = next(met) - (multiplicity[own] if box.overlaps(own) else 0)  # markers equal to its own do not count
            if spot is None and others == 0 and not grid.meets(box, own):
                spot = p
                grid.add(box)
        out.append(spot)
    return out
