"""Paired differences for metrics that are not a mean of one per-sample column: each family's unit statistic gives
back its aggregate's value, the paired bootstrap is tighter than an unpaired one on correlated runs, and a board
whose task has no hook (or a hook that misses the record's value) stays unpaired."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.contracts.registry import TASKS
from harness.site.board_table import load_all, records_frame
from harness.statistics.intervals import bootstrap_statistics
from harness.statistics.resampling import UnitStatistic, paired_difference, unit_counts, weighted_mean
from tests.synthetic import write_passkey_record

RNG = np.random.default_rng(7)


def log_row(sample_id: str, scores: dict[str, float], **meta) -> dict:
    return {"id": sample_id, "output": {}, "scores": scores, "meta": meta}


def hallucination_rows(noise: np.ndarray, base: np.ndarray) -> list[dict]:
    """Problems in two domains, each a sound twin (label 0) and a corrupted one (label 1) scoring a bit higher."""
    rows = []
    for p in range(len(base)):
        domain = ("arithmetic", "ordering")[p % 2]
        for label in (0, 1):
            score = float(base[p] + 0.4 * label + noise[2 * p + label])
            rows.append(log_row(f"p{p}-{label}", {"label": float(label), "score": score}, group=f"p{p}", domain=domain))
    return rows


def copy_rows(n: int, k: int) -> list[dict]:
    rows = []
    for q in range(n):
        kind = ("base", "novel")[q % 2]
        positive = q % 3 != 0
        scores = sorted(RNG.random(k).round(2).tolist(), reverse=True)  # rounded: ties across queries
        matches = [0.0] * k
        if positive and q % 4:
            matches[int(RNG.integers(0, k))] = 1.0
        row = {"positive": float(positive), "rank": float(matches.index(1.0)) if 1.0 in matches else -1.0,
               "match": float(matches.index(1.0) + 1) if 1.0 in matches else 0.0}
        logged = log_row(f"q{q}", row, kind=kind, pattern="crop")
        logged["output"] = {"predictions": [[f"r{q}-{i}", scores[i]] for i in range(k)]}  # the listed scores live here
        rows.append(logged)
    return rows


def eeg_rows() -> list[dict]:
    rows = [log_row(f"source_only-seed{s}", {"auroc": 0.6 + 0.01 * s, "balanced_accuracy": 0.5},
                    regime="source_only", fraction=None, train_seed=s) for s in range(3)]
    for regime in ("scratch", "finetuned"):
        for fraction in (0.05, 0.2):
            for s in range(3):
                rows.append(log_row(f"{regime}-{fraction}-seed{s}", {"auroc": float(RNG.random()), "balanced_accuracy": float(RNG.random())},
                                    regime=regime, fraction=fraction, train_seed=s))
    return rows


def depth_rows() -> list[dict]:
    names = ("absrel", "delta1", "delta2", "delta3", "rmse")
    kinds = ["indoor", "outdoor"] * 5 + ["real"]
    return [log_row(f"img{i}", {n: float(RNG.random()) for n in names}, kind=kind) for i, kind in enumerate(kinds)]


def text_removal_rows() -> list[dict]:
    rows = []
    for i in range(12):
        setting = ("box_mask", "no_mask")[i % 2]
        scores = {"psnr": float(20 + RNG.random()), "mse": 0.0 if i == 4 else float(RNG.random()), "mssim": 0.9,
                  "age": 1.0, "peps": 0.1, "pceps": 0.1, "psnr_skimage": float(21 + RNG.random()), "ssim_skimage": 0.8}
        rows.append(log_row(f"t{i}", {} if i == 6 else scores, setting=setting, words=1 + i % 3))
    return rows


FIXTURES = {
    "reasoning_hallucination": ({}, lambda: hallucination_rows(RNG.normal(0, 0.5, 24), RNG.normal(0, 1, 12)),
                                ["auroc", "auroc_arithmetic", "auroc_ordering"]),
    "copy_detection": ({"k": 3}, lambda: copy_rows(30, 3), ["uap", "uap_base", "uap_novel"]),
    "eeg_transfer": ({}, eeg_rows, ["auroc", "bacc"]),
    "depth": ({}, depth_rows, ["absrel", "rmse", "absrel_real", "delta1_real"]),
    "text_removal": ({}, text_removal_rows, ["psnr_box", "psnr_nomask", "mse_box", "psnr_skimage_box"]),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_familys_unit_statistic_gives_back_its_aggregate(name):
    options, make, metrics = FIXTURES[name]
    task = TASKS.get(name)(options)
    rows = make()
    aggregated = task.metrics_of(rows, seed=0)
    assert task.spec.main_metric in metrics
    for metric in metrics:
        found = task.unit_statistic(metric, rows)
        assert found is not None and len(found.units) == aggregated[metric].n, metric
        assert found.value() == pytest.approx(aggregated[metric].value, rel=1e-9), metric
    assert task.unit_statistic("no_such_metric", rows) is None


def test_hallucination_draws_both_twins_of_a_problem_together():
    task = TASKS.get("reasoning_hallucination")({})
    rows = hallucination_rows(RNG.normal(0, 0.5, 24), RNG.normal(0, 1, 12))
    units = task.unit_statistic("auroc", rows).units
    assert len(units) == 24 and len(set(units)) == 12 and units[0] == units[1] == "p0"


def test_auroc_draws_are_the_records_own_group_bootstrap():
    task = TASKS.get("reasoning_hallucination")({})
    rows = hallucination_rows(RNG.normal(0, 0.5, 24), RNG.normal(0, 1, 12))
    found = task.unit_statistic("auroc", rows)
    against_zero = UnitStatistic(found.units, lambda weights: np.zeros(len(weights)))
    value, interval = paired_difference(found, against_zero, seed=0)
    recorded = task.metrics_of(rows, seed=0)["auroc"]
    assert value == pytest.approx(recorded.value) and interval == pytest.approx(recorded.ci95, rel=1e-12)


def test_weighted_micro_ap_counts_a_query_drawn_twice_as_two_listed_copies():
    from tasks.copy_detection.metrics import Predictions
    from tasks.copy_detection.task import CopyDetection

    rows = CopyDetection({"k": 3}).score_rows(copy_rows(12, 3))
    for per_query in (None, 1.5):  # every listed pair, or ISC's global cut (1.5 x the queries drawn)
        predictions = Predictions.from_rows(rows, 3, per_query)
        assert predictions.weighted_micro_ap(np.ones((1, 12)))[0] == pytest.approx(predictions.micro_ap(), rel=1e-12)
        for query in range(12):  # matched and unmatched, positive and negative queries
            weights = np.ones((1, 12))
            weights[0, query] = 2
            listed_twice = Predictions.from_rows(rows + [rows[query]], 3, per_query).micro_ap()
            assert predictions.weighted_micro_ap(weights)[0] == pytest.approx(listed_twice, rel=1e-12), (per_query, query)
        assert np.isnan(predictions.weighted_micro_ap(np.zeros((1, 12))))[0]


def test_unit_counts_tally_each_resamples_draws():
    counts = unit_counts(np.array([[0, 0, 2], [1, 2, 2]]), 3)
    assert counts.tolist() == [[2, 0, 1], [0, 1, 2]]


def unpaired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    draws = bootstrap_statistics(a, seed=1, statistic=np.mean) - bootstrap_statistics(b, seed=2, statistic=np.mean)
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def test_paired_interval_holds_the_difference_and_is_narrower_on_correlated_runs():
    base = RNG.normal(0, 1, 200)
    mine, ref = base + 0.1 + RNG.normal(0, 0.1, 200), base
    ids = [f"s{i}" for i in range(200)]
    difference, (low, high) = paired_difference(UnitStatistic(ids, weighted_mean(mine)), UnitStatistic(ids, weighted_mean(ref)))
    assert difference == pytest.approx(mine.mean() - ref.mean())
    assert low < difference < high
    unpaired_low, unpaired_high = unpaired_interval(mine, ref)
    assert high - low < (unpaired_high - unpaired_low) / 3


def test_paired_auroc_interval_is_narrower_than_the_unpaired_one():
    task = TASKS.get("reasoning_hallucination")({})
    base, noise = RNG.normal(0, 1, 60), RNG.normal(0, 0.6, 120)
    mine = task.unit_statistic("auroc", hallucination_rows(noise + RNG.normal(0, 0.1, 120), base))
    ref = task.unit_statistic("auroc", hallucination_rows(noise, base))
    difference, (low, high) = paired_difference(mine, ref)
    assert low <= difference <= high
    renamed = UnitStatistic([f"ref-{u}" for u in ref.units], ref.statistic)  # no shared units: independent draws
    _, (unpaired_low, unpaired_high) = paired_difference(mine, renamed)
    assert high - low < unpaired_high - unpaired_low


@pytest.fixture()
def passkey_results(tmp_path) -> Path:
    write_passkey_record(tmp_path, "full", 0.9, 100_000_000, 2.0, run_index=1)
    write_passkey_record(tmp_path, "snapkv", 0.6, 50_000_000, 1.5, run_index=2)
    return tmp_path


def versus_of(results: Path) -> pd.Series:
    from harness.site.versus_reference import with_versus

    items = load_all(results)
    frame = with_versus(records_frame(items), {i.record.run_id: i for i in items})
    return frame.set_index("method").loc["snapkv"]


def test_a_board_without_either_hook_stays_unpaired(passkey_results, monkeypatch):
    cls = type(TASKS.get("passkey")({}))
    monkeypatch.setattr(cls, "pair_statistic", lambda self, metric: None)
    snap = versus_of(passkey_results)
    assert snap["delta_how"] == "unpaired" and snap["delta"] == pytest.approx(0.6 - 0.9) and pd.isna(snap["delta_low"])


def test_the_unit_statistic_pairs_a_board_when_it_gives_back_the_records_value(passkey_results, monkeypatch):
    cls = type(TASKS.get("passkey")({}))
    monkeypatch.setattr(cls, "pair_statistic", lambda self, metric: None)
    monkeypatch.setattr(cls, "unit_statistic", lambda self, metric, rows: UnitStatistic(
        [r["id"] for r in rows], weighted_mean([r["scores"][metric] for r in rows])))
    snap = versus_of(passkey_results)
    assert snap["delta_how"] == "paired" and snap["delta"] == pytest.approx(0.6 - 0.9)
    assert snap["delta_low"] < snap["delta"] < snap["delta_high"] and snap["delta_n"] == 10
    # a hook that does not reproduce the record's value is not trusted
    monkeypatch.setattr(cls, "unit_statistic", lambda self, metric, rows: UnitStatistic(
        [r["id"] for r in rows], lambda weights: np.full(len(weights), 0.5)))
    assert versus_of(passkey_results)["delta_how"] == "unpaired"


def test_syntsbench_hook_averages_only_the_cells_with_an_optimum():
    rows = [log_row("a-h96", {"mse": 0.1, "near_optimal": 1.0}), log_row("b-h96", {"mse": 0.2}),
            log_row("c-h96", {"mse": 0.3, "near_optimal": 0.0}), log_row("d-h96", {"mse": 0.4, "near_optimal": 1.0})]
    for name in ("syntsbench_complex", "syntsbench_multivariate"):
        found = TASKS.get(name)().unit_statistic("near_optimal", rows)
        assert found.units == ["a-h96", "c-h96", "d-h96"]  # b has no optimum: not a unit at all
        assert found.statistic(np.ones((1, 3)))[0] == pytest.approx(2 / 3)
        assert found.statistic(np.array([[0.0, 1.0, 0.0]]))[0] == 0.0
        assert TASKS.get(name)().unit_statistic("near_optimal", [rows[1]]) is None
