"""Reasoning-hallucination family: the logit lens and JSD against direct computations on a tiny model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from tasks.hallucination.internals import jensen_shannon, token_signals
from tasks.hallucination.problems import DOMAINS, Problem, build_problems, split_of
from tests.conftest import harness_cli


def test_jsd_matches_scipy():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(50), size=3), rng.dirichlet(np.ones(50), size=3)
    ours = jensen_shannon(torch.tensor(np.log(p)), torch.tensor(np.log(q))).numpy()
    np.testing.assert_allclose(ours, jensenshannon(p, q, axis=1) ** 2, rtol=1e-6)  # scipy returns the square root
    assert jensen_shannon(torch.tensor(np.log(p)), torch.tensor(np.log(p))).abs().max() < 1e-9


def test_reasoning_score_is_the_mean_jsd_of_the_late_layers_logit_lens(tiny_llm):
    model, tokenizer = tiny_llm.model, tiny_llm.tokenizer
    ids = tokenizer("Step 1: 3 + 4 = 7. Step 2: 7 x 2 = 14.", return_tensors="pt").input_ids
    captured = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, k=k: captured.__setitem__(k, o[0] if isinstance(o, tuple) else o))
             for k, layer in enumerate(model.model.layers)]
    try:
        signals = token_signals(model, ids, late_layers=2)
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        final = torch.softmax(model(ids).logits[0].float(), -1).numpy()
        n = len(model.model.layers)
        lens = [torch.softmax(model.lm_head(model.model.norm(captured[k][0] if captured[k].dim() == 3 else captured[k])).float(), -1).numpy()
                for k in (n - 3, n - 2)]  # outputs of the two layers before the last
    direct = np.mean([jensenshannon(final, q, axis=1) ** 2 for q in lens], axis=0)[:-1]
    np.testing.assert_allclose(signals.reasoning.numpy(), direct, rtol=1e-4, atol=1e-5)  # float32 H(M) - H(P,Q)/2
    nll = -np.log(final[np.arange(ids.shape[1] - 1), ids[0, 1:].numpy()])
    np.testing.assert_allclose(signals.nll.numpy(), nll, rtol=1e-4)


def test_problems_have_twins_that_diverge_at_the_wrong_step_and_stay_wrong():
    problems = build_problems(100, 0, 0.3)
    assert {p.domain for p in problems} == {"arithmetic", "ordering", "two_hop"} and len(problems) == 300
    for p in problems:
        assert p.steps[:p.wrong_step] == p.corrupted_steps[:p.wrong_step]
        assert p.steps[p.wrong_step] != p.corrupted_steps[p.wrong_step]
        if p.domain == "arithmetic":  # the wrong total is carried through every later step
            assert all(a != b for a, b in zip(p.steps[p.wrong_step:], p.corrupted_steps[p.wrong_step:]))
        assert p.steps[-1] != p.corrupted_steps[-1]  # the error reaches the answer
        assert len(p.steps) == len(p.corrupted_steps)
    assert build_problems(100, 0, 0.3)[7].question == problems[7].question
    splits = {split_of(p.id, 0.3, 0) for p in problems}
    assert splits == {"fit", "test"}


SUBJECT = re.compile(r"^Step \d+: (?:The )?(\w+)")


def surface_cues(question: str, steps: list[str]) -> dict[str, float]:
    """What a trace shows without its meaning: sizes, step subjects, names, numbers, overlap with the question."""
    text = " ".join(steps)
    words = re.findall(r"\w+", text)
    asked = set(re.findall(r"\w+", question))
    subjects = [m.group(1) for m in map(SUBJECT.match, steps) if m]
    answer = re.findall(r"\w+", steps[-1])[1:]
    return {
        "characters": len(text), "words": len(words), "steps": len(steps),
        "mean_step_characters": float(np.mean([len(x) for x in steps])),
        "distinct_step_subjects": len(set(subjects)), "subject_changes": sum(a != b for a, b in zip(subjects, subjects[1:])),
        "distinct_capitalised": len({w for w in words if w[0].isupper()}),
        "digits": sum(c.isdigit() for c in text),
        "question_word_overlap": float(np.mean([w in asked for w in words])),
        "answer_mentions": sum(text.count(w) for w in answer),
        "answer_characters": len(steps[-1]),
    }


def cue_win_rates(problems) -> dict[tuple[str, str], float]:
    """Per domain and cue, the within-pair win rate of the corrupted twin (ties half): 0.5 = the cue is useless."""
    rates: dict[tuple[str, str], list[float]] = {}
    for p in problems:
        sound, bad = surface_cues(p.question, p.steps), surface_cues(p.question, p.corrupted_steps)
        for cue in sound:
            rates.setdefault((p.domain, cue), []).append(1.0 if bad[cue] > sound[cue] else 0.5 if bad[cue] == sound[cue] else 0.0)
    return {key: float(np.mean(v)) for key, v in rates.items()}


def test_no_surface_cue_tells_the_twins_apart():
    """The leak the audit found: sound ordering traces kept one subject, their twins switched (AUROC 0.87 from
    counting subjects). No cue of the trace alone, nor its word overlap with the question, may separate twins."""
    from sklearn.metrics import roc_auc_score

    problems = build_problems(300, 0, 0.3)
    for (domain, cue), rate in cue_win_rates(problems).items():
        assert abs(rate - 0.5) < 0.08, f"{domain}: {cue} separates the twins (win rate {rate:.2f})"
    for domain in DOMAINS:
        mine = [p for p in problems if p.domain == domain]
        for cue in surface_cues(mine[0].question, mine[0].steps):
            values = [surface_cues(p.question, steps)[cue] for p in mine for steps in (p.steps, p.corrupted_steps)]
            labels = [label for _ in mine for label in (0, 1)]
            assert abs(roc_auc_score(labels, values) - 0.5) < 0.08, f"{domain}: pooled AUROC of {cue}"
    # the check can fail: the earlier ordering twins (one subject, then a switch at the wrong step) are caught
    old = Problem("old", "ordering", "Ava is taller than Ben. Ben is taller than Cleo. Cleo is taller than Dan.",
                  ["Step 1: Ava is taller than Ben.", "Step 2: Ava is taller than Cleo.", "Step 3: Ava is taller than Dan.",
                   "Answer: Ava is the tallest."],
                  ["Step 1: Ava is taller than Ben.", "Step 2: Cleo is taller than Ava.", "Step 3: Cleo is taller than Dan.",
                   "Answer: Cleo is the tallest."], 1)
    assert cue_win_rates([old])[("ordering", "distinct_step_subjects")] == 1.0


def test_auroc_matches_scikit_learn_and_hand_counts():
    from sklearn.metrics import roc_auc_score

    from tasks.hallucination.metrics import auroc

    labels, scores = [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    # pairs (positive, negative) ranked correctly: 0.35 beats 0.1 and 0.2 but not 0.4 -> 8 of 9
    assert auroc(labels, scores).value == pytest.approx(8 / 9) == roc_auc_score(labels, scores)
    result = auroc(labels, scores)
    assert result.ci95[0] <= result.value <= result.ci95[1] and result.n == 6
    assert auroc([1, 1], [0.2, 0.3]) is None  # one class only
    from tasks.hallucination.metrics import rank_auroc

    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, (5, 40)), rng.integers(0, 6, (5, 40)).astype(float)  # many ties
    np.testing.assert_allclose(rank_auroc(y, s), [roc_auc_score(a, b) for a, b in zip(y, s)])
    # weights repeat entries: a group bootstrap draw equals scikit-learn on the repeated traces
    w = rng.integers(0, 3, (5, 40))
    expected = [roc_auc_score(np.repeat(a, k), np.repeat(b, k)) for a, b, k in zip(y, s, w)]
    np.testing.assert_allclose(rank_auroc(y.astype(float), s, w.astype(float)), expected)


def test_pair_win_rate_and_intervals_resample_pairs():
    from tasks.hallucination.metrics import auroc, pair_outcomes, pair_win_rate

    # three problems: the corrupted twin wins, ties, loses; a lone trace (no pair) is left out
    labels, scores = [0, 1, 0, 1, 0, 1, 1], [0.1, 0.5, 0.3, 0.3, 0.9, 0.2, 0.7]
    groups = ["a", "a", "b", "b", "c", "c", "d"]
    np.testing.assert_array_equal(pair_outcomes(labels, scores, groups), [1.0, 0.5, 0.0])
    result = pair_win_rate(labels, scores, groups)
    assert result.value == 0.5 and result.n == 3 and result.ci95[0] <= 0.5 <= result.ci95[1]
    assert pair_win_rate([0, 0], [0.1, 0.2], ["a", "b"]) is None
    # a within-pair signal that pooled AUROC hides: each problem has its own offset, the twin is always higher
    rng = np.random.default_rng(0)
    offsets = rng.normal(0, 10, 200)
    labels = [label for _ in offsets for label in (0, 1)]
    scores = [o + 0.1 * label for o in offsets for label in (0, 1)]
    groups = [str(i) for i in range(200) for _ in (0, 1)]
    assert pair_win_rate(labels, scores, groups).value == 1.0
    pooled = auroc(labels, scores, 0, groups)
    assert abs(pooled.value - 0.5) < 0.05
    # the interval resamples problems, both twins together: the same percentiles by hand with scikit-learn
    from sklearn.metrics import roc_auc_score

    names = sorted(set(groups))
    members = {g: [i for i, x in enumerate(groups) if x == g] for g in names}
    draws = np.random.default_rng(0).integers(0, len(names), (1000, len(names)))
    by_hand = []
    for draw in draws:
        idx = [i for d in draw for i in members[names[d]]]
        by_hand.append(roc_auc_score(np.asarray(labels)[idx], np.asarray(scores)[idx]))
    assert pooled.ci95 == pytest.approx(tuple(np.percentile(by_hand, [2.5, 97.5])))
    assert pooled.ci95 != pytest.approx(auroc(labels, scores, 0).ci95)  # not the trace-level bootstrap


def test_signals_from_a_later_start_match_the_whole_sequence(tiny_llm):
    ids = tiny_llm.tokenizer("Question: 2 + 2?\nReasoning:\nStep 1: 2 + 2 = 4.\nAnswer: 4.\n", return_tensors="pt").input_ids
    whole = token_signals(tiny_llm.model, ids, late_layers=2)
    later = token_signals(tiny_llm.model, ids, late_layers=2, start=5)
    assert torch.isnan(later.nll[:5]).all() and torch.isnan(later.reasoning[:5]).all()
    for name in ("nll", "entropy", "reasoning"):
        torch.testing.assert_close(getattr(later, name)[5:], getattr(whole, name)[5:], rtol=1e-4, atol=1e-5)


def test_step_spans_and_step_signals(tiny_llm):
    from tasks.hallucination.detector import step_signals
    from tasks.hallucination.internals import token_signals as direct
    from tasks.hallucination.traces import Trace, encode

    trace = Trace("t", "arithmetic", "Ava has 3 pens and gets 4 more. How many?", ("Step 1: 3 + 4 = 7.", "Answer: 7."))
    encoded = encode(tiny_llm.tokenizer, trace)
    assert [tiny_llm.tokenizer.decode(encoded.input_ids[0, s:e]) for s, e in encoded.spans] == ["Step 1: 3 + 4 = 7.\n", "Answer: 7.\n"]
    signals = step_signals(tiny_llm, trace, late_layers=2)
    tokens = direct(tiny_llm.model, encoded.input_ids, late_layers=2)
    for i, (s, e) in enumerate(encoded.spans):  # the positions s-1 .. e-2 produce the step's tokens
        assert signals.nll[i] == pytest.approx(float(tokens.nll[s - 1:e - 1].mean()), rel=1e-4)
        assert signals.max_nll[i] == pytest.approx(float(tokens.nll[s - 1:e - 1].max()), rel=1e-4)
        assert signals.reasoning[i] == pytest.approx(float(tokens.reasoning[s - 1:e - 1].mean()), rel=1e-3, abs=1e-6)
    assert signals.tokens.tolist() == [e - s for s, e in encoded.spans]


class RecordingDetector:
    """Wraps a detector and remembers every trace id that reaches fit and score."""

    def __init__(self, inner):
        self.inner, self.fitted, self.scored = inner, [], []

    def fit(self, lm, traces):
        self.fitted += [t.trace.id for t in traces]
        assert all(t.label in (0, 1) for t in traces)
        return self.inner.fit(lm, traces)

    def score(self, lm, trace):
        self.scored.append(trace.id)
        assert not hasattr(trace, "label")  # a test trace never carries its label
        return self.inner.score(lm, trace)


def test_rhd_is_fitted_on_the_fit_split_only(tiny_model_dir):
    from baselines.rhd import FEATURES, RHD
    from harness.contracts.runtime import Runtime
    from tasks.hallucination.task import ReasoningHallucination

    task = ReasoningHallucination({"per_domain": 6})
    runtime = Runtime(device=torch.device("cpu"), seed=0, model_id=str(tiny_model_dir))
    detector = RecordingDetector(RHD({"late_layers": 2}))
    task.prepare(detector, runtime)
    samples = task.samples("offline", None, 0)
    for sample in samples:
        task.predict(sample, detector, runtime)
    assert detector.fitted and set(detector.scored) == {s.id for s in samples}
    assert not set(detector.fitted) & set(detector.scored)
    problem = lambda trace_id: trace_id.rsplit("-", 1)[0]
    assert not {problem(i) for i in detector.fitted} & {problem(i) for i in detector.scored}  # twins stay together
    state = detector.inner.fitted_state()
    assert set(state["weights"]) == set(FEATURES) and all(np.isfinite(list(state["weights"].values())))
    # the same fit split gives the same weights whatever the test traces are
    again = RHD({"late_layers": 2})
    again.fit(runtime.llm, task.fit_traces("offline", 0))
    assert again.fitted_state() == state


def test_task_auroc_matches_scikit_learn_per_domain():
    from sklearn.metrics import roc_auc_score

    from tasks.hallucination.task import ReasoningHallucination, step_localisation

    task = ReasoningHallucination({"per_domain": 20})
    samples = task.samples("offline", None, 0)
    rng = np.random.default_rng(1)
    rows = [task.score(s, {"score": float(rng.normal() + s.target["label"]), "step_scores": None}) for s in samples]
    metrics = task.aggregate(rows, [s.meta for s in samples])
    labels, scores = [r["label"] for r in rows], [r["score"] for r in rows]
    assert metrics["auroc"].value == pytest.approx(roc_auc_score(labels, scores))
    for domain in ("arithmetic", "ordering", "two_hop"):
        mine = [(r["label"], r["score"]) for r, s in zip(rows, samples) if s.meta["domain"] == domain]
        assert metrics[f"auroc_{domain}"].value == pytest.approx(roc_auc_score(*zip(*mine)))
    by_domain = {row["domain"]: row for row in task.breakdowns(samples, rows)["by_domain"]}
    assert by_domain["ordering"]["auroc"] == pytest.approx(metrics["auroc_ordering"].value)
    assert by_domain["ordering"]["pair_win"] == pytest.approx(metrics["pair_win_ordering"].value)
    outcomes = {}
    for row, sample in zip(rows, samples):
        outcomes.setdefault(sample.meta["group"], {})[row["label"]] = row["score"]
    wins = [float(o[1.0] > o[0.0]) for o in outcomes.values()]
    assert metrics["pair_win"].value == pytest.approx(np.mean(wins)) and metrics["pair_win"].n == len(wins)
    # the wrong step (index 2) outranks 2 of the 3 other steps; it is not the top step
    assert step_localisation([0.1, 0.9, 0.5, 0.2], 2) == {"step_auroc": pytest.approx(2 / 3), "step_top1": 0.0}
    assert step_localisation([0.7, 0.7, 0.1], 1)["step_top1"] == 0.5  # a tie for the top shares the credit


def test_backtrack_attention_on_a_hand_made_attention_map():
    from baselines.rhd import backtrack_attention
    from tasks.hallucination.detector import StepSignals
    from tasks.hallucination.traces import EncodedTrace

    spans = [(2, 4), (4, 6), (6, 8)]  # prompt 0-1, early steps 0-1, late step 2
    attention = torch.zeros(8, 8)
    attention[5:7, 0:2] = 0.5  # prompt: ignored by the share
    attention[5:7, 2:4] = 0.3  # the anomalous early step
    attention[5:7, 4:6] = 0.1
    encoded = EncodedTrace(torch.zeros(1, 8, dtype=torch.long), spans)
    signals = StepSignals(encoded, np.array([2, 2, 2]), *(np.zeros(3),) * 3, None, (attention[None],))
    # positions 5 and 6 produce the late step; each pays 0.6 to step 0 out of 0.6 + 0.2 on trace tokens
    assert backtrack_attention(signals, early=2, anomalous=[0]) == pytest.approx(0.6 / 0.8)
    assert backtrack_attention(signals, early=3, anomalous=[0]) == 0.0  # no late steps


def test_run_detectors_end_to_end_and_bad_input(tmp_path, tiny_model_dir):
    out = tmp_path / "out"
    common = ("--model", str(tiny_model_dir), "--task-arg", "per_domain=4", "--out", str(out), "--repeats", "1")
    proc = harness_cli("run", "--method", "reasoning_score", "--method-arg", "late_layers=2", *common)
    assert proc.returncode == 0, proc.stderr
    proc = harness_cli("run", "--method", "p_true", *common)
    assert proc.returncode == 0, proc.stderr
    records = {r["method"]["name"]: r for r in (json.loads(p.read_text()) for p in out.rglob("*.json"))}
    rs, pt = records["reasoning_score"], records["p_true"]
    assert rs["status"] == "complete" and rs["method"]["params"] == {"late_layers": 2, "hallucinated_when": "low"}
    assert {"auroc", "auroc_arithmetic", "step_auroc", "step_top1"} <= set(rs["metrics"])
    assert "step_auroc" not in pt["metrics"]  # P(True) gives no step scores
    assert {"pair_win", "pair_win_ordering"} <= set(rs["metrics"]) and rs["metrics"]["pair_win"]["n"] * 2 == rs["task"]["dataset"]["n_evaluated"]
    assert rs["performance"]["latency"]["score_trace"]["repeats"] == 4
    assert {r["domain"] for r in rs["breakdowns"]["by_domain"]} == {"arithmetic", "ordering", "two_hop"}
    assert harness_cli("validate", str(out)).returncode == 0
    proc = harness_cli("run", "--method", "reasoning_score", *common)
    assert proc.returncode == 2 and "late_layers must be between 1 and 3" in proc.stderr and "Traceback" not in proc.stderr
    proc = harness_cli("run", "--method", "perplexity", "--limit", "1", *common)
    assert proc.returncode == 2 and "AUROC needs both" in proc.stderr


def write_local_traces(path: Path, problems) -> None:
    lines = []
    for p in problems:
        for label, steps in ((0, p.steps), (1, p.corrupted_steps)):
            record = {"id": f"{p.id}-{label}", "group": p.id, "domain": p.domain, "question": p.question, "label": label}
            if label:
                record["wrong_step"] = p.wrong_step
            record.update({"steps": steps} if p.domain != "ordering" else {"trace": "\n".join(steps)})
            lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")


def test_local_jsonl_traces(tmp_path, tiny_model_dir):
    data = tmp_path / "traces.jsonl"
    write_local_traces(data, build_problems(4, 5, 0.0))
    out = tmp_path / "out"
    common = ("--model", str(tiny_model_dir), "--split", "local", "--out", str(out), "--repeats", "1")
    proc = harness_cli("run", "--method", "max_nll", "--task-arg", f"data_path={data}", *common)
    assert proc.returncode == 0, proc.stderr
    [record] = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    dataset = record["task"]["dataset"]
    assert dataset["source"] == str(data) and len(dataset["revision_or_sha256"]) == 64
    assert 0 < dataset["n_evaluated"] < 24 and dataset["n_evaluated"] % 2 == 0  # whole groups are tested
    assert "step_auroc" in record["metrics"]

    leaky = tmp_path / "leaky.jsonl"
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    rows[0]["split"], rows[1]["split"] = "fit", "test"  # one problem's twins on both sides
    leaky.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = harness_cli("run", "--method", "max_nll", "--task-arg", f"data_path={leaky}", *common)
    assert proc.returncode == 2 and "both the fit and the test split" in proc.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"domain": "x", "question": "q", "label": 3, "steps": ["a"]}) + "\n")
    proc = harness_cli("run", "--method", "max_nll", "--task-arg", f"data_path={broken}", *common)
    assert proc.returncode == 2 and "line 1" in proc.stderr and "Traceback" not in proc.stderr
    proc = harness_cli("run", "--method", "max_nll", "--task-arg", f"data_path={tmp_path / 'none.jsonl'}", *common)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
