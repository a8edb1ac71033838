"""Reasoning Score (Sun et al., 2025): reasoning depth as the late layers' logit-lens divergence from the output."""

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.causal_lm import LoadedModel
from tasks.hallucination.detector import TraceDetector, TraceScore, step_signals
from tasks.hallucination.traces import Trace


class ReasoningScoreParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    late_layers: int = Field(4, ge=1, description="decoder layers before the last whose logit lens is compared with the output")
    hallucinated_when: Literal["low", "high"] = Field(
        "low", description="which end flags hallucination: 'low' = shallow reasoning, the paper's reading (its "
                           "abstract: the score separates shallow pattern-matching, low, from deep reasoning, high)")


class ReasoningScore(TraceDetector):
    """Per token: mean JSD between the final distribution and each late layer's logit lens; per step: the mean over
    the step's tokens; per trace: the mean over steps. Training-free."""

    name = "reasoning_score"
    paper = "https://arxiv.org/abs/2505.12886"
    description = "mean late-layer logit-lens JSD over the steps (low = shallow reasoning = suspicious)"
    Params = ReasoningScoreParams

    def score(self, lm: LoadedModel, trace: Trace) -> TraceScore:
        steps = step_signals(lm, trace, self.params.late_layers).reasoning
        sign = -1.0 if self.params.hallucinated_when == "low" else 1.0
        return TraceScore(score=sign * float(np.mean(steps)), step_scores=(sign * steps).tolist())
