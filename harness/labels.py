"""Places point labels on a plot without overlaps or clipping: for each point in turn, the first candidate position
whose box stays inside the canvas and meets no box already placed (labels and point markers); a label with no free
position is left out and listed, so nothing is drawn on top of anything else."""

from __future__ import annotations

from dataclasses import dataclass

CHAR_WIDTH = 6.2  # px per character at the labels' 10 px font, a little wide on purpose (no font metrics here)
LINE_HEIGHT = 12.0
MARKER = 6.0  # half the side of the box kept free around each point marker


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


def place_labels(points: list[tuple[float, float, str]], canvas: Box, blocked: list[Box] | None = None) -> list[Placed | None]:
    """A position for each (x, y, text), or None where every candidate would overlap or leave the canvas."""
    taken = [Box(x - MARKER, y - MARKER, x + MARKER, y + MARKER) for x, y, _ in points] + list(blocked or [])
    out: list[Placed | None] = []
    for x, y, text in points:
        width = CHAR_WIDTH * len(text) + 2
        own = Box(x - MARKER, y - MARKER, x + MARKER, y + MARKER)
        spot = next((p for p, box in candidates(x, y, width)
                     if box.inside(canvas) and not any(box.overlaps(t) for t in taken if t != own)), None)
        if spot is not None:
            taken.append(next(box for p, box in candidates(x, y, width) if p == spot))
        out.append(spot)
    return out
