"""Maximum token NLL baseline: one very surprising token flags the trace."""

from tasks.hallucination.detector import TokenStatisticDetector


class MaxNLL(TokenStatisticDetector):
    """The largest next-token NLL in the trace; per step, the step's largest."""

    name = "max_nll"
    paper = "https://arxiv.org/abs/2505.12886"
    description = "maximum token negative log-likelihood over the reasoning steps (higher = more suspicious)"
    signal = "max_nll"
    reduce = "max"
