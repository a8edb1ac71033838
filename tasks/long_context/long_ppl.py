"""Perplexity of streaming long real text token by token under a bounded cache (LaCache's continuous-generation claim)."""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.errors import HarnessError
from harness.meter import Meter
from harness.record import KVCacheMemory, MetricValue, Throughput
from harness.runtime import Runtime
from harness.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec, metric_value
from tasks.long_context.corpus import haystack_ids
from tasks.long_context.kv import CompressContext, KVCachePolicy, Rope, budget_tokens, bytes_per_token
from tasks.long_context.passkey import offline_split
from tasks.long_context.streamer import Streamer

MEASURED_TOKENS = 64  # steady-state tokens timed after the cache has filled


class PerplexityOptions(BaseModel):
    """Task options for long_ppl (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    passages: int = Field(default=2, ge=1, description="independent passages (samples)")
    tokens: int = Field(default=512, ge=32, description="tokens streamed per passage")
    text_file: str | None = Field(default=None, description="split 'local': a UTF-8 text file (e.g. a PG-19 book)")


LOCAL_TEXT = SplitSpec(name="local", source="a local UTF-8 text file (--task-arg text_file=...)",
                       description="consecutive passages from the start of the file, e.g. a PG-19 book")


class LongPerplexity(Task):
    """Stream each passage one token at a time; the policy compresses after every token once over budget."""

    Options = PerplexityOptions
    spec = TaskSpec(
        name="long_ppl", family="long_context", version="1", paper="https://arxiv.org/abs/2507.14204",
        description="Token-by-token perplexity of real English text (pydoc topics) under a bounded KV cache.",
        splits=(LOCAL_TEXT, offline_split("passages at seeded offsets of the text"),),
        metrics=(
            MetricSpec(name="perplexity", higher_is_better=False, description="exp of the mean next-token NLL"),
            MetricSpec(name="nll", higher_is_better=False, description="mean next-token negative log-likelihood (nats)"),
        ),
        main_metric="perplexity", requires="kv_cache", uses_model=True,
    )

    _local_ids: list[int] | None = None  # the local text file, tokenised once

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        self.spec.split(split)
        if split == LOCAL_TEXT.name:
            self._local_text()
            found = [Sample(id=f"passage{i}", inputs={"offset": i * self.options.tokens, "tokens": self.options.tokens, "local": True},
                            target=None, meta={"passage": i}) for i in range(self.options.passages)]
            return found[:limit] if limit else found
        rng = random.Random(f"long_ppl:{seed}")
        found = [Sample(id=f"passage{i}", inputs={"offset": rng.randrange(0, 80_000), "tokens": self.options.tokens}, target=None,
                        meta={"passage": i}) for i in range(self.options.passages)]
        return found[:limit] if limit else found

    def protocol(self) -> dict[str, Any]:
        return {
            "streaming": "one token per forward; the policy compresses after every token once the cache is over budget",
            "scored": "next-token negative log-likelihood of every token after the first",
            "budget": "fraction of the passage tokens if < 1, else tokens; no protected prefix",
        }

    def _local_text(self) -> str:
        path = Path(self.options.text_file).expanduser() if self.options.text_file else None
        if path is None or not path.is_file():
            raise HarnessError("the local split needs an existing text file: add --task-arg text_file=/path/to/book.txt")
        return path.read_text(encoding="utf-8", errors="replace")

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split == LOCAL_TEXT.name:
            return str(self.options.text_file), hashlib.sha256(self._local_text().encode()).hexdigest()
        return super().dataset_source(split)

    def _ids(self, sample: Sample, tokenizer) -> list[int]:
        if sample.inputs.get("local"):
            if self._local_ids is None:
                self._local_ids = tokenizer(self._local_text(), add_special_tokens=False).input_ids
            ids = self._local_ids
            start, n = sample.inputs["offset"], sample.inputs["tokens"]
            if start + n > len(ids):
                raise HarnessError(f"{self.options.text_file} has {len(ids)} tokens, fewer than passages x tokens: lower --task-arg passages or tokens")
            return ids[start:start + n]
        hay = haystack_ids(tokenizer)
        start = sample.inputs["offset"] % (len(hay) - sample.inputs["tokens"])
        return hay[start:start + sample.inputs["tokens"]]

    def _context(self, runtime: Runtime, method: KVCachePolicy, n: int) -> CompressContext:
        model = runtime.llm.model
        budget = budget_tokens(method.params.budget, n) if method.bounded else n
        return CompressContext(budget=budget, protected=0, num_layers=model.config.num_hidden_layers, rope=Rope(model))

    def check(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample]) -> None:
        if method.bounded:
            method.validate(self._context(runtime, method, self.options.tokens), self.options.tokens)

    def _stream(self, ids: list[int], method: KVCachePolicy, runtime: Runtime, clock=None,
                steps: int | None = None) -> tuple[list[float], Streamer]:
        """Stream the passage (or its first `steps` tokens); the budget is always a share of the whole passage."""
        model = runtime.llm.model
        streamer = Streamer(model, method, self._context(runtime, method, len(ids)))
        nlls = []
        try:
            with torch.inference_mode():
                for i in range(len(ids) - 1 if steps is None else steps):
                    if clock:
                        clock.mark()
                    logits = streamer.forward(torch.tensor([[ids[i]]], device=runtime.device))
                    streamer.compress()
                    nlls.append(-torch.log_softmax(logits[-1], -1)[ids[i + 1]].item())
                if clock:
                    clock.mark()
        finally:
            streamer.close()
        return nlls, streamer

    def predict(self, sample: Sample, method: KVCachePolicy, runtime: Runtime) -> dict[str, Any]:
        nlls, streamer = self._stream(self._ids(sample, runtime.llm.tokenizer), method, runtime)
        return {"nll_sum": float(sum(nlls)), "tokens": len(nlls), "kv_peak_tokens": streamer.peak_tokens}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        nll = output["nll_sum"] / output["tokens"]
        return {"nll": nll, "perplexity": math.exp(nll)}

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """Perplexity is exp(mean NLL) over passages (equal lengths), its interval the exp of the NLL's."""
        nll = metric_value([r["nll"] for r in rows], False, seed)
        mean, stderr, ci = nll.value, nll.stderr, nll.ci95
        return {
            "nll": nll,
            "perplexity": MetricValue(value=math.exp(mean), stderr=None if stderr is None else math.exp(mean) * stderr,
                                      ci95=None if ci is None else (math.exp(ci[0]), math.exp(ci[1])), n=nll.n, higher_is_better=False),
        }

    def measure(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Per-token latency in the steady state: stream until the cache is full, then time MEASURED_TOKENS more."""
        ids = self._ids(samples[0], runtime.llm.tokenizer)
        budget = self._context(runtime, method, len(ids)).budget
        warm = min(len(ids) - 1, budget + MEASURED_TOKENS) if method.bounded else len(ids) - 1
        clock = meter.clock()
        _, streamer = self._stream(ids, method, runtime, clock, steps=warm)
        times = clock.intervals()[-MEASURED_TOKENS:]
        model = runtime.llm.model
        allowed = (budget + 1 if method.bounded else len(ids)) * bytes_per_token(model.config, model.dtype)
        stats = meter.latency(times, context_tokens=streamer.peak_tokens, warmups=warm - len(times))
        return Measured(
            latency={"time_per_streamed_token": stats},
            kv_cache=KVCacheMemory(peak_bytes=streamer.peak_bytes, decode_bytes=streamer.peak_bytes,
                                   peak_tokens=streamer.peak_tokens, analytical_peak_bytes=allowed),
            throughput=Throughput(unit="streamed_tokens_per_s", value=float(1 / np.median(times))),
        )
