"""Full cache: no eviction. The accuracy ceiling and the memory/latency reference."""

from __future__ import annotations

from harness.contracts.options import NoOptions
from tasks.long_context.kv import KVCachePolicy


class FullCache(KVCachePolicy):
    """Keeps every token; its KV bytes grow linearly with the context."""

    name = "full"
    version = "1"
    description = "No eviction: every key and value is kept."
    Params = NoOptions
    bounded = False

    def compress(self, cache, ctx) -> bool:
        return False
