"""Long-context retrieval under a bounded KV cache (LaCache's evaluation family)."""
