"""Built-in methods, one file each. Entries are imported only when a method is used."""

from harness.registry import Entry

BUILTINS = [
    Entry("full", "baselines.full:FullCache", "long_context", "no eviction (the accuracy ceiling)"),
    Entry("streamingllm", "baselines.streamingllm:StreamingLLM", "long_context", "attention sinks + recent window, re-rotated to contiguous positions"),
    Entry("lacache", "baselines.lacache:LaCachePolicy", "long_context", "ladder-shaped per-layer KV cache with iterative compaction (LaCache)"),
    Entry("snapkv", "baselines.snapkv:SnapKV", "long_context", "keep the keys the observation window attends to most (SnapKV)"),
]
