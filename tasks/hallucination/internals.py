"""A causal LM's internals along a teacher-forced trace: the logit lens, per-token JSD, NLL, entropy, attention."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.errors import HarnessError


@dataclass
class TokenSignals:
    """Per-position signals of one forward pass over prompt + trace.

    Index t describes position t, the position that predicts token t+1, so a step whose tokens span
    [s, e) is produced at indices s-1 .. e-2.
    """

    nll: torch.Tensor  # [T-1] negative log-likelihood of the actual next token (all three: NaN before `start`)
    entropy: torch.Tensor  # [T-1] entropy of the final next-token distribution
    reasoning: torch.Tensor | None  # [T-1] mean JSD(final layer, logit lens of each late layer)
    attentions: tuple[torch.Tensor, ...] | None  # late layers' attention maps, each [heads, T, T]


def jensen_shannon(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """JSD(P, Q) in nats along the last axis, from log-probabilities (broadcasting); 0 <= JSD <= ln 2.

    Written as H(M) - (H(P) + H(Q)) / 2 with M = (P + Q) / 2: a few passes over the vocabulary instead of a dozen.
    """
    p, q = logp.exp(), logq.exp()
    neg_entropy_p, neg_entropy_q = (p * logp).sum(-1), (q * logq).sum(-1)
    m = (p + q).mul_(0.5)
    return 0.5 * (neg_entropy_p + neg_entropy_q) - torch.special.xlogy(m, m).sum(-1)


def logit_lens(model: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """Log-probabilities read off an intermediate residual stream: the final norm, then the unembedding."""
    return torch.log_softmax(model.lm_head(model.model.norm(hidden)).float(), dim=-1)


def late_layer_indices(num_layers: int, late_layers: int) -> list[int]:
    """The last `late_layers` decoder layers before the final one (1-based layer outputs in hidden_states)."""
    if not 1 <= late_layers < num_layers:
        raise HarnessError(f"late_layers must be between 1 and {num_layers - 1} for a {num_layers}-layer model: "
                           "pass --method-arg late_layers=N")
    return list(range(num_layers - late_layers, num_layers))


@torch.no_grad()
def token_signals(model: torch.nn.Module, input_ids: torch.Tensor, late_layers: int = 0, attentions: bool = False,
                  start: int = 0) -> TokenSignals:
    """One forward pass over a [1, T] sequence; signals are read from position `start` on (the unembedding of
    earlier positions, e.g. the prompt's, is skipped).

    hidden_states[l] is the output of decoder layer l (0 = embeddings); the last one already carries the final norm,
    so the late layers are the `late_layers` layers before the last.
    """
    if attentions and model.config._attn_implementation != "eager":
        model.set_attn_implementation("eager")  # fused kernels return no attention maps; eager gives the same outputs
    length = input_ids.shape[1]
    out = model(input_ids=input_ids, output_hidden_states=late_layers > 0, output_attentions=attentions,
                logits_to_keep=length - start)
    final = torch.log_softmax(out.logits[0, :-1].float(), dim=-1)  # positions start .. T-2
    window = slice(start, length - 1)
    nll, entropy = (torch.full((length - 1,), float("nan")) for _ in range(2))
    nll[window] = -final.gather(-1, input_ids[0, start + 1:, None])[:, 0].cpu()
    entropy[window] = -(final.exp() * final).sum(-1).cpu()
    reasoning, attn = None, None
    layers = late_layer_indices(model.config.num_hidden_layers, late_layers) if late_layers else []
    if late_layers:
        lens = logit_lens(model, torch.stack([out.hidden_states[l][0, window] for l in layers]))  # [layers, n, vocab]
        reasoning = torch.full_like(nll, float("nan"))
        reasoning[window] = jensen_shannon(final, lens).mean(0).cpu()
    if attentions:
        attn = tuple(out.attentions[l - 1][0].float().cpu() for l in layers)  # attentions[i] belongs to layer i+1
    return TokenSignals(nll=nll, entropy=entropy, reasoning=reasoning, attentions=attn)
