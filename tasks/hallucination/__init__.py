"""Reasoning-hallucination detection (Reasoning Score / RHD): score step-by-step traces from a model's internals."""
