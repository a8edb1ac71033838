"""P(True) (Kadavath et al., 2022): ask the model whether the reasoning is correct."""

import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.causal_lm import LoadedModel
from tasks.hallucination.detector import TraceDetector, TraceScore
from tasks.hallucination.traces import Trace

TEMPLATE = ("Question: {question}\nProposed reasoning:\n{steps}\n"
            "Is the proposed reasoning correct? Answer Yes or No.\nAnswer:")


class PTrueParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = Field(TEMPLATE, description="the yes/no prompt ({question}, {steps} one per line)")
    yes: str = Field(" Yes", description="the answer token for correct")
    no: str = Field(" No", description="the answer token for incorrect")


class PTrue(TraceDetector):
    """Score = P(no) / (P(yes) + P(no)) for the next token after a yes/no question about the trace."""

    name = "p_true"
    paper = "https://arxiv.org/abs/2207.05221"
    description = "the model's own probability that the reasoning is wrong, from a yes/no prompt"
    Params = PTrueParams

    @torch.no_grad()
    def score(self, lm: LoadedModel, trace: Trace) -> TraceScore:
        p = self.params
        prompt = p.template.format(question=trace.question, steps="\n".join(trace.steps))
        ids = lm.tokenizer(prompt, return_tensors="pt").input_ids.to(lm.model.device)
        logits = lm.model(input_ids=ids).logits[0, -1].float()
        yes, no = (lm.tokenizer(word, add_special_tokens=False).input_ids[0] for word in (p.yes, p.no))
        return TraceScore(score=float(torch.softmax(logits[[yes, no]], -1)[1]))
