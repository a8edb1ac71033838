"""An lm-eval model whose every request is prefilled, compressed and answered through one KV-cache policy.

`PolicyLM` is lm-eval's own `HFLM` (its tokenisation, truncation, stop sequences and post-processing, so that
with the full cache its scores equal stock HFLM's) with the model calls replaced by the harness's streamer: the
prompt is prefilled (`post`: at once; `stream`: in chunks, compressing after each) and compressed under the task's
`first_token` protocol, then continuations are scored, or tokens decoded greedily, on the compressed cache.
Loglikelihood requests that share a context (multiple choice) prefill it once; each continuation runs on a copy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import torch
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils import handle_stop_sequences, normalize_gen_kwargs, postprocess_generated_text

from harness.contracts.causal_lm import LoadedModel
from harness.contracts.meter import Clock
from harness.errors import HarnessError
from tasks.long_context.kv import KVCachePolicy
from tasks.long_context.retrieval import (
    PrefillOptions,
    Prompt,
    answer,
    compresses_decoding,
    policy_context,
    prefill,
    teacher_forced,
)
from tasks.long_context.streamer import Streamer


def prompt_of(context: list[int], continuation: list[int] | None = None) -> Prompt:
    """The request's prompt split for the protocols: everything but its last token is the context that gets
    compressed; the last token is fed after compression (`compressed`) or prefilled with it (`full`)."""
    return Prompt(context=context[:-1], protected=0, question=context[-1:], gold=continuation or [])


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class RequestTrace:
    """What one prefill held: its context, the policy's budget and leading tokens, and the cache's peak."""

    prompt_sha256: str
    context_tokens: int
    budget_tokens: int
    leading_tokens_kept: int | None
    kv_peak_tokens: int


@register_model("harness-kv")
class PolicyLM(HFLM):
    """lm-eval's HFLM with every request run through the harness streamer under one KV-cache policy."""

    def __init__(self, llm: LoadedModel, policy: KVCachePolicy, options: PrefillOptions):
        super().__init__(pretrained=llm.model, tokenizer=llm.tokenizer, batch_size=1, device=str(llm.model.device))
        self.llm, self.policy, self.options = llm, policy, options
        self.traces: list[RequestTrace] = []

    def _trace(self, text: str, prompt: Prompt, peak_tokens: int) -> None:
        ctx = policy_context(self.llm, self.policy, prompt, self.options)
        leading = self.policy.leading(ctx) if self.policy.bounded else None
        self.traces.append(RequestTrace(sha256_text(text), len(prompt.context) + len(prompt.question), ctx.budget, leading, peak_tokens))

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """HFLM.loglikelihood's encoding (an empty context becomes the prefix token) and its left truncation."""
        if context == "":
            tokens = self.tok_encode(continuation, add_special_tokens=False)
            context_enc, continuation_enc = (([self.prefix_token_id], tokens) if self.prefix_token_id != tokens[0]
                                             else (tokens[:1], tokens[1:]))
        else:
            context_enc, continuation_enc = self._encode_pair(context, continuation)
        return self.truncate(context_enc, continuation_enc), continuation_enc

    def truncate(self, context: list[int], continuation: list[int]) -> list[int]:
        """HFLM keeps the last max_length + 1 tokens of context + continuation: the context loses its start."""
        over = len(context) + len(continuation) - (self.max_length + 1)
        return context[over:] if over > 0 else context

    def encode_generation(self, context: str, gen_kwargs: dict[str, Any]) -> tuple[list[int], list[str], int]:
        """Context tokens (left-truncated as HFLM does), stop strings and the new-token budget of a generate request."""
        kwargs = normalize_gen_kwargs(dict(gen_kwargs), self.max_gen_toks)
        if kwargs.get("do_sample") or kwargs.get("temperature", 0.0) > 0:
            raise HarnessError("this lm-eval task samples (do_sample / temperature > 0): the KV-cache bridge decodes greedily "
                               "only; set do_sample: false in its generation_kwargs")
        until = handle_stop_sequences(kwargs.pop("until", None), eos=self.tok_decode(self.eot_token_id, skip_special_tokens=False))
        max_gen = kwargs.pop("max_gen_toks")
        ids, _ = self.tok_batch_encode([context], left_truncate_len=self.max_length - max_gen, truncation=self.truncation)
        return ids[0].tolist(), until, max_gen

    def encode(self, instance) -> tuple[list[int], int]:
        """A request's prompt tokens, as the calls below encode them, and how many tokens follow (scored or generated)."""
        if instance.request_type == "generate_until":
            context, _, max_gen = self.encode_generation(*instance.args)
            return context, max_gen
        context, continuation = self.encode_pair(*instance.args)
        return context, len(continuation)

    def _loglikelihood_tokens(self, requests, disable_tqdm: bool = False, override_bs: int | None = None) -> list[tuple[float, bool]]:
        groups: dict[tuple[int, ...], list[tuple[int, list[int]]]] = {}
        texts: dict[tuple[int, ...], str] = {}
        for i, ((context_text, _), context, continuation) in enumerate(requests):
            key = tuple(self.truncate(context, continuation))
            groups.setdefault(key, []).append((i, continuation))
            texts.setdefault(key, context_text)
        results: list[tuple[float, bool] | None] = [None] * len(requests)
        compress_each = compresses_decoding(self.policy, self.options)
        for context, members in groups.items():
            prompt = prompt_of(list(context))
            streamer = Streamer(self.llm.model, self.policy, policy_context(self.llm, self.policy, prompt, self.options))
            peak = 0
            try:
                with torch.inference_mode():
                    first = prefill(streamer, prompt, self.options)
                    for k, (i, continuation) in enumerate(members):
                        branch = streamer if k == len(members) - 1 else streamer.fork()
                        results[i] = teacher_forced(branch, first, continuation, compress_each)
                        peak = max(peak, branch.peak_tokens, streamer.peak_tokens)
                        if branch is not streamer:
                            branch.close()
            finally:
                streamer.close()
            self._trace(texts[context], prompt, peak)
        return results

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        results = []
        for request in requests:
            context_text, gen_kwargs = request.args
            context, until, max_gen = self.encode_generation(context_text, gen_kwargs)
            stops = [s for s in until if s]

            def stop(generated: list[int]) -> bool:
                return any(s in self.tok_decode(generated, skip_special_tokens=False) for s in stops)

            prompt = prompt_of(context)
            trace = answer(self.llm, self.policy, prompt, self.options, Clock(self.llm.model.device), max_gen,
                           score_gold=False, stop=stop)
            results.append(postprocess_generated_text(self.tok_decode(trace.generated), until, None))
            self._trace(context_text, prompt, trace.peak_tokens)
        return results

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        raise HarnessError("loglikelihood_rolling requests (perplexity tasks) are not run by the KV-cache bridge: use the "
                           "harness's long_ppl task for streamed perplexity")
