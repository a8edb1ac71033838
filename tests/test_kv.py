"""Cache surgery: RoPE re-rotation, gathering, byte counting, and the policies' choices on a tiny Llama."""

import pytest
import torch
from transformers import DynamicCache

from baselines.full import FullCache
from baselines.lacache import LaCachePolicy
from baselines.snapkv import SnapKV
from baselines.streamingllm import StreamingLLM
from harness.errors import HarnessError
from tasks.long_context.kv import CompressContext, Rope, cache_bytes, gather
from tasks.long_context.streamer import Streamer


def prefill(model, ids: list[int]) -> DynamicCache:
    cache = DynamicCache(config=model.config)
    with torch.inference_mode():
        model(input_ids=torch.tensor([ids]), cache=cache, use_cache=True)
    return cache


def context(model, budget, protected=2):
    return CompressContext(budget=budget, protected=protected, num_layers=model.config.num_hidden_layers, rope=Rope(model))


def test_rerotated_keys_equal_keys_computed_at_the_new_positions(tiny_llm):
    model = tiny_llm.model
    ids = list(range(100, 140))
    cache = prefill(model, ids)
    kept = torch.tensor([0, 1, 2, 20, 21, 35, 38, 39])
    gather(cache, [kept] * model.config.num_hidden_layers, Rope(model))
    # Layer 0's keys depend only on the token itself and its position: a fresh forward of the kept tokens at
    # contiguous positions must give the same keys.
    fresh = prefill(model, [ids[i] for i in kept]).layers[0].keys
    torch.testing.assert_close(cache.layers[0].keys, fresh, atol=1e-5, rtol=1e-4)


def test_gather_without_rope_keeps_original_rotation(tiny_llm):
    model = tiny_llm.model
    cache = prefill(model, list(range(200, 220)))
    original = cache.layers[0].keys.clone()
    kept = torch.tensor([0, 5, 19])
    gather(cache, [kept] * model.config.num_hidden_layers, None)
    torch.testing.assert_close(cache.layers[0].keys, original[:, :, kept])


def test_full_policy_streamer_matches_a_plain_forward(tiny_llm):
    model = tiny_llm.model
    ids = torch.tensor([list(range(300, 364))])
    with torch.inference_mode():
        expected = model(input_ids=ids).logits[0, -1]
        streamer = Streamer(model, FullCache(), context(model, 64))
        for start in range(0, 64, 16):
            logits = streamer.forward(ids[:, start:start + 16])
    torch.testing.assert_close(logits[0, -1], expected.float(), atol=1e-4, rtol=1e-4)


def test_cache_bytes_counts_whole_storages(tiny_llm):
    model = tiny_llm.model
    cache = prefill(model, list(range(10, 42)))
    per_layer = 2 * cache.layers[0].keys.nelement() * 4
    assert cache_bytes(cache) == per_layer * model.config.num_hidden_layers
    for layer in cache.layers:  # a view keeps its whole buffer alive, and is counted so
        layer.keys, layer.values = layer.keys[:, :, :4], layer.values[:, :, :4]
    assert cache_bytes(cache) == per_layer * model.config.num_hidden_layers


@pytest.mark.parametrize("policy", [StreamingLLM({"budget": 24}), SnapKV({"budget": 24, "window": 4}),
                                    LaCachePolicy({"budget": 24, "leading_tokens": 2, "span": 2})])
def test_bounded_policies_stay_within_budget_and_keep_the_prefix(tiny_llm, policy):
    model = tiny_llm.model
    ctx = context(model, 24, protected=3)
    streamer = Streamer(model, policy, ctx)
    ids = torch.tensor([list(range(1000, 1100))])
    with torch.inference_mode():
        first_keys = None
        for start in range(0, 100, 10):
            streamer.forward(ids[:, start:start + 10])
            if first_keys is None:
                first_keys = streamer.cache.layers[0].keys[:, :, :3].clone()
            streamer.compress()
            assert streamer.length <= 24 + (1 if isinstance(policy, LaCachePolicy) else 0)
    streamer.close()
    lengths = {layer.keys.shape[2] for layer in streamer.cache.layers}
    assert len(lengths) == 1
    if policy.renumbers:  # anchored numbering: the kept slots sit at contiguous positions ending before next_pos
        assert streamer.next_pos == 100
        shift = streamer.next_pos - streamer.length  # the prefix keys were turned forward by exactly this much
        torch.testing.assert_close(streamer.cache.layers[0].keys[:, :, :3], ctx.rope.rotate(first_keys, torch.full((3,), shift)),
                                   atol=1e-5, rtol=1e-4)
    else:
        assert streamer.next_pos == 100
        torch.testing.assert_close(streamer.cache.layers[0].keys[:, :, :3], first_keys)


@pytest.mark.parametrize("policy", [StreamingLLM({"budget": 24}), LaCachePolicy({"budget": 24, "leading_tokens": 2, "span": 2})])
def test_anchored_numbering_equals_renumbering_from_zero(tiny_llm, policy, monkeypatch):
    """Turning only what moves (positions anchored before the next token) gives the papers' renumber-from-0 logits."""
    import tasks.long_context.streamer as streamer_module

    model = tiny_llm.model
    ids = torch.tensor([list(range(2000, 2090))])

    def stream() -> torch.Tensor:
        streamer = Streamer(model, policy, context(model, 24, protected=3))
        out = []
        with torch.inference_mode():
            for i in range(90):
                out.append(streamer.forward(ids[:, i:i + 1])[0, -1])
                streamer.compress()
        return torch.stack(out)

    anchored = stream()
    monkeypatch.setattr(streamer_module, "REBASE_AFTER", -1)  # renumber from 0 at every compression, as the references do
    from_zero = stream()
    torch.testing.assert_close(anchored, from_zero, atol=1e-4, rtol=1e-4)


def test_streamingllm_keeps_sinks_and_recent(tiny_llm):
    model = tiny_llm.model
    policy = StreamingLLM({"budget": 10, "leading_tokens": 4})
    kept = policy.keep(50, context(model, 10, protected=2), None)
    assert kept.tolist() == [0, 1, 2, 3, 44, 45, 46, 47, 48, 49]


def test_snapkv_keeps_what_the_window_attends_to(tiny_llm):
    model = tiny_llm.model
    policy = SnapKV({"budget": 8, "window": 2, "kernel": 1})
    ctx = context(model, 8, protected=1)
    streamer = Streamer(model, policy, ctx)
    with torch.inference_mode():
        streamer.forward(torch.tensor([list(range(500, 530))]))
    streamer.close()
    # Make slot 10's key point exactly along the window's queries in every layer: it must be selected.
    groups = model.config.num_attention_heads // model.config.num_key_value_heads
    with torch.inference_mode():
        for i, layer in enumerate(streamer.cache.layers):
            q = ctx.window.queries[i][0].mean(dim=1).view(model.config.num_key_value_heads, groups, -1).mean(1)
            layer.keys[0, :, 10] = 50 * q / q.norm(dim=-1, keepdim=True)
        kept = policy.keep(30, ctx, streamer.cache)
    for idx in kept:
        assert idx.shape == (model.config.num_key_value_heads, 8)
        assert (idx[:, 0] == 0).all() and (idx[:, -2:] == torch.tensor([28, 29])).all()
        assert (idx == 10).any(dim=1).all()


def test_budget_validation_is_a_clear_error(tiny_llm):
    model = tiny_llm.model
    with pytest.raises(HarnessError, match="not smaller than the context"):
        StreamingLLM({"budget": 500}).validate(context(model, 500), 400)
    with pytest.raises(HarnessError, match="protected instruction prefix"):
        StreamingLLM({"budget": 10}).validate(context(model, 10, protected=20), 400)
