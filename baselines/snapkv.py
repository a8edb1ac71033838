"""SnapKV: keep, per KV head, the context tokens that the last queries (the observation window) attend to most."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field

from harness.errors import HarnessError
from tasks.long_context.kv import BudgetParams, CompressContext, KVCachePolicy


class SnapKVParams(BudgetParams):
    window: int = Field(default=32, ge=1, description="observation window: the last queries whose attention is scored")
    kernel: int = Field(default=7, ge=1, description="max-pooling width that keeps neighbours of selected tokens")


class SnapKV(KVCachePolicy):
    """Scores cached tokens by the observation window's attention, pooled, top-k per KV head (Li et al., 2024).

    Tokens keep their original positions (no re-rotation); the protected prefix and the window are always kept.
    The window is the last tokens in the cache when it compresses: under `first_token=compressed` those are the
    context's last tokens, before the question is asked, so the selection is question-agnostic; under
    `first_token=full` the question has been prefilled and sits in the window, as in the published method. It
    compresses a finished prompt once and has no streaming form, so it does not run `long_ppl`.
    """

    name = "snapkv"
    version = "2"
    paper = "https://arxiv.org/abs/2404.14469"
    description = ("Prefill compression by the observation window's pooled attention, per KV head; question-agnostic "
                   "under first_token=compressed (the window ends the context), question-aware under first_token=full.")
    Params = SnapKVParams
    renumbers = False
    streams = False

    @property
    def query_window(self) -> int:  # type: ignore[override]
        return self.params.window

    def validate(self, ctx: CompressContext, context_tokens: int, growth: list[int] | None = None) -> None:
        super().validate(ctx, context_tokens, growth)
        if ctx.budget <= ctx.protected + self.params.window:
            raise HarnessError(
                f"snapkv budget of {ctx.budget} tokens leaves no room beside the protected prefix ({ctx.protected}) "
                f"and the window ({self.params.window}): raise the budget or lower --method-arg window"
            )

    def keep(self, cache_len: int, ctx: CompressContext, cache) -> list[torch.Tensor]:
        captured = ctx.window.queries[0].shape[2]  # fewer than `window` when the last forward was shorter
        window = min(self.params.window, captured, cache_len - ctx.protected - 1)
        free = ctx.budget - ctx.protected - window  # slots left for scored tokens
        kept = []
        for layer_idx, layer in enumerate(cache.layers):
            keys = layer.keys[0]  # [Hkv, n, d]
            queries = ctx.window.queries[layer_idx][0, :, -window:]  # [Hq, w, d]
            groups = queries.shape[0] // keys.shape[0]
            scores = torch.einsum("hwd,hnd->hwn", queries.float(), keys.float().repeat_interleave(groups, 0)) / math.sqrt(keys.shape[-1])
            causal = torch.arange(cache_len, device=keys.device)[None, :] > torch.arange(cache_len - window, cache_len, device=keys.device)[:, None]
            attention = scores.masked_fill(causal, float("-inf")).softmax(-1)
            votes = attention.sum(1).view(keys.shape[0], groups, cache_len).mean(1)[:, ctx.protected:cache_len - window]
            pooled = F.max_pool1d(votes[:, None], self.params.kernel, stride=1, padding=self.params.kernel // 2)[:, 0, : votes.shape[-1]]
            top = pooled.topk(free, dim=-1).indices.sort(-1).values + ctx.protected
            heads = keys.shape[0]
            prefix = torch.arange(ctx.protected, device=keys.device).expand(heads, -1)
            tail = torch.arange(cache_len - window, cache_len, device=keys.device).expand(heads, -1)
            kept.append(torch.cat([prefix, top, tail], dim=-1))
        return kept
