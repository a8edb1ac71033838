"""Perplexity baseline: surprising traces are flagged."""

from tasks.hallucination.detector import TokenStatisticDetector


class Perplexity(TokenStatisticDetector):
    """Mean next-token NLL of the trace's tokens (log-perplexity); per step, the step's mean NLL."""

    name = "perplexity"
    paper = "https://arxiv.org/abs/2505.12886"
    description = "log-perplexity of the reasoning steps under the base model (higher = more suspicious)"
    signal = "nll"
