"""Long-context protocol: vectorised cache surgery, first_token modes, batched streaming, paired comparisons, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import binomtest
from transformers import DynamicCache

from baselines.full import FullCache
from baselines.lacache import LaCachePolicy
from baselines.snapkv import SnapKV
from baselines.streamingllm import StreamingLLM
from harness.contracts.meter import Clock
from harness.contracts.registry import TASKS
from harness.contracts.runtime import Runtime
from harness.errors import HarnessError
from harness.records.paired import mcnemar_p, paired_metrics
from harness.running.grid import default_tasks
from tasks.long_context.kv import LEADING_TOKENS, CompressContext, Rope, gather
from tasks.long_context.metrics import contains, exact_match
from tasks.long_context.retrieval import answer
from tests.conftest import harness_cli, logged_rows
from tests.test_cli import one_line_error, records


def random_cache(layers=3, heads=2, slots=12, dim=8, seed=0) -> DynamicCache:
    torch.manual_seed(seed)
    cache = DynamicCache()
    for layer in range(layers):
        cache.update(torch.randn(1, heads, slots, dim), torch.randn(1, heads, slots, dim), layer)
    return cache


def gather_layer_by_layer(cache: DynamicCache, index: torch.Tensor, rope: Rope, shift: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The plain per-layer, per-head surgery the vectorised gather must reproduce."""
    result = []
    for layer_idx, layer in enumerate(cache.layers):
        idx = index if index.dim() == 1 else index[layer_idx]
        heads = layer.keys.shape[1]
        per_head = idx.expand(heads, -1) if idx.dim() == 1 else idx
        keys = torch.stack([layer.keys[0, h, per_head[h]] for h in range(heads)])[None]
        values = torch.stack([layer.values[0, h, per_head[h]] for h in range(heads)])[None]
        delta = torch.arange(per_head.shape[-1]) + shift - per_head
        result.append((rope.rotate(keys, delta[None]), values))
    return result


@pytest.mark.parametrize("shift", [0, 7])  # 7 = the evicted count: the kept tail stays put and the head is written before it
@pytest.mark.parametrize("shape", ["shared", "per_layer", "per_head"])
def test_vectorised_gather_equals_layer_by_layer_surgery(tiny_llm, shape, shift):
    rope = Rope(tiny_llm.model)
    cache = random_cache(dim=tiny_llm.model.config.hidden_size // tiny_llm.model.config.num_attention_heads)
    index = {"shared": torch.tensor([0, 1, 5, 9, 11]),
             "per_layer": torch.tensor([[0, 1, 5, 9, 11], [0, 2, 3, 10, 11], [0, 4, 6, 7, 11]]),
             "per_head": torch.tensor([[[0, 1, 5, 9, 11], [0, 3, 4, 8, 11]]] * 3)}[shape]
    expected = gather_layer_by_layer(cache, index, rope, shift)
    gather(cache, index, rope, shift)
    for layer, (keys, values) in zip(cache.layers, expected):
        torch.testing.assert_close(layer.keys, keys, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(layer.values, values)


def test_policies_share_one_leading_token_default_raised_to_the_prefix():
    ctx = CompressContext(budget=64, protected=20, num_layers=4, rope=None)
    streaming, ladder = StreamingLLM(), LaCachePolicy()
    assert streaming.params.leading_tokens == ladder.params.leading_tokens == LEADING_TOKENS == 4
    assert streaming.leading(ctx) == ladder.leading(ctx) == 20  # both raised to the protected prefix, equally
    assert streaming.leading(CompressContext(budget=64, protected=0, num_layers=4, rope=None)) == 4
    assert streaming.budget_for(1000, 0.5) == 500 and streaming.budget_for(1000, 256) == 256
    assert StreamingLLM({"budget": 100}).budget_for(1000, 0.5) == 100 and FullCache().budget_for(1000, 0.5) == 1000


def test_contains_is_the_reference_score_beside_exact_match():
    assert contains("12345", " 12345.") == 1.0 and exact_match("12345", " 12345.") == 1.0
    assert contains("12345", " is 912345") == 1.0 and exact_match("12345", " is 912345") == 0.0
    assert contains("12345", " 1234") == 0.0 and contains("", "anything") == 0.0


def test_lacache_schedule_out_of_range_is_refused_before_running():
    # The case: 24 layers, span 9, overlap 7, budget 0.25 of 512 tokens, 64 leading tokens, one compression.
    policy = LaCachePolicy({"budget": 0.25, "leading_tokens": 64, "span": 9, "overlap": 7})
    ctx = CompressContext(budget=128, protected=0, num_layers=24, rope=None)
    with pytest.raises(HarnessError, match="cannot compress 512 cached tokens to a budget of 128"):
        policy.validate(ctx, 512, [512])
    policy.validate(ctx, 512, [1] * 512)  # the same budget streamed token by token is fine


def run_answer(tiny_llm, policy, task, sample):
    prompt = task.prompt(sample, tiny_llm.tokenizer)
    return answer(tiny_llm, policy, prompt, task.options, Clock(torch.device("cpu")), 6)


def test_first_token_full_reads_the_first_token_before_compression(tiny_llm):
    """Under the reference protocol a bounded policy's first answer token is the full cache's; its decode is not."""
    options = {"lengths": [512], "depths": [0.3, 0.7], "first_token": "full"}
    task = TASKS.get("passkey")(options)
    compressed = TASKS.get("passkey")({**options, "first_token": "compressed"})
    for sample in task.samples("offline", None, 0):
        full = run_answer(tiny_llm, FullCache(), task, sample)
        assert full.generated == run_answer(tiny_llm, FullCache(), compressed, sample).generated  # no eviction: same answer
        for policy in (StreamingLLM({"budget": 64}), LaCachePolicy({"budget": 64, "span": 2}), SnapKV({"budget": 64, "window": 8})):
            trace = run_answer(tiny_llm, policy, task, sample)
            assert trace.generated[0] == full.generated[0]
            assert trace.gold_logprob is not None
            if policy.streams:  # compressed after every decoded token: the cache never exceeds budget + 1
                assert trace.decode_bytes <= (64 + 1) * 2 * 4 * 2 * 16 * 4


def test_long_ppl_batched_and_chunked_full_equal_one_stream_at_a_time(tiny_llm):
    task = TASKS.get("long_ppl")({"passages": 3, "tokens": 300, "batch": 3})
    runtime = Runtime(device=torch.device("cpu"), seed=0, _llm=tiny_llm)
    samples = task.samples("offline", None, 0)
    passages = [task._ids(s, tiny_llm.tokenizer) for s in samples]
    for policy in (StreamingLLM({"budget": 64}), LaCachePolicy({"budget": 64, "span": 2})):
        together, _ = task._stream(passages, policy, runtime, 1)
        alone = torch.cat([task._stream([p], policy, runtime, 1)[0] for p in passages])
        torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)
    chunked, _ = task._stream(passages, FullCache(), runtime, 128)
    one_by_one, _ = task._stream(passages, FullCache(), runtime, 1)
    torch.testing.assert_close(chunked, one_by_one, atol=1e-4, rtol=1e-4)


def test_paired_metrics_resample_pairs_and_test_discordant_ones():
    task = TASKS.get("passkey")({})
    rng = np.random.default_rng(0)
    ref = [{"id": f"s{i}", "scores": {"exact_match": 1.0, "contains": 1.0, "partial_credit": 1.0, "gold_logprob": -1.0}} for i in range(40)]
    mine = [{"id": f"s{i}", "scores": {"exact_match": float(i >= 10), "contains": float(i >= 10 or i < 3),
                                        "partial_credit": 0.6 if i < 10 else 1.0, "gold_logprob": float(-1.0 - rng.random())}}
            for i in range(40)] + [{"id": "only-mine", "scores": {"exact_match": 0.0}}]
    paired = paired_metrics(task, mine, ref, seed=0)
    em = paired["exact_match"]
    assert em.n == 40 and em.losses == 10 and em.wins == 0 and em.ties == 30
    assert em.difference == pytest.approx(-0.25)
    assert em.p_value == pytest.approx(binomtest(0, 10, 0.5).pvalue) and em.test == "mcnemar_exact"
    assert em.ci95[0] < -0.25 < em.ci95[1] < 0  # the paired interval holds the difference and excludes a tie
    assert paired["contains"].losses == 7
    assert paired["partial_credit"].p_value is None  # not a 0/1 metric
    assert paired["gold_logprob"].losses == 40 and paired["gold_logprob"].ci95[1] < 0
    assert mcnemar_p(0, 0) == 1.0


def test_long_ppl_pairs_perplexity_as_exp_of_mean_nll():
    task = TASKS.get("long_ppl")({})
    ref = [{"id": f"p{i}", "scores": {"nll": 2.0, "perplexity": float(np.exp(2.0))}} for i in range(8)]
    mine = [{"id": f"p{i}", "scores": {"nll": 2.0 + 0.1 * i, "perplexity": float(np.exp(2.0 + 0.1 * i))}} for i in range(8)]
    paired = paired_metrics(task, mine, ref, seed=0)
    assert paired["perplexity"].difference == pytest.approx(np.exp(2.35) - np.exp(2.0))
    assert paired["nll"].difference == pytest.approx(0.35)


def test_snapkv_is_refused_on_long_ppl_and_left_out_of_its_default_plan(tiny_model_dir, tmp_path):
    assert default_tasks("snapkv")[0] == ["niah_multikey", "passkey"]
    assert "long_ppl" in default_tasks("lacache")[0]
    one_line_error(harness_cli("run", "--method", "snapkv", "--task", "long_ppl", "--model", str(tiny_model_dir), "--out", str(tmp_path)),
                   "has no streaming form")
    assert not list(tmp_path.rglob("*.json"))


def test_lacache_budget_the_schedule_cannot_serve_is_one_line(tiny_model_dir, tmp_path):
    proc = harness_cli("run", "--method", "lacache", "--task", "long_ppl", "--model", str(tiny_model_dir), "--out", str(tmp_path),
                       "--task-arg", "tokens=256", "--task-arg", "chunk=255", "--task-arg", "passages=1",
                       "--method-arg", "budget=20", "--method-arg", "leading_tokens=8", "--method-arg", "span=2", "--method-arg", "overlap=1")
    one_line_error(proc, "cannot compress 255 cached tokens to a budget of 20")
    assert not list(tmp_path.rglob("*.json"))


def test_runs_are_compared_with_full_on_shared_ids_and_validate_recomputes(tiny_model_dir, tmp_path):
    out = tmp_path / "results"
    small = ["--task-arg", "lengths=[256]", "--task-arg", "depths=[0.0,0.5,1.0]", "--repeats", "1", "--warmups", "0",
             "--model", str(tiny_model_dir), "--out", str(out), "--task", "passkey"]
    assert harness_cli("run", "--method", "streamingllm", *small).returncode == 0
    [alone] = records(out)
    assert json.loads(alone.read_text())["comparison"] is None  # no full run on this board yet
    assert harness_cli("run", "--method", "full", *small).returncode == 0
    assert harness_cli("run", "--method", "lacache", "--method-arg", "span=2", *small).returncode == 0
    [path] = [p for p in records(out) if "/lacache/" in str(p)]
    record = json.loads(path.read_text())
    comparison = record["comparison"]
    assert comparison["reference"] == "full" and comparison["metrics"]["exact_match"]["n"] == 3
    assert (path.parent / comparison["record"]).resolve().is_file()
    rows = logged_rows(path)
    protected = {row["output"]["protected_tokens"] for row in rows}
    assert record["method"]["applied"]["leading_tokens_kept"] == [max(LEADING_TOKENS, p) for p in sorted(protected)]
    assert harness_cli("validate", str(out)).returncode == 0
    record["comparison"]["metrics"]["exact_match"]["difference"] = 0.9
    path.write_text(json.dumps(record))
    proc = harness_cli("validate", str(out))
    assert proc.returncode == 1 and "paired difference exact_match = 0.9" in proc.stderr
