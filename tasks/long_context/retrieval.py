"""Needle retrieval under a KV-cache policy: the shared protocol of `passkey` and `niah_multikey`.

Protocol (recorded with every result): the instruction prefix is protected (the policy must keep it);
`post` prefills the whole context, compresses once, then asks; `stream` prefills in chunks and compresses
after each, so the cache never exceeds budget + chunk. The question and the answer are appended to the
compressed cache and never evicted; the first answer token comes from the compressed cache, never from
full-attention logits. Decoding is greedy.
"""

from __future__ import annotations

import math
import random
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import HarnessError
from harness.meter import Clock, Meter
from harness.models import LoadedModel
from harness.record import KVCacheMemory, Throughput
from harness.runtime import Runtime
from harness.task import Measured, Sample, SplitSpec, Task
from tasks.long_context.corpus import haystack_ids
from tasks.long_context.kv import CompressContext, KVCachePolicy, Rope, budget_tokens, bytes_per_token
from tasks.long_context.local_data import file_sha256, read_items
from tasks.long_context.metrics import exact_match, partial_credit
from tasks.long_context.streamer import Streamer

EXTRA_NEW_TOKENS = 4  # decode budget beyond the gold answer's length
LOCAL_SPLIT = SplitSpec(name="local", source="a local JSONL file of retrieval items (--task-arg data_file=...)",
                        description="real data, e.g. RULER or LongBench items converted to {id, context, question, answer}")


class RetrievalOptions(BaseModel):
    """Task options for needle retrieval (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["post", "stream"] = "post"
    chunk: int = Field(default=256, ge=1, description="stream mode: tokens prefilled between compressions")
    lengths: list[int] = Field(default=[1024, 2048, 4096], min_length=1)
    depths: list[float] = Field(default=[round(i / 10, 1) for i in range(11)], min_length=1)
    measure_new_tokens: int = Field(default=16, ge=2, description="tokens decoded per measurement repeat")
    data_file: str | None = Field(default=None, description="split 'local': a JSONL file of retrieval items")


@dataclass
class Prompt:
    """Token ids of one sample: the protected prefix is the start of `context`."""

    context: list[int]
    protected: int
    question: list[int]
    gold: list[int]


@dataclass
class AnswerTrace:
    generated: list[int]
    gold_logprob: float | None
    peak_bytes: int
    peak_tokens: int
    decode_bytes: int
    ttft: float
    decode_times: list[float]


def policy_context(llm: LoadedModel, policy: KVCachePolicy, prompt: Prompt) -> CompressContext:
    budget = budget_tokens(policy.params.budget, len(prompt.context)) if policy.bounded else len(prompt.context)
    return CompressContext(budget=budget, protected=prompt.protected, num_layers=llm.model.config.num_hidden_layers,
                           rope=Rope(llm.model))


def answer(llm: LoadedModel, policy: KVCachePolicy, prompt: Prompt, options: RetrievalOptions, clock: Clock,
           new_tokens: int, forced: bool = False, score_gold: bool = True) -> AnswerTrace:
    """Prefill + compress + ask + greedy decode; `forced` decodes exactly `new_tokens` tokens (for timing)."""
    device = llm.model.device

    def ids(tokens: list[int]) -> torch.Tensor:
        return torch.tensor([tokens], device=device)

    streamer = Streamer(llm.model, policy, policy_context(llm, policy, prompt))
    try:
        with torch.inference_mode():
            clock.mark()
            step = len(prompt.context) if options.mode == "post" else options.chunk
            for start in range(0, len(prompt.context), step):
                streamer.forward(ids(prompt.context[start:start + step]))
                streamer.compress()
            prefill_peak, prefill_tokens = streamer.peak_bytes, streamer.peak_tokens
            streamer.peak_bytes = 0
            logits = streamer.forward(ids(prompt.question))
            clock.mark()
            first_logits = logits[-1]
            gold_fork = streamer.fork() if score_gold else None
            generated: list[int] = []
            eos = llm.tokenizer.eos_token_id
            for i in range(new_tokens):
                token = int(logits[-1].argmax())
                generated.append(token)
                if i == new_tokens - 1 or (not forced and token == eos):
                    break
                logits = streamer.forward(ids([token]))
                clock.mark()
            decode_bytes = streamer.peak_bytes
            gold_logprob = None
            if gold_fork is not None:
                logprob = torch.log_softmax(first_logits, -1)[prompt.gold[0]].item()
                if len(prompt.gold) > 1:
                    rest = torch.log_softmax(gold_fork.forward(ids(prompt.gold[:-1]), all_logits=True), -1)
                    logprob += sum(rest[i, tok].item() for i, tok in enumerate(prompt.gold[1:]))
                gold_logprob = logprob
    finally:
        streamer.close()
    times = clock.intervals()  # [time to first token, then one interval per decoded token]
    return AnswerTrace(generated=generated, gold_logprob=gold_logprob, peak_bytes=max(prefill_peak, decode_bytes),
                       peak_tokens=max(prefill_tokens, streamer.peak_tokens), decode_bytes=decode_bytes,
                       ttft=times[0], decode_times=times[1:])


class NeedleTask(Task):
    """Base of needle tasks: subclasses describe the prefix, the needles and the question."""

    Options: ClassVar[type[BaseModel]] = RetrievalOptions

    @abstractmethod
    def make_sample(self, rng: random.Random, length: int, depth: float) -> dict[str, Any]:
        """Inputs of one sample: prefix, needles [(depth, text)], question, answer (digits)."""

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        self.spec.split(split)
        if split == LOCAL_SPLIT.name:
            return self._local_samples(limit)
        found = []
        for length in self.options.lengths:
            for depth in self.options.depths:
                rng = random.Random(f"{self.spec.name}:{seed}:{length}:{depth}")
                inputs = self.make_sample(rng, length, depth)
                inputs.update(length=length, depth=depth, offset=rng.randrange(0, 50_000))
                found.append(Sample(id=f"len{length}-depth{depth:.2f}", inputs=inputs, target=inputs["answer"],
                                    meta={"length": length, "depth": depth}))
        return found[:limit] if limit else found

    def _local_samples(self, limit: int | None) -> list[Sample]:
        found = []
        for item in read_items(self.options.data_file):
            length = item.length if item.length is not None else len(item.context)
            depth = item.depth if item.depth is not None else 0.0
            inputs = {"prefix": item.prefix, "text": item.context, "question": item.question, "answer": item.answer,
                      "length": length, "depth": depth}
            found.append(Sample(id=item.id, inputs=inputs, target=item.answer, meta={"length": length, "depth": depth}))
        return found[:limit] if limit else found

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split == LOCAL_SPLIT.name:
            return str(self.options.data_file), file_sha256(self.options.data_file)
        return super().dataset_source(split)

    def prompt(self, sample: Sample, tokenizer) -> Prompt:
        """Token ids: protected prefix, context (real text, or haystack with needles at their depths), question."""
        def enc(text: str) -> list[int]:
            return tokenizer(text, add_special_tokens=False).input_ids

        inputs = sample.inputs
        bos = [tokenizer.bos_token_id] if tokenizer("a").input_ids[0] == tokenizer.bos_token_id else []
        prefix = bos + enc(inputs["prefix"])
        question = enc(inputs["question"])
        gold = enc(" " + inputs["answer"])
        if "text" in inputs:
            return Prompt(context=prefix + enc(inputs["text"]), protected=len(prefix), question=question, gold=gold)
        needles = sorted((depth, enc(text)) for depth, text in inputs["needles"])
        filler_len = inputs["length"] - len(prefix) - len(question) - sum(len(n) for _, n in needles)
        if filler_len < 16:
            raise HarnessError(f"length {inputs['length']} is too short for task {self.spec.name}: use lengths of at least 256 tokens")
        hay = haystack_ids(tokenizer)
        start = inputs["offset"] % max(1, len(hay) - filler_len)
        filler = hay[start:start + filler_len]
        context, cursor = list(prefix), 0
        for depth, needle in needles:
            cut = round(depth * filler_len)
            context += filler[cursor:cut] + needle
            cursor = cut
        context += filler[cursor:]
        return Prompt(context=context, protected=len(prefix), question=question, gold=gold)

    def protocol(self) -> dict[str, Any]:
        stream = self.options.mode == "stream"
        return {
            "mode": self.options.mode,
            "compression": f"after every {self.options.chunk}-token prefill chunk" if stream else "once, after the whole context is prefilled",
            "protected_prefix": "the instruction tokens at the start are always kept (sinks / start tokens cover them)",
            "question_and_answer": "appended after compression and never evicted",
            "first_answer_token": "decoded from the compressed cache, never from full-attention logits",
            "decoding": f"greedy, gold length + {EXTRA_NEW_TOKENS} tokens, stops at end of sequence",
            "budget": "fraction of the context tokens if < 1, else tokens",
        }

    def check(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample]) -> None:
        llm = runtime.llm
        limit = getattr(llm.model.config, "max_position_embeddings", None)
        for sample in samples:
            prompt = self.prompt(sample, llm.tokenizer)
            total = len(prompt.context) + len(prompt.question) + len(prompt.gold) + EXTRA_NEW_TOKENS
            if limit and total > limit and not method.renumbers:
                raise HarnessError(f"sample {sample.id} needs {total} positions but the model has {limit}: use shorter --task-arg lengths")
            if method.bounded:
                method.validate(policy_context(llm, method, prompt), len(prompt.context))

    def predict(self, sample: Sample, method: KVCachePolicy, runtime: Runtime) -> dict[str, Any]:
        llm = runtime.llm
        prompt = self.prompt(sample, llm.tokenizer)
        trace = answer(llm, method, prompt, self.options, Clock(runtime.device), len(prompt.gold) + EXTRA_NEW_TOKENS)
        return {
            "generated": llm.tokenizer.decode(trace.generated, skip_special_tokens=True),
            "gold_logprob": trace.gold_logprob,
            "context_tokens": len(prompt.context),
            "protected_tokens": prompt.protected,
            "budget_tokens": policy_context(llm, method, prompt).budget,
            "kv_peak_tokens": trace.peak_tokens,
        }

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        gold = sample.target
        return {
            "exact_match": exact_match(gold, output["generated"]),
            "partial_credit": partial_credit(gold, output["generated"]),
            "gold_logprob": float(output["gold_logprob"]),
        }

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        cells: dict[tuple[int, float], list[dict[str, float]]] = {}
        for sample, row in zip(samples, rows):
            cells.setdefault((sample.meta["length"], sample.meta["depth"]), []).append(row)
        table = [
            {"length": length, "depth": depth, "n": len(group),
             **{m: sum(r[m] for r in group) / len(group) for m in ("exact_match", "partial_credit", "gold_logprob")}}
            for (length, depth), group in sorted(cells.items())
        ]
        return {"by_length_depth": table}

    def measure(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Time to first token and time per output token on the longest sample: warm-ups, then repeats."""
        llm = runtime.llm
        sample = max(samples, key=lambda s: (s.inputs["length"], -s.inputs["depth"]))
        prompt = self.prompt(sample, llm.tokenizer)
        ttft, per_token, trace = [], [], None
        for repeat in range(meter.warmups + meter.repeats):
            trace = answer(llm, method, prompt, self.options, meter.clock(), self.options.measure_new_tokens,
                           forced=True, score_gold=False)
            if repeat >= meter.warmups:
                ttft.append(trace.ttft)
                per_token.extend(trace.decode_times)
        per_tok = bytes_per_token(llm.model.config, llm.model.dtype)
        ctx = policy_context(llm, method, prompt)
        answer_tokens = len(prompt.question) + self.options.measure_new_tokens
        if not method.bounded:
            allowed = len(prompt.context) + answer_tokens
        elif self.options.mode == "post":
            allowed = max(len(prompt.context), ctx.budget + answer_tokens)
        else:
            allowed = max(min(len(prompt.context), ctx.budget + self.options.chunk), ctx.budget + answer_tokens)
        context_tokens = len(prompt.context)
        latency = {
            "time_to_first_token": meter.latency(ttft, context_tokens),
            "time_per_output_token": meter.latency(per_token, context_tokens),
        }
        p50 = latency["time_to_first_token"].p50
        return Measured(
            latency=latency,
            kv_cache=KVCacheMemory(peak_bytes=trace.peak_bytes, decode_bytes=trace.decode_bytes, peak_tokens=trace.peak_tokens,
                                   analytical_peak_bytes=allowed * per_tok),
            throughput=Throughput(unit="prefill_tokens_per_s", value=context_tokens / p50 if p50 > 0 else math.inf),
        )
