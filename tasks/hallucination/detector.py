"""The trace-detector protocol, and per-step summaries of a model's internals shared by the detectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from harness.contracts.causal_lm import LoadedModel
from harness.contracts.method import Method
from tasks.hallucination.internals import late_layer_indices, token_signals
from tasks.hallucination.traces import EncodedTrace, LabelledTrace, Trace, encode, produced_at


@dataclass
class TraceScore:
    """A detector's verdict: higher `score` = more likely hallucinated; `step_scores` rank the steps (optional)."""

    score: float
    step_scores: list[float] | None = None


class TraceDetector(Method):
    """Scores a reasoning trace for hallucination from the base model's internals.

    `fit` sees only the fit split (with labels); `score` sees one test trace and never its label.
    """

    family: ClassVar[str] = "hallucination"
    protocol: ClassVar[str] = "trace_detector"

    def check(self, lm: LoadedModel) -> None:
        """Raise HarnessError when the detector cannot run on this model (before any trace is scored)."""
        late_layers = getattr(self.params, "late_layers", None)
        if late_layers is not None:
            late_layer_indices(lm.model.config.num_hidden_layers, late_layers)

    def fit(self, lm: LoadedModel, traces: list[LabelledTrace]) -> None:
        """Learn from labelled fit-split traces. Training-free detectors need nothing."""

    def score(self, lm: LoadedModel, trace: Trace) -> TraceScore:
        raise NotImplementedError


@dataclass
class StepSignals:
    """One trace's signals averaged per step (arrays of length n_steps), from one teacher-forced pass."""

    encoded: EncodedTrace
    tokens: np.ndarray  # tokens per step
    nll: np.ndarray  # mean NLL of the step's tokens
    max_nll: np.ndarray
    entropy: np.ndarray
    reasoning: np.ndarray | None  # mean Reasoning Score (late-layer JSD) of the positions producing the step
    attentions: tuple[torch.Tensor, ...] | None

    @property
    def perplexity(self) -> np.ndarray:
        return np.exp(self.nll)


def step_signals(lm: LoadedModel, trace: Trace, late_layers: int = 0, attentions: bool = False) -> StepSignals:
    """Teacher-force `trace` through the model once and summarise the signals of each step."""
    encoded = encode(lm.tokenizer, trace, lm.model.device)
    tokens = token_signals(lm.model, encoded.input_ids, late_layers, attentions, start=encoded.trace_start - 1)
    windows = [produced_at(span) for span in encoded.spans]

    def per_step(values: torch.Tensor, reduce=torch.mean) -> np.ndarray:
        return np.array([float(reduce(values[w])) for w in windows])

    return StepSignals(encoded=encoded, tokens=np.array([e - s for s, e in encoded.spans]), nll=per_step(tokens.nll), max_nll=per_step(tokens.nll, torch.max),
                       entropy=per_step(tokens.entropy),
                       reasoning=per_step(tokens.reasoning) if tokens.reasoning is not None else None,
                       attentions=tokens.attentions)


class TokenStatisticDetector(TraceDetector):
    """A training-free baseline: one token statistic of the final layer, reduced over the trace and per step."""

    signal: ClassVar[str]  # a StepSignals field: nll, max_nll or entropy
    reduce: ClassVar[str] = "mean"  # "mean": token-weighted mean over the trace; "max": maximum

    def score(self, lm: LoadedModel, trace: Trace) -> TraceScore:
        signals = step_signals(lm, trace)
        per_step = getattr(signals, self.signal)
        total = per_step.max() if self.reduce == "max" else np.average(per_step, weights=signals.tokens)
        return TraceScore(score=float(total), step_scores=per_step.tolist())
