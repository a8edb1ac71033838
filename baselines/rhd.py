"""RHD (Sun et al., 2025): Reasoning Hallucination Detection from four mechanistic features, weights fitted."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from harness.contracts.causal_lm import LoadedModel
from harness.errors import HarnessError
from tasks.hallucination.detector import StepSignals, TraceDetector, TraceScore, step_signals
from tasks.hallucination.traces import LabelledTrace, Trace, produced_at

FEATURES = ("avg_reasoning", "early_cv", "backtrack_attention", "reasoning_ppl_corr")


class RHDParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    late_layers: int = Field(4, ge=1, description="late layers for the Reasoning Score and the attention maps")
    early_share: float = Field(0.5, gt=0, lt=1, description="share of steps (rounded up) that count as early")
    anomaly_z: float = Field(1.0, gt=0, description="an early step is anomalous when |z| of its R exceeds this")
    regularisation: float = Field(1.0, gt=0, description="inverse L2 strength C of the logistic fit")


def _zscores(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def _early_count(n_steps: int, early_share: float) -> int:
    return min(n_steps, max(1, math.ceil(early_share * n_steps)))


def backtrack_attention(signals: StepSignals, early: int, anomalous: list[int]) -> float:
    """Mean share of attention that late steps' positions pay to anomalous early steps, among all trace tokens before
    them; averaged over late layers, heads and positions."""
    spans = signals.encoded.spans
    if early >= len(spans) or not anomalous:
        return 0.0
    attention = torch.stack(signals.attentions).mean(dim=(0, 1))  # [T, T], mean over layers and heads
    start = spans[0][0]
    keys = torch.zeros(attention.shape[1], dtype=torch.bool)
    for i in anomalous:
        keys[spans[i][0]:spans[i][1]] = True
    shares = []
    for span in spans[early:]:
        rows = attention[produced_at(span)]
        shares.append((rows[:, keys].sum(-1) / rows[:, start:].sum(-1).clamp_min(1e-12)).mean())
    return float(torch.stack(shares).mean())


class RHD(TraceDetector):
    """Logistic combination of Avg(R), the early steps' coefficient of variation of R, the attention share late steps
    pay to anomalous early steps, and corr(R, perplexity) across steps; fitted on the fit split only."""

    name = "rhd"
    version = "2"  # 2: no step scores (the per-step |z| of R was not the fitted model)
    paper = "https://arxiv.org/abs/2505.12886"
    description = "Reasoning Hallucination Detection: four Reasoning Score / attention features, logistic weights fitted on the fit split"
    Params = RHDParams

    def features(self, lm: LoadedModel, trace: Trace) -> np.ndarray:
        """The four trace features."""
        p = self.params
        signals = step_signals(lm, trace, p.late_layers, attentions=True)
        r = signals.reasoning
        early = _early_count(len(r), p.early_share)
        head = r[:early]
        cv = float(head.std() / abs(head.mean())) if early > 1 and head.mean() != 0 else 0.0
        z = np.abs(_zscores(head))
        anomalous = [i for i in range(early) if z[i] > p.anomaly_z] or ([int(z.argmax())] if z.any() else [])
        ppl = signals.perplexity
        corr = float(np.corrcoef(r, ppl)[0, 1]) if len(r) > 2 and r.std() > 0 and ppl.std() > 0 else 0.0
        return np.array([float(r.mean()), cv, backtrack_attention(signals, early, anomalous), corr])

    def fit(self, lm: LoadedModel, traces: list[LabelledTrace]) -> None:
        labels = [t.label for t in traces]
        if len(set(labels)) < 2:
            raise HarnessError("rhd needs both labels in the fit split: raise --task-arg fit_share, or mark correct and "
                               "hallucinated records with \"split\": \"fit\"")
        x = np.stack([self.features(lm, t.trace) for t in traces])
        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=self.params.regularisation, max_iter=1000))
        self.model.fit(x, labels)

    def fitted_state(self) -> dict[str, Any] | None:
        """The logistic weights on the standardised features, and the scaler's means and scales."""
        if not hasattr(self, "model"):
            return None
        scaler, logistic = self.model
        return {"weights": dict(zip(FEATURES, logistic.coef_[0].tolist())), "intercept": float(logistic.intercept_[0]),
                "feature_mean": dict(zip(FEATURES, scaler.mean_.tolist())),
                "feature_scale": dict(zip(FEATURES, scaler.scale_.tolist()))}

    def score(self, lm: LoadedModel, trace: Trace) -> TraceScore:
        """The fitted logistic score of the trace. No step scores: RHD's features and weights are trace-level, and
        the earlier per-step |z| of R was unrelated to the fitted model (step AUROC 0.41), so RHD reports no step
        metrics rather than a number its model does not produce."""
        values = self.features(lm, trace)
        return TraceScore(score=float(self.model.decision_function(values[None])[0]))
