"""StreamingLLM: attention sinks + a recent window, with keys re-rotated to contiguous positions."""

from __future__ import annotations

import torch

from tasks.long_context.kv import CompressContext, KVCachePolicy, LeadingParams


class StreamingLLM(KVCachePolicy):
    """Keeps the leading tokens (attention sinks, at least the protected prefix) and the most recent ones (Xiao et al., 2023)."""

    name = "streamingllm"
    version = "2"
    paper = "https://arxiv.org/abs/2309.17453"
    description = "Attention sinks (the shared leading-token default, 4) plus a recent window; cached keys are shifted to contiguous positions."
    Params = LeadingParams

    def keep(self, cache_len: int, ctx: CompressContext, cache) -> torch.Tensor:
        sinks = self.leading(ctx)
        recent = ctx.budget - sinks
        return torch.cat([torch.arange(sinks), torch.arange(cache_len - recent, cache_len)])
