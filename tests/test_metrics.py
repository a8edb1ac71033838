"""Scoring and statistics against hand-computed values."""

import math

import numpy as np
import pytest

from harness.statistics.intervals import bootstrap_ci95, mean_stderr, summarize
from tasks.long_context.metrics import exact_match, first_number, lcs_length, partial_credit


@pytest.mark.parametrize("generated,em,pc", [
    (" 48213.\n\nThe", 1.0, 1.0),
    (" 4821", 0.0, 0.8),            # one digit lost at the end
    (" 48 213", 0.0, 0.4),          # the first number is 48
    (" 84213", 0.0, 0.8),           # LCS 4213
    (" no idea", 0.0, 0.0),
    (" 482130", 0.0, 1.0),          # all gold digits in order, but not the same number
])
def test_exact_match_and_partial_credit(generated, em, pc):
    assert exact_match("48213", generated) == em
    assert partial_credit("48213", generated) == pytest.approx(pc)


def test_helpers():
    assert first_number("key: 0042 and 7") == "0042"
    assert lcs_length("12345", "54321") == 1
    assert lcs_length("abcde", "ace") == 3


def test_mean_stderr_and_bootstrap():
    values = [0.0, 1.0, 1.0, 1.0]
    mean, stderr = mean_stderr(values)
    assert mean == 0.75
    assert stderr == pytest.approx(0.5 / math.sqrt(4))
    low, high = bootstrap_ci95(values, seed=1)
    assert 0.0 <= low <= mean <= high <= 1.0
    assert bootstrap_ci95(values, seed=1) == (low, high)  # seeded: reproducible
    assert mean_stderr([3.0]) == (3.0, None) and bootstrap_ci95([3.0]) is None


def test_summarize_percentiles():
    raw = list(range(1, 101))
    stats = summarize(raw)
    assert stats["p50"] == 50.5 and stats["median"] == 50.5
    assert stats["p90"] == pytest.approx(np.percentile(raw, 90))
    assert stats["mad"] == 25.0
    assert stats["min"] == 1 and stats["max"] == 100
