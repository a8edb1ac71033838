"""Ranks from paired tests on shared samples, Holm-corrected over a board's pairs (harness.site.paired_ranks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.site.board_table import records_frame, vetted
from harness.site.paired_ranks import Resampled, board_ranks, holm_rejected, pair_p, universe_key, with_ranks
from tests.conftest import ROOT

IDS = universe_key("ids", [f"s{i}" for i in range(30)])


def binary(correct: int, n: int = 30, universe: str = IDS) -> Resampled:
    """A 0/1 run whose first `correct` samples are right (its draws are unused: McNemar decides)."""
    outcomes = np.arange(n) < correct
    return Resampled(universe, correct / n, np.zeros(4), outcomes)


def test_holm_steps_down_and_stops_at_the_first_failure():
    # sorted: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2: stop, so 0.04 is kept too although 0.04 <= 0.05
    assert holm_rejected([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    assert holm_rejected([0.04]) == [True] and holm_rejected([0.06]) == [False]
    assert holm_rejected([0.02, 0.02]) == [True, True]  # 0.02 <= 0.025, then 0.02 <= 0.05


def test_a_run_beaten_in_a_paired_test_ranks_below_and_copies_count_once():
    runs = {"a": ("log-a", binary(30)), "b": ("log-b", binary(15)), "b-copy": ("log-b", binary(15))}
    got = board_ranks(runs, higher_is_better=True)
    # one pair only (the copy shares b's log): McNemar 15 discordant, all for a, p = 6e-5
    assert {k: s.rank for k, s in got.items()} == {"a": 1, "b": 2, "b-copy": 2}
    assert board_ranks(runs, higher_is_better=False)["b"].rank == 1  # the direction decides who beat whom


def test_the_same_two_runs_separate_alone_but_not_among_many_pairs():
    close = {"a": ("log-a", binary(20)), "b": ("log-b", binary(14))}  # 6 discordant, all for a: p = 0.031
    assert {k: s.rank for k, s in board_ranks(close, True).items()} == {"a": 1, "b": 2}
    crowd = close | {f"c{i}": (f"log-c{i}", binary(17)) for i in range(3)}  # identical outcomes among the c's
    got = board_ranks(crowd, True)
    assert got["a"].rank == 1 and got["b"].rank == 1  # ten pairs: 0.031 > 0.05/10, so Holm keeps them together


def test_continuous_metrics_use_the_paired_bootstrap_spread():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 1000)
    a = Resampled(IDS, 1.0, 1.0 + base * 0.1)
    b = Resampled(IDS, 0.8, 0.8 + base * 0.1)  # the same resamples move both: their difference never varies
    c = Resampled(IDS, 0.8, 0.8 + rng.normal(0, 1, 1000) * 0.1)  # independent noise: the difference is 1.4 sd
    assert pair_p(a, b) == 0.0
    assert pair_p(a, c) == pytest.approx(2 * (1 - 0.9214), abs=0.03)
    assert pair_p(a, a) == 1.0
    with_nan = Resampled(IDS, 0.8, np.where(np.arange(1000) % 2 == 0, np.nan, 0.8 + base * 0.1))
    assert pair_p(a, with_nan) == 0.0  # undefined resamples are dropped, not propagated


def test_runs_that_cannot_be_paired_say_why_instead_of_ranking():
    runs = {"a": ("log-a", binary(30)), "b": ("log-b", binary(10)),
            "other-ids": ("log-o", binary(5, universe=universe_key("ids", ["x"]))),
            "opaque": ("log-p", Resampled(problem="not ranked: its metric is not a statistic of its samples"))}
    got = board_ranks(runs, True)
    assert got["a"].rank == 1 and got["b"].rank == 2
    assert got["other-ids"].rank is None and "sample ids differ" in got["other-ids"].note
    assert got["opaque"].rank is None and "not a statistic" in got["opaque"].note


def test_a_board_with_more_distinct_runs_than_it_pairs_says_so(monkeypatch):
    import harness.site.paired_ranks as paired_ranks

    monkeypatch.setattr(paired_ranks, "MOST_DISTINCT", 2)
    got = board_ranks({k: (f"log-{k}", binary(c)) for k, c in (("a", 30), ("b", 20), ("c", 10))}, True)
    assert all(s.rank is None and "3 distinct runs, more than the 2" in s.note for s in got.values())


def test_committed_passkey_ranks_agree_with_the_paired_test():
    """The issue's case: streamingllm was "rank 1, tied" with full on passkey (overlapping unpaired intervals) while
    their paired difference was -0.333 [-0.515, -0.152], McNemar p=0.003."""
    found = vetted(ROOT / "results" / "passkey")
    by_run = {i.record.run_id: i for i in found.items}
    frame = with_ranks(records_frame(found.items), by_run)
    ranked = frame[frame["rank"].notna()]
    board = ranked[ranked["board"] == ranked.loc[ranked["method"] == "snapkv", "board"].iloc[0]].set_index("method")
    full, streaming = board.loc["full"], board.loc["streamingllm"]
    paired = by_run[streaming["run_id"]].record.comparison.metrics["exact_match"]
    assert paired.ci95[1] < 0 and paired.p_value < 0.01  # the record's own paired comparison separates them...
    assert full["rank"] == 1 and streaming["rank"] == 2 and not full["tied"]  # ...and so do the ranks now


def test_site_marks_unranked_runs_with_the_reason(tmp_path: Path):
    from tests.conftest import harness_cli
    from tests.synthetic import write_passkey_record

    results = tmp_path / "results"
    write_passkey_record(results, "full", 0.9, 100_000_000, 2.0, run_index=1)
    write_passkey_record(results, "snapkv", 0.2, 50_000_000, 1.5, run_index=2)
    proc = harness_cli("site", "--results", str(results), "--out", str(tmp_path / "site"))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "site" / "tasks" / "passkey.html").read_text()
    assert "Holm" in page and "paired test" in page
    rows = (tmp_path / "site" / "tasks").glob("passkey--*.csv")
    text = next(rows).read_text()
    assert text.splitlines()[0].startswith("rank,tied,rank_note,method")
