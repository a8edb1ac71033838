"""A causal LM's internals along a teacher-forced trace: the logit lens, per-token JSD, NLL and entropy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class TokenSignals:
    """Per-token signals of one forward pass over prompt + trace (index t describes the token at t+1)."""

    reasoning: torch.Tensor  # [T-1] mean over late layers of JSD(final layer, logit lens of the layer)
    nll: torch.Tensor  # [T-1] negative log-likelihood of the next (actual) token
    entropy: torch.Tensor  # [T-1] entropy of the final next-token distribution
    attentions: tuple[torch.Tensor, ...] | None  # per layer [heads, T, T], when asked for


def jensen_shannon(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """JSD(P, Q) in nats along the last axis, from log-probabilities; 0 <= JSD <= ln 2."""
    logm = torch.logsumexp(torch.stack([logp, logq]), dim=0) - math.log(2.0)
    kl_pm = (logp.exp() * (logp - logm)).sum(-1)
    kl_qm = (logq.exp() * (logq - logm)).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


def logit_lens(model: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """Log-probabilities read off an intermediate residual stream: the final norm, then the unembedding."""
    return torch.log_softmax(model.lm_head(model.model.norm(hidden)).float(), dim=-1)


def late_layer_indices(num_layers: int, late_layers: int) -> list[int]:
    """The last `late_layers` decoder layers before the final one (1-based layer outputs in hidden_states)."""
    if not 1 <= late_layers < num_layers:
        raise ValueError(f"late_layers must be between 1 and {num_layers - 1}")
    return list(range(num_layers - late_layers, num_layers))


@torch.no_grad()
def token_signals(model: torch.nn.Module, input_ids: torch.Tensor, late_layers: int, attentions: bool = False) -> TokenSignals:
    """One forward pass over a [1, T] sequence; hidden_states[l] is the output of layer l (0 = embeddings)."""
    out = model(input_ids=input_ids, output_hidden_states=True, output_attentions=attentions)
    final = torch.log_softmax(out.logits[0].float(), dim=-1)
    hidden = out.hidden_states
    layers = late_layer_indices(len(hidden) - 1, late_layers)
    jsd = torch.stack([jensen_shannon(final, logit_lens(model, hidden[l][0])) for l in layers]).mean(0)
    target = input_ids[0, 1:]
    nll = -final[:-1].gather(-1, target[:, None])[:, 0]
    entropy = -(final.exp() * final).sum(-1)
    attn = tuple(a[0].float() for a in out.attentions) if attentions else None
    return TokenSignals(reasoning=jsd[:-1], nll=nll, entropy=entropy[:-1], attentions=attn)
