"""The self-generated reasoning split: answer parser, generation -> label, trace sources (shipped / cache), floors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tasks.hallucination import self_generate
from tasks.hallucination.self_answers import parse_answer
from tasks.hallucination.self_generate import (
    GenerationSettings,
    extend_trace_file,
    model_fingerprint,
    prompt_ids,
    prompt_text,
    read_trace_file,
)
from tasks.hallucination.self_problems import SELF_DOMAINS, build_self_problems
from tasks.hallucination.self_task import SelfReasoningHallucination, self_trace, trace_label
from tasks.hallucination.self_traces import cache_file, model_traces
from tasks.hallucination.surface import floor_metrics
from tasks.hallucination.traces import encode
from tests.conftest import harness_cli, logged_rows

SMALL = GenerationSettings(max_new_tokens=8)


def test_answer_parser_reads_the_last_marker_and_counts_the_rest_unparsable():
    assert parse_answer("4 + 3 = 7.\nAnswer: 7") == "7"
    assert parse_answer("Answer: 5\nwait, 4 + 3 = 7.\nThe answer is: 7 apples") == "7"  # the last marker wins
    assert parse_answer("so she has 2 left. answer: -3 (or 1,200)") == "-3"  # anywhere on a line, either case
    assert parse_answer("Answer: 1,200 stamps") == "1200"
    assert parse_answer("4 + 3 = 7, so she has 7.") is None  # no marker
    assert parse_answer("Answer: seven") is None  # nothing readable after it
    cities = ("Lima", "Oslo", "Riga")
    assert parse_answer("Ava lives in Oslo.\nAnswer: Riga, not Oslo", cities) == "Riga"  # the first name after the marker
    assert parse_answer("Answer: Limassol", cities) is None  # whole words only
    assert parse_answer("Answer: Lima", ()) is None  # an integer question never reads a name


def test_problems_are_deterministic_interleaved_and_right():
    problems = build_self_problems(5, 0)
    assert [p.domain for p in problems[:4]] == list(SELF_DOMAINS) and len(problems) == 20
    assert [p.question for p in build_self_problems(5, 0)] == [p.question for p in problems]
    assert [p.question for p in build_self_problems(5, 1)] != [p.question for p in problems]
    for p in build_self_problems(50, 0):
        numbers = [int(x) for x in re.findall(r"\d+", p.question)]
        if p.domain == "one_step":
            assert int(p.answer) == (numbers[0] + numbers[1] if "gets" in p.question else numbers[0] - numbers[1])
        elif p.domain == "two_step":
            gain = int(re.search(r"gets (\d+)", p.question).group(1))
            loss = int(re.search(r"gives away (\d+)", p.question).group(1))
            assert int(p.answer) == numbers[0] + gain - loss > 0
        else:
            assert p.answer in p.candidates and p.answer in p.question


def test_generation_labels_and_cache_reuse(tiny_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(self_generate, "SHIPPED", tmp_path / "absent.jsonl")
    problems = build_self_problems(1, 0)
    first = model_traces(tiny_llm, problems, SMALL)
    assert first.counts == {"generated": 4} and set(first.files) == {"cache"}
    assert first.files["cache"] == str(cache_file(first.fingerprint, SMALL))
    for p in problems:
        row = first.rows[p.id]
        assert 1 <= row["new_tokens"] <= 8 and row["question"] == p.question
        label, parsed = trace_label(row["completion"], p.answer, list(p.candidates))
        assert label == int(parsed != p.answer)
        trace = self_trace(row, tiny_llm.tokenizer, SMALL)
        assert trace.steps  # never empty, so every detector has a step to read
        prompt = prompt_ids(tiny_llm.tokenizer, prompt_text(tiny_llm.tokenizer, p.question, p.domain, SMALL))
        encoded = encode(tiny_llm.tokenizer, trace).input_ids[0].tolist()
        assert encoded[:len(prompt)] == prompt  # detectors read the trace after the very prompt it answered

    def no_generation(*args, **kwargs):
        raise AssertionError("regenerated a cached trace")

    monkeypatch.setattr(self_generate, "generate_row", no_generation)
    again = model_traces(tiny_llm, problems, SMALL)
    assert again.counts == {"cache": 4} and again.rows == first.rows
    assert model_traces(tiny_llm, problems[:2], SMALL).counts == {"cache": 2}  # the file serves any subset


def test_shipped_file_is_read_only_by_the_model_that_wrote_it(tiny_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    problems = build_self_problems(1, 0)
    shipped = tmp_path / "shipped.jsonl"
    fingerprint = model_fingerprint(tiny_llm)
    extend_trace_file(shipped, tiny_llm, fingerprint, SMALL, problems)
    monkeypatch.setattr(self_generate, "SHIPPED", shipped)
    assert model_traces(tiny_llm, problems, SMALL).counts == {"shipped": 4}
    assert model_traces(tiny_llm, problems, GenerationSettings(max_new_tokens=9)).counts == {"generated": 4}
    # the same file claimed by another model (its rows poisoned): the run's model generates its own instead
    header, rows = read_trace_file(shipped)
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text("\n".join(json.dumps(r) for r in [{**header, "fingerprint": "0" * 64},
                                                         *({**r, "completion": "POISON"} for r in rows.values())]) + "\n")
    monkeypatch.setattr(self_generate, "SHIPPED", foreign)
    found = model_traces(tiny_llm, problems, SMALL)
    assert found.counts == {"generated": 4} and "shipped" not in found.files
    assert all(r["completion"] != "POISON" for r in found.rows.values())


def test_an_interrupted_file_resumes_and_a_foreign_one_is_refused(tiny_llm, tmp_path):
    from harness.errors import HarnessError

    path, problems = tmp_path / "t.jsonl", build_self_problems(1, 0)
    fingerprint = model_fingerprint(tiny_llm)
    extend_trace_file(path, tiny_llm, fingerprint, SMALL, problems[:2])
    with path.open("a") as fh:
        fh.write('{"id": "torn')  # a writer killed mid-line
    rows = extend_trace_file(path, tiny_llm, fingerprint, SMALL, problems)
    assert list(rows) == [p.id for p in problems] and len(read_trace_file(path)[1]) == 4
    with pytest.raises(HarnessError, match="another model"):
        extend_trace_file(path, tiny_llm, "f" * 64, SMALL, problems)


def test_surface_floor_and_margin():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200).astype(float)
    tokens = labels * 20 + rng.normal(40, 8, 200)  # wrong answers run longer
    steps = rng.integers(2, 6, 200).astype(float)
    detector = rng.normal(size=200)
    cues = {"tokens": tokens, "steps": steps, "truncated": (tokens > 70).astype(float), "unparsable": np.zeros(200)}
    found = floor_metrics(labels, detector, cues, seed=0)
    for name, values in cues.items():
        assert found[f"floor_{name}"].value == pytest.approx(roc_auc_score(labels, values))
    assert found["floor_unparsable"].value == 0.5 and found["floor_tokens"].value > 0.85
    assert found["floor_best"].value == found["floor_tokens"].value
    assert found["margin"].value == pytest.approx(roc_auc_score(labels, detector) - found["floor_tokens"].value)
    assert found["margin"].ci95[1] < 0  # a detector at chance does not beat a length cue
    assert found["floor_best"].ci95[0] <= found["floor_best"].value <= found["floor_best"].ci95[1]
    assert floor_metrics(np.zeros(5), np.zeros(5), {"tokens": np.ones(5)}) == {}


def _seed_cache(lm, settings: GenerationSettings, per_domain: int) -> None:
    """Rows for the tiny model, half answered right, in the cache a run with that model reads."""
    problems = build_self_problems(per_domain, 0)
    path = cache_file(model_fingerprint(lm), settings)
    path.parent.mkdir(parents=True)
    rows = [self_generate.file_header(lm, model_fingerprint(lm), settings)]
    for i, p in enumerate(problems):
        answer = p.answer if i % 2 else ("Oslo" if p.candidates else "999")
        rows.append({"id": p.id, "domain": p.domain, "question": p.question, "answer": p.answer,
                     "completion": f"Step one.\nAnswer: {answer}", "new_tokens": 6 + i % 3, "hit_max": False})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_run_on_cached_traces_validates_and_bad_options_are_one_line(tmp_path, tiny_model_dir, tiny_llm, monkeypatch):
    cache, out = tmp_path / "cache", tmp_path / "results"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    settings = GenerationSettings(max_new_tokens=8)
    _seed_cache(tiny_llm, settings, 6)
    env = {"XDG_CACHE_HOME": str(cache)}
    common = ("--task", "reasoning_hallucination_self", "--model", str(tiny_model_dir), "--task-arg", "per_domain=6",
              "--task-arg", "max_new_tokens=8", "--out", str(out), "--repeats", "1")
    proc = harness_cli("run", "--method", "perplexity", *common, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(next(out.rglob("*.json")).read_text())
    assert record["status"] == "complete"
    assert record["task"]["protocol"]["traces"]["source_counts"] == {"cache": record["task"]["dataset"]["n_total"]}
    metrics = record["metrics"]
    assert {"auroc", "floor_tokens", "floor_unparsable", "floor_best", "margin", "solve_rate"} <= set(metrics)
    rows = logged_rows(out)
    labels = [r["scores"]["label"] for r in rows]
    assert metrics["solve_rate"]["value"] == pytest.approx(1 - np.mean(labels))
    assert metrics["floor_tokens"]["value"] == pytest.approx(roc_auc_score(labels, [r["scores"]["cue_tokens"] for r in rows]))
    assert {r["domain"] for r in record["breakdowns"]["by_domain"]} <= set(SELF_DOMAINS)
    assert harness_cli("validate", str(out), env=env).returncode == 0
    proc = harness_cli("run", "--method", "perplexity", *common, "--task-arg", 'domains=["chess"]', env=env)
    assert proc.returncode == 2 and "domains" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("options, says", [({"max_new_tokens": 2}, "max_new_tokens"), ({"fit_share": 1.5}, "fit_share"),
                                           ({"fit_shares": 0.2}, "fit_shares"), ({"per_domain": 0}, "per_domain")])
def test_bad_options_are_one_line(options, says):
    from harness.errors import HarnessError

    with pytest.raises(HarnessError) as caught:
        SelfReasoningHallucination(options)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_all_wrong_answers_are_one_line(tmp_path, tiny_model_dir):
    """A random model answers every problem wrong: AUROC needs both labels, so the run says so and stops (exit 2)."""
    proc = harness_cli("run", "--method", "entropy", "--task", "reasoning_hallucination_self", "--model",
                       str(tiny_model_dir), "--task-arg", "per_domain=1", "--task-arg", "max_new_tokens=8",
                       "--out", str(tmp_path / "r"), env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.returncode == 2 and "all wrong" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(list((tmp_path / "cache" / "harness" / "self_traces").glob("*.jsonl"))) == 1  # generated and cached


@pytest.mark.slow
def test_shipped_file_matches_the_embedded_model_and_the_default_problems():
    from harness.contracts.causal_lm import load_causal_lm

    header, rows = read_trace_file(self_generate.SHIPPED)
    assert header is not None and header["model"].startswith("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert header["settings"] == GenerationSettings().model_dump(mode="json")
    assert set(header["prompt_templates"]) == set(SELF_DOMAINS)
    problems = build_self_problems(self_generate.SHIPPED_PER_DOMAIN, 0)
    assert {p.id for p in problems} == set(rows)
    for p in problems:
        row = rows[p.id]
        assert (row["question"], row["answer"], row["domain"]) == (p.question, p.answer, p.domain)
        assert isinstance(row["completion"], str) and 0 <= row["new_tokens"] <= header["settings"]["max_new_tokens"]
    lm = load_causal_lm(None, "cpu")
    assert header["fingerprint"] == model_fingerprint(lm)
    labels = [trace_label(rows[p.id]["completion"], p.answer, list(p.candidates))[0] for p in problems]
    assert 0.3 <= 1 - np.mean(labels) <= 0.7  # the model solves some of them
    task = SelfReasoningHallucination()
    assert task.samples("offline", None, 0)[0].id in rows
