"""Image copy detection: DISC21 metrics on hand-built lists, the patterns, the offline data, methods and both splits."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from harness.contracts.task import Sample
from tasks.copy_detection.data import TrainingSet, offline_data
from tasks.copy_detection.index import ReferenceIndex
from tasks.copy_detection.metrics import (
    NOT_FOUND,
    Predictions,
    average_precision,
    precision_recall,
    rank_of_match,
    recall_at_precision,
)
from tasks.copy_detection.patterns import ALL, BASE, NOVEL, apply
from tasks.copy_detection.task import CopyDetection
from tasks.imagery import make_image
from tests.conftest import harness_cli, logged_rows

SMALL = ["--task-arg", "references=60", "--task-arg", "base_queries=21", "--task-arg", "novel_queries=10",
         "--task-arg", "distractor_queries=20", "--task-arg", "prompts_per_pattern=1", "--task-arg", "train_images=24",
         "--task-arg", "image_size=48", "--repeats", "1"]


def test_micro_ap_and_recall_at_p90_match_hand_computed_values():
    # sorted by score: T F T F F, 3 ground-truth pairs (one never predicted)
    matches = np.array([True, False, True, False, False])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    p, r, _ = precision_recall(matches[::-1], scores[::-1], 3)  # input order must not matter
    np.testing.assert_allclose(p, [1, 1 / 2, 2 / 3, 2 / 4, 2 / 5])
    np.testing.assert_allclose(r, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert average_precision(r, p) == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)  # 5/9
    assert recall_at_precision(p, r, 0.9) == pytest.approx(1 / 3)  # only the first cut reaches P90
    assert recall_at_precision(p, r, 0.6) == pytest.approx(2 / 3)  # the cut at 2/3 precision


def test_ties_rank_non_matches_first_so_constant_scores_gain_nothing():
    p, r, _ = precision_recall(np.array([True, False]), np.array([0.5, 0.5]), 1)
    np.testing.assert_allclose(p, [0, 1 / 2])
    assert average_precision(r, p) == pytest.approx(0.5)  # 1.0 if the match were ranked first
    assert recall_at_precision(p, r, 0.9) is None
    assert rank_of_match([0.9, 0.9, 0.5], [False, True, False]) == 1  # a tie counts against the match
    assert rank_of_match([0.9, 0.5], [False, False]) == NOT_FOUND


def sample(qid: str, target: str | None, kind: str) -> Sample:
    return Sample(id=qid, inputs={}, target=target, meta={"kind": kind, "pattern": "x", "distractor": target is None})


def test_task_scores_and_aggregates_a_hand_built_list_per_group():
    task = CopyDetection({"k": 2})
    cases = [  # (sample, predictions as the method returned them)
        (sample("q1", "r1", "base"), [["r1", 0.9], ["r7", 0.1]]),
        (sample("q2", "r2", "base"), [["r5", 0.8], ["r2", 0.7]]),
        (sample("q3", None, "base"), [["r3", 0.6], ["r4", 0.2]]),
        (sample("q4", "r4", "novel"), [["r8", 0.5], ["r9", 0.4]]),
        (sample("q5", None, "novel"), [["r1", 0.95], ["r2", 0.3]]),
        (sample("q6", "r6", "novel"), [["r6", 0.3], ["r1", 0.3]]),
    ]
    outputs = [{"predictions": preds, "prompt": None} for _, preds in cases]
    scores = [task.score(s, output) for (s, _), output in zip(cases, outputs)]
    assert [r["rank"] for r in scores] == [0, 1, -1, -1, -1, 1]  # q6: tied with a non-match, so rank 1
    assert all(set(r) == {"positive", "rank", "match"} for r in scores)  # the listed scores stay in the output alone
    log_rows = [{"id": s.id, "output": output, "scores": r, "meta": s.meta} for (s, _), output, r in zip(cases, outputs, scores)]
    rows = task.score_rows(log_rows)
    assert [r["score_2"] for r in rows] == [0.1, 0.7, 0.2, 0.4, 0.3, 0.3]  # read back from the outputs
    metrics = task.metrics_of(log_rows, seed=0)
    # base list: .9 T, .8 F, .7 T, .6 F, .2 F, .1 F; 2 positives -> AP = 1/2 * 1 + 1/2 * 2/3
    assert metrics["uap_base"].value == pytest.approx(1 / 2 + 1 / 3)
    assert metrics["recall_p90_base"].value == pytest.approx(1 / 2)
    assert metrics["recall_at_1_base"].value == pytest.approx(1 / 2)
    assert metrics["recall_at_10_base"].value == pytest.approx(1.0)
    # novel list: .95 F, .5 F, .4 F, then the three .3s non-matches first: F, F, T; 2 positives -> AP = 1/2 * 1/6
    assert metrics["uap_novel"].value == pytest.approx(1 / 12)
    assert metrics["recall_p90_novel"].value == 0.0 and metrics["recall_at_1_novel"].value == 0.0
    # all: 12 predictions, 4 positives; matches at sorted positions 2 (.9), 4 (.7) and 10 (.3, after two tied .3 Fs)
    assert metrics["uap"].value == pytest.approx((1 / 2 + 2 / 4 + 3 / 10) / 4)
    low, high = metrics["uap"].ci95
    assert low <= metrics["uap"].value <= high
    again = Predictions.from_rows(rows, 2)
    assert again.micro_ap() == pytest.approx(metrics["uap"].value)


def random_rows(n: int, k: int, seed: int) -> list[dict[str, float]]:
    """Score rows of n queries with k listed predictions each: some positives (one match somewhere), some distractors,
    scores with ties."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n):
        scores = np.sort(rng.integers(0, 12, k) / 12.0)[::-1]
        positive = q % 3 != 0
        hit = int(rng.integers(k + 2)) if positive else k  # k or k + 1: the match is not listed
        row = {"positive": float(positive), "rank": float(hit if hit < k else -1), "match": float(hit + 1 if hit < k else 0)}
        row.update({f"score_{i + 1}": float(scores[i]) for i in range(k)})
        rows.append(row)
    return rows


def isc_micro_ap(rows: list[dict[str, float]], k: int, max_results: int) -> float:
    """ISC's rule written out: flatten, sort by score (non-matches first among ties), keep max_results, then AP."""
    flat = sorted(((r[f"score_{i}"], r["match"] == i) for r in rows for i in range(1, k + 1)), key=lambda x: (-x[0], x[1]))
    kept, found, total = flat[:max_results], 0, 0.0
    for position, (_, match) in enumerate(kept, start=1):
        if match:
            found += 1
            total += found / position
    return total / sum(r["positive"] for r in rows)


def test_global_cut_keeps_the_best_max_results_pairs_of_the_whole_list():
    from harness.statistics.intervals import BOOTSTRAP_RESAMPLES

    rows = random_rows(30, 6, seed=1)
    for per_query in (0.5, 2, 4.5, 6):
        cut = Predictions.from_rows(rows, 6, per_query)
        assert cut.kept() == int(per_query * 30)
        assert cut.micro_ap() == pytest.approx(isc_micro_ap(rows, 6, int(per_query * 30)), rel=1e-12), per_query
        assert cut.weighted_micro_ap(np.ones((1, 30)))[0] == pytest.approx(cut.micro_ap(), rel=1e-12)
        # a bootstrap resample keeps per_query x its queries, as its own submission would
        ap, p90 = cut.bootstrap(seed=5)
        draws = np.random.default_rng(5).integers(0, 30, (BOOTSTRAP_RESAMPLES, 30))[:4]
        for i, idx in enumerate(draws):
            assert ap[i] == pytest.approx(isc_micro_ap([rows[j] for j in idx], 6, int(per_query * 30)), rel=1e-12)
            listed = Predictions.from_rows([rows[j] for j in idx], 6, per_query)  # the resample's own list, sorted anew
            assert p90[i] == pytest.approx(recall_at_precision(*listed.curve(), 0.9) or 0.0, rel=1e-12)
            weights = np.bincount(idx, minlength=30)[None].astype(float)
            assert cut.weighted_micro_ap(weights)[0] == pytest.approx(ap[i], rel=1e-12)
    knn = Predictions.from_rows(rows, 6)
    assert knn.micro_ap() == pytest.approx(isc_micro_ap(rows, 6, 180), rel=1e-12)
    assert Predictions.from_rows(rows, 6, 2).micro_ap() != pytest.approx(knn.micro_ap())


def logged_metrics(task: CopyDetection, cases: list[tuple[Sample, list[list]]]) -> dict:
    """The task's metrics over samples-log rows of these (sample, predictions) cases, as the runner aggregates them."""
    rows = [{"id": s.id, "output": {"predictions": preds}, "scores": task.score(s, {"predictions": preds}), "meta": s.meta}
            for s, preds in cases]
    return task.metrics_of(rows, seed=0)


def test_global_matching_lets_confident_queries_keep_more_pairs_than_knn():
    # q1 has three strong candidates (its match third), q2 only weak ones: a list of 2 per query on average keeps
    # all of q1's three and one of q2's, where per-query kNN (k=2) would drop q1's match
    q1, q2 = sample("q1", "r3", "novel"), sample("q2", "r9", "novel")
    cases = [(q1, [["r1", 0.9], ["r2", 0.85], ["r3", 0.8], ["r4", 0.1]]), (q2, [["r9", 0.2], ["r5", 0.15], ["r6", 0.1], ["r7", 0.05]])]
    global_task = CopyDetection({"results_per_query": 2, "candidates": 4})
    assert logged_metrics(global_task, cases)["uap_novel"].value == pytest.approx((1 / 3 + 2 / 4) / 2)
    knn_task = CopyDetection({"matching": "knn", "k": 2})
    assert logged_metrics(knn_task, [(s, preds[:2]) for s, preds in cases])["uap_novel"].value == pytest.approx((1 / 3) / 2)
    assert "max_results" in global_task.protocol()["matching"] and "kNN" in knn_task.protocol()["matching"]


def test_anypattern_preset_subtracts_twice_the_mean_of_the_ten_best_training_scores():
    task = CopyDetection({"preset": "anypattern"})
    assert (task.options.score_norm_factor, task.options.score_norm_neighbors) == (2.0, 10)
    assert CopyDetection({"preset": "anypattern", "score_norm_factor": 1.0}).options.score_norm_factor == 1.0
    assert CopyDetection().options.score_norm_factor == 0.0 and CopyDetection().options.matching == "global"
    rng = np.random.default_rng(0)
    index = ReferenceIndex(ids=[f"R{i}" for i in range(5)], descriptors=rng.normal(size=(5, 8)).astype(np.float32),
                           norm_descriptors=rng.normal(size=(40, 8)).astype(np.float32), describe_seconds=1.0)
    query = rng.normal(size=8).astype(np.float32)
    best = np.sort(index.norm_descriptors @ query)[-10:]
    np.testing.assert_allclose(task.query_scores(index, query), index.descriptors @ query - 2.0 * best.mean(), rtol=1e-6)
    assert "score_normalization" in task.protocol()["matching"]
    with pytest.raises(Exception, match="unknown preset"):
        CopyDetection({"preset": "nope"})


def test_patterns_keep_size_are_seeded_and_change_the_image():
    image = make_image(0, "references", 3, 64)
    assert set(BASE).isdisjoint(NOVEL) and len(BASE) >= 20 and len(NOVEL) == 14
    for name in ALL:
        out = apply([name], image, np.random.default_rng(1))
        again = apply([name], image, np.random.default_rng(1))
        assert out.size == image.size and out.mode == "RGB", name
        assert np.array_equal(np.asarray(out), np.asarray(again)), name
        assert not np.array_equal(np.asarray(out), np.asarray(image)), name
    with pytest.raises(ValueError, match="base patterns"):
        TrainingSet([image], ("swirl",))


def test_offline_data_is_deterministic_and_keeps_roles_apart():
    args = dict(references=40, base_queries=21, novel_queries=14, distractors=12, prompts_per_pattern=1, train_images=20,
                size=32, novel=list(NOVEL))
    data, again = offline_data(seed=3, **args), offline_data(seed=3, **args)
    assert [(q.id, q.reference, q.patterns) for q in data.queries] == [(q.id, q.reference, q.patterns) for q in again.queries]
    assert np.array_equal(np.asarray(data.queries[5].image), np.asarray(again.queries[5].image))
    kinds = [(q.kind, q.reference is None) for q in data.queries]
    assert kinds.count(("base", False)) == 21 and kinds.count(("novel", False)) == 14 and sum(d for _, d in kinds) == 12
    assert {q.patterns[0] for q in data.queries if q.kind == "novel"} == set(NOVEL)
    assert all(q.reference in data.references for q in data.queries if q.reference)
    digest = lambda im: hash(np.asarray(im).tobytes())
    references = {digest(im) for im in data.references.values()}
    assert len(references) == 40 and references.isdisjoint(digest(im) for im in data.training.images)
    assert references.isdisjoint(digest(p.original) for p in data.prompts)
    assert {p.pattern for p in data.prompts} == set(NOVEL)  # AnyPattern's support set: novel-pattern pairs only
    with_base = offline_data(seed=3, **args, base_prompts=True).prompts
    assert {p.pattern for p in with_base} == set(BASE) | set(NOVEL)
    assert {p.id: digest(p.tampered) for p in data.prompts}.items() <= {p.id: digest(p.tampered) for p in with_base}.items()
    assert offline_data(seed=4, **args).queries[0].image.tobytes() != data.queries[0].image.tobytes()
    assert CopyDetection().options.references >= 2000


def test_phash_inner_product_is_one_minus_twice_the_hamming_share():
    import imagehash

    from baselines.phash import PHash

    a, b = make_image(0, "references", 1, 64), make_image(0, "references", 2, 64)
    da, db = PHash().describe([a, b])
    assert float(da @ db) == pytest.approx(1 - 2 * (imagehash.phash(a) - imagehash.phash(b)) / 64)


def test_contrastive_cnn_learns_to_match_base_copies():
    import torch

    from baselines.contrastive_cnn import ContrastiveCNN

    training = TrainingSet([make_image(0, "train", i, 48) for i in range(64)], ("blur", "noise", "jpeg"))
    method = ContrastiveCNN({"steps": 40, "batch_size": 16, "width": 8, "dim": 32, "image_size": 32})
    method.fit(training, 0, torch.device("cpu"))
    assert method.fitted_state()["final_loss"] < method.fitted_state()["first_loss"]
    rng = np.random.default_rng(9)
    pairs = [training.pair(rng, "blur") for _ in range(16)]
    originals, copies = method.describe([p.original for p in pairs]), method.describe([p.tampered for p in pairs])
    top1 = ((copies @ originals.T).argmax(1) == np.arange(16)).mean()
    assert top1 >= 0.5  # chance is 1/16


def test_imagestacker_runs_end_to_end_with_prompts_from_the_pool(tmp_path):
    out = tmp_path / "results"
    proc = harness_cli("run", "--method", "imagestacker", *SMALL, "--method-arg", "steps=3",
                       "--method-arg", "batch_size=8", "--method-arg", "width=8", "--method-arg", "image_size=32", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    [path] = list(out.rglob("*.json"))
    record = json.loads(path.read_text())
    assert record["status"] == "complete" and record["main_metric"] == "uap_novel"
    assert {"uap", "uap_base", "uap_novel", "recall_p90_novel", "recall_at_1_base", "recall_at_10_novel"} <= set(record["metrics"])
    assert set(record["performance"]["latency"]) == {"describe_reference", "describe_query", "fit"}
    assert record["method"]["fitted"]["steps"] == 3
    rows = logged_rows(out)
    assert len(rows) == 51 and all(len(r["output"]["predictions"]) == 60 for r in rows)  # every reference is a candidate
    prompts = {r["output"]["prompt"] for r in rows}
    assert prompts and all(p and p.startswith("P") for p in prompts)  # every query used a pool pair
    patterns = [b["pattern"] for b in record["breakdowns"]["by_pattern"]]
    assert "novel: swirl" in patterns and "base: blur" in patterns
    assert harness_cli("validate", str(out)).returncode == 0


def test_imagestacker_random_prompts_vary_across_one_query_calls():
    import torch

    from baselines.imagestacker import ImageStacker
    from tasks.copy_detection.data import PromptPair

    training = TrainingSet([make_image(0, "train", i, 32) for i in range(8)], ("blur", "noise"))
    method = ImageStacker({"steps": 1, "batch_size": 4, "width": 8, "dim": 16, "image_size": 32,
                           "prompt_choice": "random"})
    method.fit(training, 0, torch.device("cpu"))
    pool = [PromptPair(id=f"P{i}", original=im, tampered=im, pattern=None) for i, im in enumerate(training.images)]
    chosen = {method.choose([training.images[0]], pool)[0].id for _ in range(20)}
    assert len(chosen) > 1  # the runner describes one query per call


def write_anypattern(root: Path, size: int = 40) -> None:
    """A small folder in the AnyPattern release layout: 12 references, 6 copies + 2 distractors, 3 prompt pairs."""
    for folder in ("reference_images", "query_k1_10_v2_test", "query_k1_10_v2_support_select10", "query_k1_10_v2_support_ori_select10"):
        (root / folder).mkdir(parents=True)
    for i in range(12):
        make_image(5, "references", i, size).save(root / "reference_images" / f"R{i:06d}.jpg")
    truth = [("query_id", "reference_id")]
    rng = np.random.default_rng(0)
    for i in range(8):
        source = make_image(5, "references", i, size) if i < 6 else make_image(5, "other", i, size)
        apply(["swirl"], source, rng).save(root / "query_k1_10_v2_test" / f"Q{i:05d}.jpg")
        truth.append((f"Q{i:05d}", f"R{i:06d}" if i < 6 else ""))
    for i in range(3):
        original = make_image(5, "prompts", i, size)
        original.save(root / "query_k1_10_v2_support_ori_select10" / f"S{i}.jpg")
        apply(["swirl"], original, rng).save(root / "query_k1_10_v2_support_select10" / f"S{i}.jpg")
    with (root / "ground_truth.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(truth)


def test_local_anypattern_folder_runs_and_bad_folders_get_one_line(tmp_path):
    data = tmp_path / "anypattern"
    write_anypattern(data)
    out = tmp_path / "results"
    common = ["run", "--method", "tiny_image", "--split", "local", "--task-arg", f"data_dir={data}", "--task-arg", "train_images=8",
              "--task-arg", "image_size=40", "--out", str(out), "--repeats", "1"]
    proc = harness_cli(*common)
    assert proc.returncode == 0, proc.stderr
    [record] = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert record["status"] == "complete" and record["task"]["dataset"]["n_evaluated"] == 8
    assert len(record["task"]["dataset"]["revision_or_sha256"]) == 64 and "uap_novel" in record["metrics"]
    rows = logged_rows(out)
    assert sum(r["scores"]["positive"] for r in rows) == 6
    assert all(ref.startswith("R") for r in rows for ref, _ in r["output"]["predictions"])
    (data / "ground_truth.csv").write_text("query_id,reference_id\nQ00000,R999999\n")
    proc = harness_cli(*common)
    assert proc.returncode == 2 and "R999999" in proc.stderr and "Traceback" not in proc.stderr
    (data / "ground_truth.csv").unlink()
    proc = harness_cli(*common)
    assert proc.returncode == 2 and "ground-truth file" in proc.stderr and "Traceback" not in proc.stderr
    proc = harness_cli("run", "--method", "tiny_image", "--split", "local", "--out", str(out))
    assert proc.returncode == 2 and "data_dir" in proc.stderr


def test_logged_scores_keep_the_float32_order_and_ties():
    from tasks.copy_detection.task import top_predictions

    rng = np.random.default_rng(3)
    scores = (rng.normal(size=500) * 1e-3 + 0.5).astype(np.float32)
    scores[10:20] = scores[5]  # ties
    scores[30] = np.nextafter(scores[5], np.float32(1))  # a neighbour one float32 step above
    listed = top_predictions(scores, [f"R{i}" for i in range(500)], 500)
    logged = np.array([s for _, s in listed])
    exact = scores[[int(ref[1:]) for ref, _ in listed]]
    assert (np.diff(logged) <= 0).all() and (np.diff(exact) <= 0).all()
    np.testing.assert_array_equal(np.diff(logged) == 0, np.diff(exact) == 0)  # the same ties, no new ones
    assert all(len(repr(s)) <= 12 for _, s in listed)  # shortest float32 decimals, not float64 reprs
