"""Answer scoring for retrieval: exact match and ordered digit overlap (partial credit)."""

from __future__ import annotations

import re


def first_number(text: str) -> str:
    match = re.search(r"\d+", text)
    return match.group(0) if match else ""


def lcs_length(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def exact_match(gold: str, generated: str) -> float:
    """1.0 when the first number in the generated text is the gold number."""
    return float(first_number(generated) == gold)


def contains(gold: str, generated: str) -> float:
    """1.0 when the gold answer appears anywhere in the generated text (LaCache's niah score: `gold in answer`)."""
    return float(bool(gold) and gold in generated)


def partial_credit(gold: str, generated: str) -> float:
    """Ordered digit overlap: longest common subsequence of gold and predicted digits over the gold length."""
    pred = first_number(generated)
    return lcs_length(gold, pred) / len(gold) if gold else 0.0
