"""Monocular depth (PrimeDepth / Marigold zero-shot affine-invariant protocol)."""
