"""The strict rule that reads a model's final answer from its own step-by-step completion.

The answer text follows the last "Answer:" or "The answer is" (either case, an optional ':' after "is") in the
completion, anywhere on a line, up to that line's end. An integer answer is the first integer there (an optional
'-' then digits, thousands commas removed); a name answer is the first of the question's candidate names to occur
there as a whole word. No marker, or nothing readable after the last one, is *unparsable*: it counts as wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MARKER = re.compile(r"(?:\banswer\s*:|\bthe answer is\b\s*:?)[ \t]*(?P<rest>[^\n]*)", re.IGNORECASE)
INTEGER = re.compile(r"-?\d[\d,]*")


def answer_line(completion: str) -> str | None:
    """The text after the last answer marker, to the end of its line, or None when there is none."""
    found = list(MARKER.finditer(completion))
    return found[-1].group("rest") if found else None


def parse_answer(completion: str, candidates: Sequence[str] = ()) -> str | None:
    """The model's final answer by the rule above (`candidates`: the names a name answer may be; none for integers),
    or None when it is unparsable."""
    rest = answer_line(completion)
    if rest is None:
        return None
    if not candidates:
        number = INTEGER.search(rest)
        return str(int(number.group().replace(",", ""))) if number else None
    positions = {name: m.start() for name in candidates if (m := re.search(rf"\b{re.escape(name)}\b", rest))}
    return min(positions, key=positions.get) if positions else None
