"""The lm-eval bridge: equal to stock HFLM with the full cache, bounded under a policy, one record per lm-eval task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.contracts.runtime import Runtime
from tasks.long_context.via_lm_eval.load import SHIPPED
from tests.conftest import harness_cli, logged_rows

SHIPPED_TASKS = ["harness_kv_gen", "harness_kv_loglik", "harness_kv_mc"]
LIMIT = 4


def runtime_for(model_dir: Path) -> Runtime:
    import torch

    return Runtime(device=torch.device("cpu"), seed=0, model_id=str(model_dir), dtype="float32")


def run_docs(task, policy, runtime: Runtime) -> tuple[list, list[dict], list[dict]]:
    samples = task.samples("offline", LIMIT, 0)
    task.check(policy, runtime, samples)
    outputs = [task.predict(sample, policy, runtime) for sample in samples]
    return samples, outputs, [task.score(sample, output) for sample, output in zip(samples, outputs)]


@pytest.mark.parametrize("name", SHIPPED_TASKS)
def test_full_cache_scores_equal_stock_hflm(tiny_model_dir, name, monkeypatch):
    """Stock lm-eval (HFLM, its own evaluator, the YAML read from its folder) and the bridge with `full` agree per document."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from baselines.full import FullCache
    from tasks.long_context.via_lm_eval.task import LmEvalTask

    runtime = runtime_for(tiny_model_dir)
    task = LmEvalTask({"tasks": [name]})
    samples, outputs, scores = run_docs(task, FullCache({}), runtime)

    monkeypatch.chdir(SHIPPED)  # lm-eval reads data_files from the working directory
    stock = simple_evaluate(model=HFLM(pretrained=runtime.llm.model, tokenizer=runtime.llm.tokenizer, batch_size=1),
                            tasks=[name], task_manager=TaskManager(include_path=str(SHIPPED), include_defaults=False),
                            limit=LIMIT, log_samples=True, bootstrap_iters=0)
    logged = {entry["doc_id"]: entry for entry in stock["samples"][name]}
    assert sorted(logged) == [int(s.id) for s in samples]
    for sample, output, score in zip(samples, outputs, scores):
        entry = logged[int(sample.id)]
        metrics, score = {m: float(entry[m]) for m in entry["metrics"]}, dict(score)
        if "perplexity" in metrics:  # per-document log-likelihood: equal to float rounding
            assert score.pop("perplexity") == pytest.approx(metrics.pop("perplexity"), abs=1e-3)
        assert score == metrics, f"document {sample.id}"
        for ours, theirs in zip(output["responses"], entry["resps"]):
            if isinstance(ours, list):
                assert ours[0] == pytest.approx(theirs[0][0], abs=1e-3) and ours[1] == theirs[0][1]
            else:
                assert ours == theirs[0]
    headline = task.aggregate(scores, [{}] * len(scores))
    main = task.spec.main_metric.split(":")[0]
    filter_name = task.filters[0]
    assert headline[task.spec.main_metric].value == pytest.approx(stock["results"][name][f"{main},{filter_name}"], rel=1e-4)


def test_bounded_policy_keeps_its_budget_and_prefills_a_shared_context_once(tiny_model_dir, monkeypatch):
    import tasks.long_context.via_lm_eval.bridge as bridge
    from baselines.streamingllm import StreamingLLM
    from tasks.long_context.via_lm_eval.task import LmEvalTask

    built = []
    original = bridge.Streamer.__init__
    monkeypatch.setattr(bridge.Streamer, "__init__", lambda self, *a, **k: (built.append(1), original(self, *a, **k))[1])
    task = LmEvalTask({"tasks": ["harness_kv_mc"], "mode": "stream", "chunk": 64})
    samples, outputs, scores = run_docs(task, StreamingLLM({"budget": 0.25}), runtime_for(tiny_model_dir))
    assert len(built) == len(samples)  # four choices, one prefill per document
    for output in outputs:
        assert len(output["responses"]) == 4
        assert output["budget_tokens"] == int(0.25 * (output["context_tokens"] - 1))
        # stream mode: the cache never holds more than the budget, one chunk and a continuation
        assert output["kv_peak_tokens"] <= output["budget_tokens"] + 64 + 8
        assert output["leading_tokens_kept"] == 4
    assert task.applied([{"output": o} for o in outputs])["leading_tokens_kept"] == [4]


def test_cli_runs_one_record_per_lm_eval_task_and_validates(tiny_model_dir, tmp_path):
    out = tmp_path / "results"
    result = harness_cli("run", "--method", "streamingllm", "--task", "lm_eval", "--task-arg", "tasks=harness_kv_gen,harness_kv_mc",
                         "--model", str(tiny_model_dir), "--limit", "2", "--repeats", "1", "--warmups", "0", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(p.read_text()) for p in sorted(out.rglob("*.json")) if not p.name.startswith(".")]
    by_task = {r["task"]["options"]["tasks"][0]: r for r in records}
    assert sorted(by_task) == ["harness_kv_gen", "harness_kv_mc"]
    assert by_task["harness_kv_mc"]["main_metric"] == "acc" and "acc_norm" in by_task["harness_kv_mc"]["metrics"]
    assert by_task["harness_kv_gen"]["main_metric"] == "exact_match"
    for record in records:
        assert record["status"] == "complete" and record["metrics"][record["main_metric"]]["n"] == 2
        assert record["performance"]["latency"]["time_to_first_token"]["p50"] > 0
        assert record["task"]["dataset"]["revision_or_sha256"]  # the shipped JSONL's sha256
    rows = logged_rows(out)
    assert all(len(row["output"]["prompt_sha256"]) == 64 for row in rows)
    assert harness_cli("validate", str(out)).returncode == 0
    # the same run again, as an honest re-run would be: both runs of each lm-eval task pass
    again = harness_cli("run", "--method", "streamingllm", "--task", "lm_eval", "--task-arg", "tasks=harness_kv_gen",
                        "--model", str(tiny_model_dir), "--limit", "2", "--repeats", "1", "--warmups", "0", "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    proc = harness_cli("validate", str(out))
    assert proc.returncode == 0 and "3 record(s) checked" in proc.stdout, proc.stderr
    site = harness_cli("site", "--results", str(out), "--out", str(tmp_path / "site"))  # rebuilds the docs for golds
    assert site.returncode == 0 and "it/s]" not in site.stderr, site.stderr  # without lm-eval's request-building bars


BROKEN = {
    "unknown": (None, "tasks=harness_kv_mcq", "did you mean harness_kv_mc"),
    "yaml": ("task: broken\noutput_type: [unclosed\n", "tasks=broken", "does not parse"),
    "offline": ("task: hub_only\ndataset_path: nobody/not-a-cached-dataset\ntest_split: test\noutput_type: multiple_choice\n"
                "doc_to_text: q\ndoc_to_choice: ['a', 'b']\ndoc_to_target: 0\n", "tasks=hub_only", "offline"),
    "rolling": ("task: rolling\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\ntest_split: test\n"
                "output_type: loglikelihood_rolling\ndoc_to_text: ''\ndoc_to_target: '{{{{context}}}}'\n", "tasks=rolling",
                "does not run"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_bad_lm_eval_input_is_one_line_and_writes_nothing(tiny_model_dir, tmp_path, case):
    yaml_text, arg, expected = BROKEN[case]
    args = ["--task-arg", arg]
    if yaml_text is not None:
        folder = tmp_path / "shipped_tasks"
        folder.mkdir()
        (folder / "task.yaml").write_text(yaml_text.format(data=SHIPPED / "harness_kv.jsonl"))
        args += ["--task-arg", f"include_path={folder}"]
    out = tmp_path / "results"
    result = harness_cli("run", "--method", "full", "--task", "lm_eval", *args, "--model", str(tiny_model_dir), "--out", str(out))
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not out.exists() or not any(out.rglob("*.json"))


def test_paired_wins_follow_the_metric_not_the_stored_column():
    """A perplexity stored as per-document log-likelihood: the document with the higher likelihood is the win."""
    import numpy as np

    from harness.contracts.task import MetricSpec
    from harness.records.paired import paired_metrics

    class Perplexity:
        spec = type("S", (), {"metrics": (MetricSpec(name="perplexity", higher_is_better=False),)})()

        def pair_statistic(self, metric):
            return metric, lambda values: np.exp(-values.mean(axis=1))

    mine = [{"id": str(i), "scores": {"perplexity": ll}} for i, ll in enumerate([-1.0, -5.0, -2.0])]
    ref = [{"id": str(i), "scores": {"perplexity": ll}} for i, ll in enumerate([-2.0, -1.0, -2.0])]
    paired = paired_metrics(Perplexity(), mine, ref, 0)["perplexity"]
    assert (paired.wins, paired.losses, paired.ties) == (1, 1, 1)
    assert paired.difference == pytest.approx(np.exp(8 / 3) - np.exp(5 / 3))
