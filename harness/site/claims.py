"""Each seed paper's claims (harness.contracts.claims) against the records: a verdict per claim and board, computed
from a paired test on shared samples (or, for a claim about one method, its own 95% interval against a threshold),
never typed. *supported here*: the interval lies wholly on the claimed side; *contradicted here*: wholly on the other;
*not separated*: it straddles; *untested*: no board holds the runs the test needs yet (the command that makes them is
given), or the claim cannot be tested offline (the reason is given)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.contracts.claims import Claim, PaperClaims
from harness.records.store import safe_name
from harness.site.board_table import LoadedRecord, board_label, current_complete
from harness.site.versus_reference import Pair, pair_versus

SUPPORTED, CONTRADICTED, NOT_SEPARATED, UNTESTED = "supported here", "contradicted here", "not separated", "untested"


@dataclass
class Verdict:
    """One claim on one board (or untested): the interval it rests on, the runs, and the scale it was reached at."""

    paper: PaperClaims
    claim: Claim
    verdict: str
    comparison: str = ""  # what was compared, in words
    estimate: float | None = None  # the difference (method minus versus), or the method's value against a threshold
    low: float | None = None
    high: float | None = None
    how: str = ""  # "paired on N shared samples", "the run's own interval", or why there is no interval
    scale: str = ""  # here: model, hardware, n
    runs: list[tuple[str, str]] = field(default_factory=list)  # (method, run page)
    note: str = ""  # the command to make the records, or why the claim cannot be tested offline
    threshold: float | None = None  # set when the method's value is compared with a threshold
    n: int = 0  # the samples the interval rests on


def side(low: float | None, high: float | None, supports: str) -> str:
    """The verdict of an interval of (method minus versus or threshold) given the side that supports the claim."""
    if low is None or high is None:
        return NOT_SEPARATED
    if (low > 0 and supports == "higher") or (high < 0 and supports == "lower"):
        return SUPPORTED
    if (high < 0 and supports == "higher") or (low > 0 and supports == "lower"):
        return CONTRADICTED
    return NOT_SEPARATED


def matches(item: LoadedRecord, options: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether a record's task options and method parameters include those given."""
    record = item.record
    return (all(record.task.options.get(k) == v for k, v in options.items())
            and all(record.method.params.get(k) == v for k, v in params.items()))


def newest(board: pd.DataFrame, method: str, by_run: dict[str, LoadedRecord], options: dict[str, Any],
           params: dict[str, Any]) -> LoadedRecord | None:
    """The newest run of `method` on the board with these options and parameters."""
    runs = board[board["method"] == method].sort_values("created_at")
    found = [by_run[r] for r in runs["run_id"] if matches(by_run[r], options, params)]
    return found[-1] if found else None


def on_board(paper: PaperClaims, claim: Claim, board: pd.DataFrame, by_run: dict[str, LoadedRecord],
             task_frame: pd.DataFrame) -> Verdict | None:
    """The claim's verdict on one board, or None when the board lacks a run the test needs."""
    test = claim.test
    mine = newest(board, test.method, by_run, test.options, test.method_params)
    if mine is None or test.metric not in mine.record.metrics:
        return None
    value = mine.record.metrics[test.metric]
    scale = board_label(board, task_frame)
    runs = [(test.method, safe_name(mine.record.run_id))]
    if test.threshold is not None:
        low, high = value.ci95 if value.ci95 else (None, None)
        shift = [None if x is None else x - test.threshold for x in (low, high)]
        return Verdict(paper, claim, side(shift[0], shift[1], test.supports),
                       f"{test.metric} of {test.method} against {test.threshold:g}", value.value, low, high,
                       "the run's own 95% interval" if value.ci95 else "no interval in the record",
                       f"{scale} · n={value.n}", runs, threshold=test.threshold, n=value.n or 0)
    theirs = newest(board, test.versus, by_run, test.options, test.versus_params)
    if theirs is None or test.metric not in theirs.record.metrics:
        return None
    runs.append((test.versus, safe_name(theirs.record.run_id)))
    found = pair_versus(Pair(None, mine, theirs, test.metric, value.value, theirs.record.metrics[test.metric].value))
    comparison = f"{test.metric}: {test.method} minus {test.versus}"
    if found is None or found.delta_low is None:
        difference = value.value - theirs.record.metrics[test.metric].value
        return Verdict(paper, claim, NOT_SEPARATED, comparison, difference, None, None,
                       "the runs could not be paired on their samples", scale, runs)
    return Verdict(paper, claim, side(found.delta_low, found.delta_high, test.supports), comparison, found.delta,
                   found.delta_low, found.delta_high, f"paired on {found.delta_n} shared samples",
                   f"{scale} · n={found.delta_n}", runs, n=found.delta_n or 0)


def claim_verdicts(papers: list[PaperClaims], frame: pd.DataFrame, by_run: dict[str, LoadedRecord]) -> list[Verdict]:
    """Every claim's verdict on every board that holds the runs its test needs (current, complete, not stale), or one
    *untested* verdict with the command that would make them or the reason it cannot run offline."""
    usable = frame[current_complete(frame)] if len(frame) else frame
    verdicts = []
    for paper in papers:
        for claim in paper.claims:
            if claim.test is None:
                verdicts.append(Verdict(paper, claim, UNTESTED, note=claim.untested or ""))
                continue
            task_frame = usable[usable["task"] == claim.test.task] if len(usable) else usable
            found = [v for _, board in task_frame.groupby("board", sort=False)
                     if (v := on_board(paper, claim, board, by_run, task_frame)) is not None] if len(task_frame) else []
            found.sort(key=lambda v: -v.n)  # the board with the most samples first
            verdicts += found or [Verdict(paper, claim, UNTESTED, note=f"no board holds these runs yet: `{claim.test.command()}`")]
    return verdicts


def paper_lines(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """One line per paper for the home page: how many of its claims' verdicts are of each kind."""
    lines: dict[str, dict[str, Any]] = {}
    for v in verdicts:
        line = lines.setdefault(v.paper.paper, {"paper": v.paper.paper, "url": v.paper.url, "counts": {}})
        line["counts"][v.verdict] = line["counts"].get(v.verdict, 0) + 1
    return list(lines.values())
