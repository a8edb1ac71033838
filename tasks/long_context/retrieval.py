"""Needle retrieval under a KV-cache policy: the shared protocol of `passkey` and `niah_multikey`.

Two protocols for the first answer token (`first_token`, recorded with every result):
- `compressed` (default, stricter): the context is prefilled (`post`: at once; `stream`: in chunks, compressing
  after each), compressed, and only then is the question appended; the question and the answer are never
  evicted and every answer token, the first included, comes from the compressed cache.
- `full` (the LaCache reference, niah/pred.py): the question is prefilled with the context, the first answer
  token is read from the logits of that prefill before the cache is compressed (`post`: full attention over the
  whole prompt), then the whole cache, question included, is compressed to the budget, and a streaming policy
  compresses again after every decoded token. The budget is then a share of context + question, as there.
The instruction prefix is protected (every policy keeps it). Decoding is greedy.
"""

from __future__ import annotations

import math
import random
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.causal_lm import LoadedModel
from harness.contracts.meter import Clock, Meter
from harness.contracts.record import KVCacheMemory, Throughput
from harness.contracts.runtime import Runtime
from harness.contracts.task import Measured, Sample, SplitSpec, Task
from harness.errors import HarnessError
from tasks.long_context.conformance import kv_policy_conformance
from tasks.long_context.corpus import haystack_ids
from tasks.long_context.kv import CompressContext, KVCachePolicy, Rope, bytes_per_token
from tasks.long_context.local_data import read_items
from tasks.long_context.metrics import contains, exact_match, partial_credit
from tasks.long_context.streamer import Streamer

EXTRA_NEW_TOKENS = 4  # decode budget beyond the gold answer's length
LOCAL_SPLIT = SplitSpec(name="local", source="retrieval items from a file, a save_to_disk folder or a cached Hub id (--task-arg data_file=...)",
                        description="real data, e.g. RULER or LongBench items converted to {id, context, question, answer}")


class PrefillOptions(BaseModel):
    """How a prompt is prefilled and compressed before its answer is read (shared by every prompt-answer task)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["post", "stream"] = "post"
    first_token: Literal["compressed", "full"] = Field(default="compressed", description=(
        "compressed: question asked after compression, every answer token from the compressed cache; "
        "full: the LaCache reference protocol, first answer token from the uncompressed prefill of context + question"))
    chunk: int = Field(default=256, ge=1, description="stream mode: tokens prefilled between compressions")
    measure_new_tokens: int = Field(default=16, ge=2, description="tokens decoded per measurement repeat")


class RetrievalOptions(PrefillOptions):
    """Task options for needle retrieval (set with --task-arg KEY=VALUE)."""

    lengths: list[int] = Field(default=[1024, 2048, 4096], min_length=1)
    depths: list[float] = Field(default=[round(i / 10, 1) for i in range(11)], min_length=1)
    per_cell: int = Field(default=1, ge=1, description="items per (length, depth): different keys and text offsets")
    data_file: str | None = Field(default=None, description="split 'local': retrieval items (JSONL / CSV / parquet file, "
                                  "save_to_disk folder or a Hub id in the local cache)")
    data_split: str | None = Field(default=None, description="split 'local': the split of a dataset folder or Hub id")
    columns: dict[str, str] | None = Field(default=None, description="split 'local': item field -> source column")


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


DEFAULT_BUDGET = 0.5  # share of the context a bounded policy keeps when its budget is not set


def prefilled(prompt: Prompt, options: PrefillOptions) -> list[int]:
    """The tokens prefilled before the first answer token: the context, and under `first_token=full` the question too."""
    return prompt.context + prompt.question if options.first_token == "full" else prompt.context


def policy_context(llm: LoadedModel, policy: KVCachePolicy, prompt: Prompt, options: PrefillOptions) -> CompressContext:
    budget = policy.budget_for(len(prefilled(prompt, options)), DEFAULT_BUDGET)
    return CompressContext(budget=budget, protected=prompt.protected, num_layers=llm.model.config.num_hidden_layers,
                           rope=Rope(llm.model))


def compression_plan(policy: KVCachePolicy, prompt: Prompt, options: PrefillOptions, new_tokens: int) -> list[int]:
    """Tokens added to the cache before each compression `answer` makes (for the policy's rehearsal)."""
    tokens = len(prefilled(prompt, options))
    step = tokens if options.mode == "post" else options.chunk
    plan = [min(step, tokens - start) for start in range(0, tokens, step)]
    decoding = options.first_token == "full" and policy.streams
    return plan + ([1] * (new_tokens - 1) if decoding else [])


def prefill(streamer: Streamer, prompt: Prompt, options: PrefillOptions) -> torch.Tensor:
    """Prefill and compress under `options` (mode, first_token); returns the first answer token's logits [V]."""
    device = streamer.model.device
    full_first = options.first_token == "full"
    tokens = prefilled(prompt, options)
    step = max(len(tokens), 1) if options.mode == "post" else options.chunk
    for start in range(0, len(tokens), step):
        logits = streamer.forward(torch.tensor([tokens[start:start + step]], device=device))[0]
        if not (full_first and start + step >= len(tokens)):
            streamer.compress()
    if full_first:  # the first answer token is read before the last compression
        streamer.compress()
        return logits[-1]
    return streamer.forward(torch.tensor([prompt.question], device=device))[0][-1]


def compresses_decoding(policy: KVCachePolicy, options: PrefillOptions) -> bool:
    """Under the reference protocol a streaming policy compresses after every decoded token too."""
    return options.first_token == "full" and policy.streams


def answer(llm: LoadedModel, policy: KVCachePolicy, prompt: Prompt, options: PrefillOptions, clock: Clock,
           new_tokens: int, forced: bool = False, score_gold: bool = True,
           stop: Callable[[list[int]], bool] | None = None) -> AnswerTrace:
    """Prefill + compress + greedy decode under `options.first_token`; `forced` decodes exactly `new_tokens` tokens
    (for timing); `stop` ends decoding early once it is true of the tokens generated so far."""
    device = llm.model.device
    compress_decoding = compresses_decoding(policy, options)
    streamer = Streamer(llm.model, policy, policy_context(llm, policy, prompt, options))
    try:
        with torch.inference_mode():
            clock.mark()
            first_logits = logits = prefill(streamer, prompt, options)
            prefill_peak, prefill_tokens = streamer.peak_bytes, streamer.peak_tokens
            streamer.peak_bytes = 0
            clock.mark()
            gold_fork = streamer.fork() if score_gold else None
            generated: list[int] = []
            eos = llm.tokenizer.eos_token_id
            for i in range(new_tokens):
                token = int(logits.argmax())
                generated.append(token)
                if i == new_tokens - 1 or (not forced and (token == eos or (stop is not None and stop(generated)))):
                    break
                logits = streamer.forward(torch.tensor([[token]], device=device))[0][-1]
                if compress_decoding:
                    streamer.compress()
                clock.mark()
            decode_bytes = streamer.peak_bytes
            gold_logprob = None
            if gold_fork is not None:
                gold_logprob = teacher_forced(gold_fork, first_logits, prompt.gold, compress_decoding)[0]
                gold_fork.close()
    finally:
        streamer.close()
    times = clock.intervals()  # [time to first token, then one interval per decoded token]
    return AnswerTrace(generated=generated, gold_logprob=gold_logprob, peak_bytes=max(prefill_peak, decode_bytes),
                       peak_tokens=max(prefill_tokens, streamer.peak_tokens), decode_bytes=decode_bytes,
                       ttft=times[0], decode_times=times[1:])


def teacher_forced(streamer: Streamer, first_logits: torch.Tensor, tokens: list[int], compress_each: bool) -> tuple[float, bool]:
    """Log-probability of `tokens` (the first scored from `first_logits`, the rest fed after it: in one forward, or
    token by token compressing after each) and whether greedy decoding would have produced every one of them."""
    first = torch.log_softmax(first_logits, -1)
    total, greedy = first[tokens[0]].item(), int(first_logits.argmax()) == tokens[0]
    if len(tokens) < 2:
        return total, greedy
    device = streamer.model.device
    if not compress_each:
        rest = torch.log_softmax(streamer.forward(torch.tensor([tokens[:-1]], device=device), all_logits=True)[0], -1)
        picked = rest[torch.arange(len(tokens) - 1), torch.tensor(tokens[1:])]
        return total + picked.sum().item(), greedy and bool((rest.argmax(-1) == torch.tensor(tokens[1:])).all())
    for previous, tok in zip(tokens[:-1], tokens[1:]):
        logits = streamer.forward(torch.tensor([[previous]], device=device))[0][-1]
        streamer.compress()
        step = torch.log_softmax(logits, -1)
        total, greedy = total + step[tok].item(), greedy and int(step.argmax()) == tok
    return total, greedy


def policy_applied(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Leading tokens each policy really kept (its own, raised to the protected prefix) and the budgets in tokens."""
    leading = sorted({o["leading_tokens_kept"] for o in outputs if o.get("leading_tokens_kept") is not None})
    budgets = [o["budget_tokens"] for o in outputs if "budget_tokens" in o]
    return {"leading_tokens_kept": leading or None, "budget_tokens_min": min(budgets, default=None),
            "budget_tokens_max": max(budgets, default=None)}


def measure_answer(llm: LoadedModel, method: KVCachePolicy, prompt: Prompt, options: PrefillOptions, meter: Meter) -> Measured:
    """Time to first token and time per output token on one prompt (warm-ups, then repeats), with its KV bytes
    beside the most the protocol allows the policy to hold."""
    ttft, per_token, trace = [], [], None
    for repeat in range(meter.warmups + meter.repeats):
        trace = answer(llm, method, prompt, options, meter.clock(), options.measure_new_tokens, forced=True, score_gold=False)
        if repeat >= meter.warmups:
            ttft.append(trace.ttft)
            per_token.extend(trace.decode_times)
    per_tok = bytes_per_token(llm.model.config, llm.model.dtype)
    ctx = policy_context(llm, method, prompt, options)
    tokens = len(prefilled(prompt, options))
    new_tokens = options.measure_new_tokens
    if options.first_token == "full":
        after = ctx.budget + (1 if method.streams else new_tokens)
    else:
        after = ctx.budget + len(prompt.question) + new_tokens
    if not method.bounded:
        allowed = len(prompt.context) + len(prompt.question) + new_tokens
    elif options.mode == "post":
        allowed = max(tokens, after)
    else:
        allowed = max(min(tokens, ctx.budget + options.chunk), after)
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


class NeedleTask(Task):
    """Base of needle tasks: subclasses describe the prefix, the needles and the question."""

    Options: ClassVar[type[BaseModel]] = RetrievalOptions
    _pinned: str | None = None  # what the local split read (file sha256 or dataset fingerprint)

    @classmethod
    def conformance(cls, method_cls: type[KVCachePolicy], params: dict[str, Any], runtime: Runtime) -> list[str]:
        """Every KV-cache policy's checks (tasks.long_context.conformance)."""
        return kv_policy_conformance(method_cls, params, runtime)

    def applied(self, log_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        return policy_applied([row["output"] for row in log_rows])

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
                for item in range(self.options.per_cell):
                    suffix = f":{item}" if item else ""
                    rng = random.Random(f"{self.spec.name}:{seed}:{length}:{depth}{suffix}")
                    inputs = self.make_sample(rng, length, depth)
                    inputs.update(length=length, depth=depth, offset=rng.randrange(0, 50_000))
                    found.append(Sample(id=f"len{length}-depth{depth:.2f}" + (f"-item{item}" if item else ""), inputs=inputs,
                                        target=inputs["answer"], meta={"length": length, "depth": depth}))
        return found[:limit] if limit else found

    def _local_samples(self, limit: int | None) -> list[Sample]:
        found = []
        items, self._pinned = read_items(self.options.data_file, self.options.columns, self.options.data_split)
        for item in items:
            length = item.length if item.length is not None else len(item.context)
            depth = item.depth if item.depth is not None else 0.0
            inputs = {"prefix": item.prefix, "text": item.context, "question": item.question, "answer": item.answer,
                      "length": length, "depth": depth}
            found.append(Sample(id=item.id, inputs=inputs, target=item.answer, meta={"length": length, "depth": depth}))
        return found[:limit] if limit else found

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split == LOCAL_SPLIT.name:
            if self._pinned is None:
                self._pinned = read_items(self.options.data_file, self.options.columns, self.options.data_split)[1]
            return str(self.options.data_file), self._pinned
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
        full_first = self.options.first_token == "full"
        prefilled_text = "context and question" if full_first else "context"
        return {
            "mode": self.options.mode,
            "first_token": self.options.first_token,
            "compression": (f"after every {self.options.chunk}-token prefill chunk of the {prefilled_text}" if stream
                            else f"once, after the whole {prefilled_text} is prefilled"),
            "protected_prefix": "the instruction tokens at the start are always kept (every policy's leading tokens cover them)",
            "question_and_answer": ("prefilled with the context; compressed with it, and a streaming policy compresses again "
                                    "after every decoded token (LaCache's niah/pred.py)" if full_first
                                    else "appended after compression and never evicted"),
            "first_answer_token": ("read from the prefill's logits before the cache is compressed (the LaCache reference protocol)"
                                   if full_first else "decoded from the compressed cache, never from full-attention logits"),
            "decoding": f"greedy, gold length + {EXTRA_NEW_TOKENS} tokens, stops at end of sequence",
            "budget": (f"fraction of the {prefilled_text} tokens if < 1, else tokens; unset: {DEFAULT_BUDGET} of them"),
            "scoring": "exact_match: first number generated equals the gold; contains: gold inside the answer (the reference's score)",
        }

    def check(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample]) -> None:
        llm = runtime.llm
        limit = getattr(llm.model.config, "max_position_embeddings", None)
        for sample in samples:
            prompt = self.prompt(sample, llm.tokenizer)
            new_tokens = len(prompt.gold) + EXTRA_NEW_TOKENS
            total = len(prompt.context) + len(prompt.question) + new_tokens
            if limit and total > limit and not method.renumbers:
                raise HarnessError(f"sample {sample.id} needs {total} positions but the model has {limit}: use shorter --task-arg lengths")
            if method.bounded:
                plan = compression_plan(method, prompt, self.options, max(new_tokens, self.options.measure_new_tokens))
                method.validate(policy_context(llm, method, prompt, self.options), len(prefilled(prompt, self.options)), plan)

    def predict(self, sample: Sample, method: KVCachePolicy, runtime: Runtime) -> dict[str, Any]:
        llm = runtime.llm
        prompt = self.prompt(sample, llm.tokenizer)
        trace = answer(llm, method, prompt, self.options, Clock(runtime.device), len(prompt.gold) + EXTRA_NEW_TOKENS)
        ctx = policy_context(llm, method, prompt, self.options)
        return {
            "generated": llm.tokenizer.decode(trace.generated, skip_special_tokens=True),
            "gold_logprob": trace.gold_logprob,
            "context_tokens": len(prompt.context),
            "protected_tokens": prompt.protected,
            "budget_tokens": ctx.budget,
            "leading_tokens_kept": method.leading(ctx) if method.bounded else None,
            "kv_peak_tokens": trace.peak_tokens,
        }

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        gold = sample.target
        return {
            "exact_match": exact_match(gold, output["generated"]),
            "contains": contains(gold, output["generated"]),
            "partial_credit": partial_credit(gold, output["generated"]),
            "gold_logprob": float(output["gold_logprob"]),
        }

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        cells: dict[tuple[int, float], list[dict[str, float]]] = {}
        for sample, row in zip(samples, rows):
            cells.setdefault((sample.meta["length"], sample.meta["depth"]), []).append(row)
        table = [
            {"length": length, "depth": depth, "n": len(group),
             **{m: sum(r[m] for r in group) / len(group) for m in ("exact_match", "contains", "partial_credit", "gold_logprob")}}
            for (length, depth), group in sorted(cells.items())
        ]
        return {"by_length_depth": table}

    def measure(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Time to first token and time per output token on the longest sample: warm-ups, then repeats."""
        sample = max(samples, key=lambda s: (s.inputs["length"], -s.inputs["depth"]))
        return measure_answer(runtime.llm, method, self.prompt(sample, runtime.llm.tokenizer), self.options, meter)
