"""LaCache: a ladder-shaped KV cache with iterative compaction (Shi et al., ICML 2025).

Faithful to the reference code (GATECH-EIC/LaCache, `LaCache.__call__`): tokens before a moving cursor
are kept; between the old and new cursor each layer keeps a staggered `span`-wide slice of every ladder
step (so shallow and deep layers cover different old tokens); when the room before the cursor runs out
the compaction starts over from `start_size`, thinning the whole ladder again. Keys are re-rotated to
contiguous positions, as the reference's position-shift attention does.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from pydantic import Field

from harness.errors import HarnessError
from tasks.long_context.kv import CompressContext, KVCachePolicy, LeadingParams


class LaCacheParams(LeadingParams):
    span: int = Field(default=16, ge=1, description="layers covered by one ladder step")
    overlap: int = Field(default=0, ge=0, description="layers shared by consecutive ladder steps")


class Ladder:
    """The reference compaction schedule on slot indices: `select(n)` says which slots each layer keeps."""

    def __init__(self, num_layers: int, cache_size: int, start_size: int, span: int, overlap: int):
        if span <= overlap:
            raise HarnessError(f"lacache needs span > overlap (got span={span}, overlap={overlap}): the reference divides by span - overlap")
        self.num_layers, self.start_size = num_layers, start_size
        self.before = 1 + math.ceil((num_layers - span) / (span - overlap))
        self.after = min(math.ceil(span / (span - overlap)), self.before)
        self.reducible = self.before - self.after
        if self.reducible <= 0:
            raise HarnessError(
                f"lacache with span={span}, overlap={overlap} on {num_layers} layers frees no slot per ladder step "
                f"(the reference divides by zero): use a span smaller than the number of layers"
            )
        # The reference enlarges the cache by half a step so that its average size matches the budget.
        self.cache_size = cache_size + self.reducible // 2
        if (self.cache_size - start_size - num_layers) // self.after <= 0:
            raise HarnessError(
                f"lacache budget of {cache_size} tokens leaves no ladder room after start_size={start_size} and "
                f"{num_layers} layers (the reference divides by zero): raise the budget or lower --method-arg leading_tokens"
            )
        self.cursor = start_size

    def _stairs(self, first: int, offset_period: int, stride: int, ladders: int, step: int) -> np.ndarray:
        """[layers, ladders * after]: layer l keeps first + l % offset_period + stride * j + step * k (j < ladders, k < after)."""
        layer_offset = np.arange(self.num_layers)[:, None] % offset_period
        grid = (stride * np.arange(ladders)[:, None] + step * np.arange(self.after)[None, :]).ravel()
        return first + layer_offset + grid[None, :]

    def select(self, n: int) -> np.ndarray | None:
        """Slots each layer keeps out of the `n` cached ones ([layers, kept]), or None while the cache fits.

        Raises IndexError where the reference code does (a single compression too large for its start-over rule).
        """
        if n <= self.cache_size:
            return None
        before, after, reducible, layers = self.before, self.after, self.reducible, self.num_layers
        to_reduce = n - self.cache_size
        room = self.cache_size - self.cursor - layers
        reducible_before_startover = (room // after) * reducible
        startover = to_reduce > reducible_before_startover
        step = math.ceil(to_reduce / reducible) * after if not startover else room
        ladders = step // after
        head = np.broadcast_to(np.arange(self.cursor), (layers, self.cursor))
        tail_range = np.arange(self.cursor + before * ladders, n)
        tail = np.broadcast_to(tail_range, (layers, len(tail_range)))
        kept = np.concatenate([head, self._stairs(self.cursor, reducible + 1, before, ladders, 1), tail], axis=1)
        if startover:
            per_round = ((self.cache_size - self.start_size - layers) // after) * reducible
            remaining = to_reduce - reducible_before_startover
            rounds = math.ceil(remaining / per_round)
            before_rounds = before + (rounds - 1) * (before - 1)
            step_rounds = math.ceil(remaining / (before_rounds - after)) * after
            ladders_rounds = step_rounds // after
            start = np.broadcast_to(np.arange(self.start_size), (layers, self.start_size))
            rest = np.arange(self.start_size + before_rounds * ladders_rounds, kept.shape[1])
            again = np.concatenate([start, self._stairs(self.start_size, before_rounds - after + 1, before_rounds, ladders_rounds, rounds),
                                    np.broadcast_to(rest, (layers, len(rest)))], axis=1)
            if again.size and (again.max() >= kept.shape[1] or again.min() < 0):
                raise IndexError(f"start-over index {int(again.max())} beyond the {kept.shape[1]} slots kept")
            kept = np.take_along_axis(kept, again, axis=1)
        self.cursor = self.cursor + step if not startover else self.start_size + step_rounds
        return kept


def ladder_positions(num_layers: int, cache_size: int, start_size: int, span: int, overlap: int, total_tokens: int) -> list[list[int]]:
    """Original token positions each layer holds after streaming `total_tokens` tokens one at a time."""
    ladder = Ladder(num_layers, cache_size, start_size, span, overlap)
    held = [[] for _ in range(num_layers)]
    for token in range(total_tokens):
        for layer in held:
            layer.append(token)
        kept = ladder.select(len(held[0]))
        if kept is not None:
            held = [[positions[s] for s in slots] for positions, slots in zip(held, kept.tolist())]
    return held


class LaCachePolicy(KVCachePolicy):
    """Ladder-shaped KV cache: each layer keeps a different staggered subset of old tokens."""

    name = "lacache"
    version = "2"
    paper = "https://arxiv.org/abs/2507.14204"
    description = "Ladder-shaped per-layer KV pattern with iterative compaction and start-over (reference: GATECH-EIC/LaCache)."
    Params = LaCacheParams

    def _ladder(self, ctx: CompressContext) -> Ladder:
        return Ladder(ctx.num_layers, ctx.budget, self.leading(ctx), self.params.span, self.params.overlap)

    def validate(self, ctx: CompressContext, context_tokens: int, growth: list[int] | None = None) -> None:
        """Besides the budget checks, rehearse the schedule on slot counts for the task's compression plan."""
        super().validate(ctx, context_tokens, growth)
        ladder, held = self._ladder(ctx), 0
        for added in growth or []:
            held += added
            try:
                kept = ladder.select(held)
            except IndexError:
                raise HarnessError(
                    f"lacache's schedule (as the reference code computes it) cannot compress {held} cached tokens to a "
                    f"budget of {ctx.budget} with span={self.params.span}, overlap={self.params.overlap} and "
                    f"{ladder.start_size} leading tokens in one step: raise --method-arg budget, use "
                    f"--task-arg mode=stream (smaller steps), or a larger span - overlap"
                ) from None
            if kept is not None:
                held = kept.shape[1]

    def reset(self, ctx: CompressContext) -> None:
        self.ladder = self._ladder(ctx)

    def keep(self, cache_len: int, ctx: CompressContext, cache) -> torch.Tensor | None:
        kept = self.ladder.select(cache_len)
        return None if kept is None else torch.from_numpy(np.ascontiguousarray(kept))
