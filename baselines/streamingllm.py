"""StreamingLLM: attention sinks + a recent window, with keys re-rotated to contiguous positions."""

from __future__ import annotations

import torch
from pydantic import Field

from tasks.long_context.kv import BudgetParams, CompressContext, KVCachePolicy


class StreamingParams(BudgetParams):
    sink_tokens: int = Field(default=4, ge=0, description="initial tokens always kept (raised to cover the protected prefix)")


class StreamingLLM(KVCachePolicy):
    """Keeps the first tokens (sinks, at least the protected prefix) and the most recent ones (Xiao et al., 2023)."""

    name = "streamingllm"
    version = "1"
    paper = "https://arxiv.org/abs/2309.17453"
    description = "Attention sinks plus a recent window; cached keys are shifted to contiguous positions."
    Params = StreamingParams

    def keep(self, cache_len: int, ctx: CompressContext, cache) -> list[torch.Tensor]:
        sinks = max(self.params.sink_tokens, ctx.protected)
        recent = ctx.budget - sinks
        index = torch.cat([torch.arange(sinks), torch.arange(cache_len - recent, cache_len)])
        return [index] * ctx.num_layers
