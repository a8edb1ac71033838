"""The KV-cache policy contract and the cache surgery every policy shares (gather, RoPE re-rotation, byte counts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from transformers import DynamicCache

from harness.errors import HarnessError
from harness.method import Method


class BudgetParams(BaseModel):
    """A cache budget: a fraction of the context (0 < b < 1) or a number of tokens (b >= 1)."""

    model_config = ConfigDict(extra="forbid")
    budget: float = Field(default=0.5, gt=0, description="fraction of the context if < 1, else tokens")


def budget_tokens(budget: float, context_tokens: int) -> int:
    return int(budget * context_tokens) if budget < 1 else int(budget)


class Rope:
    """Rotates cached (already RoPE-encoded) keys by a position delta: R(p + d) k = R(d) R(p) k."""

    def __init__(self, model: torch.nn.Module):
        inv_freq = model.model.rotary_emb.inv_freq
        self.inv_freq = inv_freq.detach().float()

    def rotate(self, keys: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """keys [B, H, n, d]; delta broadcastable to [B, H, n] (integer position shifts)."""
        angles = delta.to(keys.device, torch.float32)[..., None] * self.inv_freq.to(keys.device)
        angles = torch.cat([angles, angles], dim=-1)
        k = keys.float()
        half = k.shape[-1] // 2
        rotated_half = torch.cat([-k[..., half:], k[..., :half]], dim=-1)
        return (k * angles.cos() + rotated_half * angles.sin()).to(keys.dtype)


@dataclass
class QueryWindow:
    """RoPE-encoded queries of the last `size` positions of the latest forward, per layer ([B, Hq, w, d])."""

    size: int
    queries: dict[int, torch.Tensor] = field(default_factory=dict)


@dataclass
class CompressContext:
    """What a policy may read when it compresses: the budget, the protected prefix and model geometry."""

    budget: int
    protected: int
    num_layers: int
    rope: Rope
    window: QueryWindow | None = None


class KVCachePolicy(Method):
    """A KV-cache policy (kvpress's 'press'): it decides which cached tokens each layer keeps.

    Subclasses implement `keep(cache_len, ctx, cache)` returning, per layer, the cache slots to keep
    (a 1-D index shared by all heads, or [H_kv, n] per head); all layers must keep the same count so
    that the one shared causal mask stays valid.
    """

    family: ClassVar[str] = "long_context"
    protocol: ClassVar[str] = "kv_cache"
    Params: ClassVar[type[BaseModel]] = BudgetParams
    renumbers: ClassVar[bool] = True  # kept keys are re-rotated to contiguous positions 0..n-1
    query_window: ClassVar[int] = 0  # >0: the policy reads the queries of the last N positions
    bounded: ClassVar[bool] = True

    def reset(self, ctx: CompressContext) -> None:
        """Called before each sequence; policies with state (LaCache's cursor) clear it here."""

    def validate(self, ctx: CompressContext, context_tokens: int) -> None:
        """Raise HarnessError for a budget this policy cannot honour."""
        if ctx.budget >= context_tokens:
            raise HarnessError(
                f"{self.name} budget of {ctx.budget} tokens is not smaller than the context ({context_tokens} tokens): "
                f"nothing would be evicted; use --method-arg budget=0.5 (a fraction) or fewer tokens"
            )
        if ctx.budget <= ctx.protected:
            raise HarnessError(
                f"{self.name} budget of {ctx.budget} tokens does not exceed the protected instruction prefix "
                f"({ctx.protected} tokens): use a larger --method-arg budget"
            )

    def keep(self, cache_len: int, ctx: CompressContext, cache: DynamicCache) -> list[torch.Tensor] | None:
        """Per-layer slots to keep, or None to keep everything."""
        raise NotImplementedError

    def compress(self, cache: DynamicCache, ctx: CompressContext) -> None:
        cache_len = cache.get_seq_length()
        if cache_len <= ctx.budget:
            return
        kept = self.keep(cache_len, ctx, cache)
        if kept is not None:
            gather(cache, kept, ctx.rope if self.renumbers else None)


def gather(cache: DynamicCache, kept: list[torch.Tensor], rope: Rope | None) -> None:
    """Keep the given slots in each layer; with `rope`, re-rotate keys so slot j sits at position j."""
    counts = {int(idx.shape[-1]) for idx in kept}
    if len(counts) != 1:
        raise RuntimeError(f"policy kept different token counts per layer {sorted(counts)}: the shared mask needs equal lengths")
    for layer, idx in zip(cache.layers, kept):
        keys, values = layer.keys, layer.values
        b, h, _, d = keys.shape
        idx = idx.to(keys.device)
        per_head = idx.expand(h, -1) if idx.dim() == 1 else idx
        index = per_head[None, :, :, None].expand(b, h, -1, d)
        new_keys = torch.gather(keys, 2, index)
        if rope is not None:
            new_slot = torch.arange(per_head.shape[-1], device=keys.device)
            new_keys = rope.rotate(new_keys, (new_slot - per_head)[None])
        layer.keys, layer.values = new_keys, torch.gather(values, 2, index)


def cache_bytes(cache: DynamicCache) -> int:
    """Bytes held by the cache tensors' storages (a view of a larger buffer counts the whole buffer)."""
    seen, total = set(), 0
    for layer in cache.layers:
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if tensor is None or tensor.numel() == 0:
                continue
            storage = tensor.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
    return total


def bytes_per_token(config, dtype: torch.dtype) -> int:
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    return 2 * config.num_hidden_layers * kv_heads * head_dim * torch.finfo(dtype).bits // 8
