"""Feeds tokens through a causal LM under one KV-cache policy, with explicit positions and measured KV bytes."""

from __future__ import annotations

import copy

import torch
from transformers import DynamicCache

from tasks.long_context.kv import CompressContext, KVCachePolicy, QueryWindow, cache_bytes


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


REBASE_AFTER = 4096  # renumbering policies restart their positions from 0 once the next position passes this


class Streamer:
    """One sequence's cache: forward chunks, compress with the policy, and track positions and KV bytes.

    Positions are explicit. A position-keeping policy (SnapKV) continues at the number of tokens seen. A
    renumbering policy (StreamingLLM, LaCache) keeps its cache at contiguous positions that end just before
    the next token: after an eviction the kept keys are turned so that slot j sits at next_pos - n + j, which
    gives every query exactly the relative positions of the papers' renumbering from 0 (RoPE sees only
    differences), while the unmoved tail needs no rotation. Once next_pos passes REBASE_AFTER the positions
    restart from 0 (all keys turned once), so absolute positions, and RoPE's float error, stay bounded.
    """

    def __init__(self, model: torch.nn.Module, policy: KVCachePolicy, ctx: CompressContext):
        self.model, self.policy, self.ctx = model, policy, ctx
        self.cache = DynamicCache(config=model.config)
        self.next_pos = 0
        self.peak_bytes = 0
        self.peak_tokens = 0
        self._hooks = []
        if policy.query_window:
            ctx.window = QueryWindow(policy.query_window)
            for i, layer in enumerate(model.model.layers):
                self._hooks.append(layer.self_attn.register_forward_pre_hook(self._capture(i), with_kwargs=True))
        policy.reset(ctx)

    def _capture(self, layer_idx: int):
        def hook(module, args, kwargs):
            hidden = kwargs.get("hidden_states", args[0] if args else None)
            cos, sin = kwargs["position_embeddings"]
            w = min(self.ctx.window.size, hidden.shape[1])
            q = module.q_proj(hidden[:, -w:]).view(hidden.shape[0], w, -1, module.head_dim).transpose(1, 2)
            cos, sin = cos[:, -w:].unsqueeze(1), sin[:, -w:].unsqueeze(1)
            self.ctx.window.queries[layer_idx] = q * cos + _rotate_half(q) * sin

        return hook

    @property
    def length(self) -> int:
        return self.cache.get_seq_length()

    def forward(self, ids: torch.Tensor, all_logits: bool = False) -> torch.Tensor:
        """Run ids [B, n] after the cached tokens (one independent sequence per row, all at the same positions);
        returns logits [B, n, V] (or [B, 1, V] for the last position only)."""
        b, n = ids.shape
        positions = torch.arange(self.next_pos, self.next_pos + n, device=ids.device)[None].expand(b, -1)
        out = self.model(input_ids=ids, position_ids=positions, cache=self.cache, use_cache=True,
                         logits_to_keep=0 if all_logits else 1)
        self.next_pos += n
        self._track()
        return out.logits.float()

    def compress(self) -> None:
        rebase = self.policy.renumbers and self.next_pos > REBASE_AFTER
        self.ctx.rebase = self.next_pos - self.length if rebase else None
        evicted = self.policy.compress(self.cache, self.ctx)
        self.ctx.rebase = None
        if evicted and rebase:
            self.next_pos = self.length

    def _track(self) -> None:
        held = cache_bytes(self.cache)
        if held > self.peak_bytes:
            self.peak_bytes = held
        self.peak_tokens = max(self.peak_tokens, self.length)

    def fork(self) -> "Streamer":
        """An independent copy of the current state, the policy's own state included (for teacher-forcing the gold)."""
        twin = object.__new__(Streamer)
        twin.model, twin.policy, twin.ctx = self.model, copy.deepcopy(self.policy), self.ctx
        twin.cache = DynamicCache(config=self.model.config)
        for layer_idx, layer in enumerate(self.cache.layers):
            twin.cache.update(layer.keys.clone(), layer.values.clone(), layer_idx)
        twin.next_pos, twin.peak_bytes, twin.peak_tokens, twin._hooks = self.next_pos, 0, 0, []
        return twin

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
