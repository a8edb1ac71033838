"""Paired comparison of a run against a reference run of the same task on the same sample ids.

Differences are taken on the ids both runs scored; the interval is a paired bootstrap that resamples those ids
(each resample keeps a sample's two scores together); binary metrics also get McNemar's exact test on the
discordant pairs. The reference run is found on the same board (`harness.records.board_key.board_key`) in the same
results folder and pinned by run id and samples sha256, so `harness validate` can recompute the comparison.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import binomtest

from harness.contracts.record import Comparison, PairedMetric, ResultRecord
from harness.records.board_key import same_board
from harness.records.store import SampleLog, load_record, samples_path, samples_sha256
from harness.statistics.intervals import BOOTSTRAP_RESAMPLES

if TYPE_CHECKING:
    from harness.contracts.task import Task


def find_reference(record: ResultRecord, folder: Path) -> tuple[ResultRecord, Path] | None:
    """The newest complete record in `folder` (the reference method's cell folder) on the same board as `record`."""
    found = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        if path.name.startswith("."):
            continue
        try:
            other = load_record(path)
        except Exception:  # noqa: BLE001 - an unreadable neighbour is validate's business, not a reason to fail this run
            continue
        if (other.status == "complete" and other.artifacts and (path.parent / other.artifacts.samples).is_file()
                and same_board(record, other)):
            found.append((other.created_at, other, path))
    if not found:
        return None
    _, other, path = max(found, key=lambda item: item[0])
    return other, path


def mcnemar_p(wins: int, losses: int) -> float:
    """Exact McNemar test: two-sided binomial test of the discordant pairs against 1/2."""
    discordant = wins + losses
    return 1.0 if discordant == 0 else float(binomtest(wins, discordant, 0.5).pvalue)


def paired_metrics(task: "Task", rows: list[dict[str, Any]], reference_rows: list[dict[str, Any]], seed: int) -> dict[str, PairedMetric]:
    """Method minus reference for every metric the task can pair, on the shared ids, with a paired bootstrap interval."""
    theirs = {row["id"]: row["scores"] for row in reference_rows}
    shared = [row for row in rows if row["id"] in theirs]
    if not shared:
        return {}
    result = {}
    rng_idx = np.random.default_rng(seed).integers(0, len(shared), size=(BOOTSTRAP_RESAMPLES, len(shared)))
    for spec in task.spec.metrics:
        pairing = task.pair_statistic(spec.name)
        if pairing is None:
            continue
        column, statistic = pairing
        if not all(column in row["scores"] and column in theirs[row["id"]] for row in shared):
            continue
        mine = np.array([row["scores"][column] for row in shared], dtype=float)
        ref = np.array([theirs[row["id"]][column] for row in shared], dtype=float)
        difference = float(statistic(mine[None])[0] - statistic(ref[None])[0])
        ci = None
        if len(shared) > 1:
            resampled = statistic(mine[rng_idx]) - statistic(ref[rng_idx])
            low, high = np.percentile(resampled, [2.5, 97.5])
            ci = (float(low), float(high))
        sign = 1.0 if spec.higher_is_better else -1.0
        # Each sample judged by the statistic of itself alone, so a column stored in another direction than the
        # metric (a log-likelihood behind a perplexity) still counts a better sample as a win.
        better = sign * (statistic(mine[:, None]) - statistic(ref[:, None]))
        wins, losses = int((better > 0).sum()), int((better < 0).sum())
        binary = spec.binary
        result[spec.name] = PairedMetric(difference=difference, ci95=ci, n=len(shared), wins=wins, losses=losses,
                                         ties=len(shared) - wins - losses, higher_is_better=spec.higher_is_better,
                                         p_value=mcnemar_p(wins, losses) if binary else None,
                                         test="mcnemar_exact" if binary else None)
    return result


def compare_with(task: "Task", rows: list[dict[str, Any]], record_path: Path, reference: ResultRecord,
                 reference_path: Path, seed: int) -> Comparison:
    """The comparison block of a record against one reference record (its samples read from disk)."""
    samples = samples_path(reference, reference_path)
    return Comparison(reference=reference.method.name, run_id=reference.run_id,
                      record=os.path.relpath(reference_path, record_path.parent), samples_sha256=samples_sha256(samples),
                      metrics=paired_metrics(task, rows, SampleLog(samples).read(), seed))


def recompute(task: "Task", record: ResultRecord, path: Path, rows: list[dict[str, Any]]) -> Comparison | str | None:
    """The record's comparison recomputed against its pinned reference, or a one-line problem with that reference."""
    pinned = record.comparison
    if pinned is None:
        return None
    reference_path = (path.parent / pinned.record).resolve()
    here = path.resolve()
    tree = here.parents[4] if len(here.parents) > 4 else here.parent  # results/task/method/model/hardware/RUN.json
    if not reference_path.is_relative_to(tree) or reference_path.suffix != ".json":
        return f"the reference record {pinned.record} of its comparison is not a record inside its results tree"
    if not reference_path.is_file():
        return f"the reference record {pinned.record} of its comparison with {pinned.reference} is missing"
    reference = load_record(reference_path)
    if reference.run_id != pinned.run_id or reference.artifacts is None:
        return f"the reference record {pinned.record} is not run {pinned.run_id}"
    if reference.method.name != pinned.reference or reference.status != "complete":
        return f"the reference record {pinned.record} is not a complete run of {pinned.reference}"
    if not same_board(record, reference):
        return f"the reference record {pinned.record} is on another board (task options, split, limit, seed, model or hardware differ)"
    if samples_sha256(samples_path(reference, reference_path)) != pinned.samples_sha256:
        return f"the samples of reference run {pinned.run_id} changed since the comparison was made"
    return compare_with(task, rows, path, reference, reference_path, record.config.seed).model_copy(update={"record": pinned.record})
