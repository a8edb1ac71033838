"""The KV-cache policy contract and the cache surgery every policy shares (gather, RoPE re-rotation, byte counts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from transformers import DynamicCache

from harness.contracts.method import Method
from harness.errors import HarnessError

# Leading tokens every bounded policy keeps by default (StreamingLLM's attention sinks, LaCache's start_size):
# 4, the StreamingLLM paper's sink count and LaCache's own streaming setting (ppl/lacache/kv_cache.py). Each policy
# raises it to the task's protected instruction prefix, so all of them keep exactly the same leading tokens.
LEADING_TOKENS = 4


class BudgetParams(BaseModel):
    """A cache budget: a fraction of the context (0 < b < 1), a number of tokens (b >= 1), or the task's default."""

    model_config = ConfigDict(extra="forbid")
    budget: float | None = Field(default=None, gt=0, description="fraction of the context if < 1, else tokens; "
                                 "unset: the task's default (0.5 of the context for retrieval, 256 tokens for long_ppl)")


class LeadingParams(BudgetParams):
    """A budget plus the leading tokens the policy always keeps (one default shared by every such policy)."""

    leading_tokens: int = Field(default=LEADING_TOKENS, ge=0, description="leading tokens always kept (StreamingLLM's "
                                "sinks, LaCache's start_size), raised to cover the protected prefix")


def budget_tokens(budget: float, context_tokens: int) -> int:
    return int(budget * context_tokens) if budget < 1 else int(budget)


class Rope:
    """Rotates cached (already RoPE-encoded) keys by a position delta: R(p + d) k = R(d) R(p) k.

    The cos and sin of every integer delta are computed once into a table (grown as larger deltas appear) and then
    looked up, the same float32 values a direct `cos(delta * inv_freq)` gives, at the price of a copy.
    """

    def __init__(self, model: torch.nn.Module):
        inv_freq = model.model.rotary_emb.inv_freq
        self.inv_freq = inv_freq.detach().float()
        self._low, self._cos, self._sin = 0, torch.empty(0, len(self.inv_freq)), torch.empty(0, len(self.inv_freq))

    def _cover(self, low: int, high: int) -> None:
        span = self._cos.shape[0]
        if self._low <= low and high < self._low + span:
            return
        low, high = min(low, self._low if span else low), max(high, self._low + span - 1 if span else high)
        low, high = low - (high - low + 1) // 2, high + (high - low + 1) // 2  # room to grow into
        angles = torch.arange(low, high + 1, dtype=torch.float32)[:, None] * self.inv_freq
        self._low, self._cos, self._sin = low, angles.cos(), angles.sin()

    def turns(self, delta: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin of the angles for integer position shifts `delta` ([..., d/2]; both key halves share them)."""
        if delta.numel() == 0:
            empty = torch.empty(*delta.shape, len(self.inv_freq), device=device)
            return empty, empty
        delta = delta.cpu().long()
        self._cover(int(delta.min()), int(delta.max()))
        rows = delta - self._low
        return self._cos[rows].to(device), self._sin[rows].to(device)

    def rotate(self, keys: torch.Tensor, delta: torch.Tensor | None = None,
               turns: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """keys [..., n, d] turned by `delta` (broadcastable to keys.shape[:-1], kept as small as it can be) or by
        precomputed `turns`."""
        cos, sin = turns if turns is not None else self.turns(delta, keys.device)
        k = keys.float()
        half = k.shape[-1] // 2
        first, second = k[..., :half], k[..., half:]
        out = torch.empty(torch.broadcast_shapes(k.shape, (*cos.shape[:-1], k.shape[-1])), dtype=k.dtype, device=k.device)
        torch.mul(first, cos, out=out[..., :half]).addcmul_(second, sin, value=-1)  # x1 cos - x2 sin
        torch.mul(second, cos, out=out[..., half:]).addcmul_(first, sin)  # x2 cos + x1 sin
        return out.to(keys.dtype)


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
    rebase: int | None = None  # set by the streamer: renumber kept keys from position 0 (the cache's first slot sits at `rebase`)


class KVCachePolicy(Method):
    """A KV-cache policy (kvpress's 'press'): it decides which cached tokens each layer keeps.

    Subclasses implement `keep(cache_len, ctx, cache)` returning the cache slots to keep (see `gather`);
    all layers must keep the same count so that the one shared causal mask stays valid.
    """

    family: ClassVar[str] = "long_context"
    protocol: ClassVar[str] = "kv_cache"
    Params: ClassVar[type[BaseModel]] = BudgetParams
    renumbers: ClassVar[bool] = True  # kept keys are re-rotated to contiguous positions 0..n-1
    query_window: ClassVar[int] = 0  # >0: the policy reads the queries of the last N positions
    bounded: ClassVar[bool] = True
    streams: ClassVar[bool] = True  # False: the policy compresses a finished prompt once and cannot follow a stream

    def budget_for(self, context_tokens: int, default: float) -> int:
        """The budget in tokens for a context: the method's own budget, else the task's default."""
        if not self.bounded:
            return context_tokens
        return budget_tokens(self.params.budget if self.params.budget is not None else default, context_tokens)

    def leading(self, ctx: CompressContext) -> int:
        """Leading tokens this policy keeps: its own leading_tokens (if it has any) raised to the protected prefix."""
        return max(getattr(self.params, "leading_tokens", 0), ctx.protected)

    def reset(self, ctx: CompressContext) -> None:
        """Called before each sequence; policies with state (LaCache's cursor) clear it here."""

    def validate(self, ctx: CompressContext, context_tokens: int, growth: list[int] | None = None) -> None:
        """Raise HarnessError for a budget this policy cannot honour.

        `growth` is the task's compression plan: the tokens added to the cache before each compression.
        """
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

    def keep(self, cache_len: int, ctx: CompressContext, cache: DynamicCache) -> torch.Tensor | list[torch.Tensor] | None:
        """Slots to keep ([n] for all layers, [L, n] per layer, [L, H_kv, n] per head, or a per-layer list), or None."""
        raise NotImplementedError

    def compress(self, cache: DynamicCache, ctx: CompressContext) -> bool:
        """Evict down to the budget; True when slots were dropped. A renumbering policy's kept keys end up at
        contiguous positions just before the next token's (anchored numbering), or from 0 when `ctx.rebase`."""
        cache_len = cache.get_seq_length()
        if cache_len <= ctx.budget:
            return False
        kept = self.keep(cache_len, ctx, cache)
        if kept is None:
            return False
        n = kept.shape[-1] if isinstance(kept, torch.Tensor) else kept[0].shape[-1]
        shift = -ctx.rebase if ctx.rebase is not None else cache_len - n
        gather(cache, kept, ctx.rope if self.renumbers else None, shift)
        return True


def gather(cache: DynamicCache, kept: torch.Tensor | list[torch.Tensor], rope: Rope | None, shift: int = 0) -> None:
    """Keep the given slots in each layer; with `rope`, re-rotate keys so kept slot j sits at position j + shift
    relative to where slot 0 was (kept slot j at old slot i turns by j + shift - i).

    `kept` is one index for every layer and head ([n]), one per layer ([L, n]), one per layer and KV head
    ([L, H_kv, n]), or a list of per-layer [n] / [H_kv, n] indices. Only the slots that move are touched: when
    `shift` is the number of evicted slots (the streamer's anchored numbering) the kept tail that ends the cache
    stays where it is, so the moving head is written (turned, with `rope`) into the slots just before it and the
    layer becomes a view from slot `shift`: StreamingLLM moves just its sinks, as cheap as dropping a slot.
    """
    if not isinstance(kept, torch.Tensor):
        counts = {int(idx.shape[-1]) for idx in kept}
        if len(counts) != 1:
            raise RuntimeError(f"policy kept different token counts per layer {sorted(counts)}: the shared mask needs equal lengths")
        heads = cache.layers[0].keys.shape[1]
        kept = torch.stack([idx.expand(heads, -1) for idx in kept]) if any(i.dim() > 1 for i in kept) else torch.stack(kept)
    n, layers = kept.shape[-1], len(cache.layers)
    delta = torch.arange(n, device=kept.device) + shift - kept  # [n], [L, n] or [L, H_kv, n]: 0 where a slot stays
    per_layer = delta.dim() > 1
    moved = delta.ne(0).reshape(layers if per_layer else 1, -1, n).any(1)
    upto = (moved * torch.arange(1, n + 1, device=kept.device)).amax(-1).tolist()  # per layer: the moving head's width
    in_place = shift >= 0 and shift + n == cache.layers[0].keys.shape[2]  # the unmoved tail ends the cache
    turns = rope.turns(delta[..., :max(upto)], cache.layers[0].keys.device) if rope is not None and max(upto) else None
    for layer_idx, layer in enumerate(cache.layers):
        idx = kept if not per_layer else kept[layer_idx]
        width, at = (upto[layer_idx], layer_idx) if per_layer else (upto[0], ...)
        if in_place:
            keys, values = layer.keys[:, :, shift:], layer.values[:, :, shift:]
            if width:
                head_keys, head_values = _select(layer.keys, idx[..., :width]), _select(layer.values, idx[..., :width])
                if turns is not None:
                    head_keys = rope.rotate(head_keys, turns=(turns[0][at][..., :width, :], turns[1][at][..., :width, :]))
                keys[:, :, :width], values[:, :, :width] = head_keys, head_values
        else:
            keys, values = _select(layer.keys, idx), _select(layer.values, idx)
            if width and turns is not None:
                keys[:, :, :width] = rope.rotate(keys[:, :, :width], turns=(turns[0][at][..., :width, :], turns[1][at][..., :width, :]))
        layer.keys, layer.values = keys, values


def _select(tensor: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Slots `idx` ([n], or [H_kv, n] per head) of a [B, H_kv, T, d] cache tensor, as a new tensor."""
    idx = idx.to(tensor.device)
    if idx.dim() == 1:
        return tensor.index_select(2, idx)
    return torch.gather(tensor, 2, idx[None, :, :, None].expand(tensor.shape[0], -1, -1, tensor.shape[-1]))


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
