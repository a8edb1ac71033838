"""What every KV-cache policy must do, checked on a small causal LM (harness.testing.check_method calls it through
the long-context tasks' `conformance`): honour its budget while streaming, keep its leading tokens, keep the same count
in every layer, refuse a budget it cannot honour in one line, and give the same cache twice."""

from __future__ import annotations

import torch

from harness.contracts.runtime import Runtime
from harness.errors import HarnessError
from tasks.long_context.kv import CompressContext, KVCachePolicy, Rope
from tasks.long_context.streamer import Streamer

STREAM_TOKENS = 96  # tokens streamed one at a time
BUDGET = 32  # tokens the policy may keep


def stream(policy: KVCachePolicy, runtime: Runtime, ids: torch.Tensor) -> Streamer:
    """Stream `ids` [1, n] one token per forward, compressing after each (long_ppl's protocol); returns the streamer."""
    model = runtime.llm.model
    ctx = CompressContext(budget=BUDGET, protected=0, num_layers=model.config.num_hidden_layers, rope=Rope(model))
    policy.validate(ctx, ids.shape[1], [1] * (ids.shape[1] - 1))
    streamer = Streamer(model, policy, ctx)
    with torch.inference_mode():
        for i in range(ids.shape[1]):
            streamer.forward(ids[:, i:i + 1])
            streamer.compress()
    streamer.close()
    return streamer


def kv_policy_conformance(method_cls: type[KVCachePolicy], params: dict, runtime: Runtime) -> list[str]:
    """The checks a KV-cache policy passes (an AssertionError names the first it fails)."""
    passed = []
    model = runtime.llm.model
    ids = torch.randint(0, model.config.vocab_size, (1, STREAM_TOKENS), generator=torch.Generator().manual_seed(0))
    policy = method_cls({**params, "budget": BUDGET} if "budget" in method_cls.Params.model_fields else params)
    if not policy.bounded:
        return ["unbounded: keeps every token (nothing to check)"]

    ctx = CompressContext(budget=STREAM_TOKENS, protected=0, num_layers=model.config.num_hidden_layers, rope=Rope(model))
    try:
        policy.validate(ctx, STREAM_TOKENS)
    except HarnessError as exc:
        assert "\n" not in str(exc), f"{method_cls.name}: its refusal of a budget is not one line: {exc}"
        passed.append(f"refuses a budget it cannot honour in one line ({str(exc)[:60]}...)")
    else:
        raise AssertionError(f"{method_cls.name}: a budget as large as the context ({STREAM_TOKENS} tokens) is accepted; "
                             "validate() must raise HarnessError (nothing would be evicted)")

    if not policy.streams:
        return passed + ["compresses a finished prompt only (no stream to check)"]
    first = stream(policy, runtime, ids)
    lengths = {layer.keys.shape[2] for layer in first.cache.layers}
    assert len(lengths) == 1, f"{method_cls.name}: layers keep different counts {sorted(lengths)}; all must keep the same"
    passed.append("every layer keeps the same number of tokens")
    assert first.length <= BUDGET, f"{method_cls.name}: {first.length} tokens cached after compressing, budget {BUDGET}"
    assert first.peak_tokens <= BUDGET + 1, f"{method_cls.name}: {first.peak_tokens} tokens cached at peak, budget {BUDGET} + 1"
    passed.append(f"keeps at most its budget ({BUDGET} tokens; {first.length} after the last compression)")

    leading = policy.leading(first.ctx)
    if leading:
        fresh = Streamer(model, method_cls(policy.params.model_dump()), first.ctx)
        with torch.inference_mode():
            fresh.forward(ids[:, :leading])
        for layer, original in zip(first.cache.layers, fresh.cache.layers):  # values carry no rotation
            assert torch.allclose(layer.values[:, :, :leading], original.values[:, :, :leading], atol=1e-4), (
                f"{method_cls.name}: the first {leading} cached tokens are not the stream's leading tokens")
        fresh.close()
        passed.append(f"keeps its {leading} leading tokens in the first slots")

    second = stream(method_cls(policy.params.model_dump()), runtime, ids)
    same = all(torch.allclose(a.keys, b.keys, atol=1e-5) and torch.allclose(a.values, b.values, atol=1e-5)
               for a, b in zip(first.cache.layers, second.cache.layers))
    assert second.length == first.length and same, f"{method_cls.name}: the same stream twice gives different caches"
    passed.append("the same stream gives the same cache twice")
    return passed
