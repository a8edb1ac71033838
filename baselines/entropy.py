"""Mean token entropy baseline: an uncertain model is more likely hallucinating."""

from tasks.hallucination.detector import TokenStatisticDetector


class TokenEntropy(TokenStatisticDetector):
    """Mean entropy of the next-token distribution over the trace's tokens; per step, the step's mean."""

    name = "entropy"
    paper = "https://arxiv.org/abs/2505.12886"
    description = "mean next-token entropy over the reasoning steps (higher = more suspicious)"
    signal = "entropy"
