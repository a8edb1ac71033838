"""Perplexity of long real text streamed under a bounded KV cache (the StreamingLLM / LaCache language-modelling claim).

The papers' regime by default: a fixed budget of 256 tokens (StreamingLLM's 4 + 252 and LaCache's `cache_size=256`
in ppl/run.py), the shared 4 leading tokens, and streams of 4,096 tokens over 8 passages, each fed one token per
forward with the policy compressing after every token once the cache is over budget, as both references'
evaluation loops do. The passages stream side by side as one batch (independent rows at the same positions),
which changes nothing per passage. `chunk=N` feeds N tokens per forward instead (the cache then holds up to
budget + N tokens): a recorded speed option, not the papers' protocol. Perplexity is also reported per position
bucket (the curve both papers draw), with `full` in it.
"""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.meter import Meter
from harness.contracts.method import Method
from harness.contracts.real_data import BUILDERS, read_table
from harness.contracts.record import KVCacheMemory, MetricValue, Throughput
from harness.contracts.runtime import Runtime
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec, metric_value
from harness.errors import HarnessError
from tasks.long_context.corpus import haystack_ids
from tasks.long_context.kv import CompressContext, KVCachePolicy, Rope, bytes_per_token
from tasks.long_context.passkey import offline_split
from tasks.long_context.streamer import Streamer

MEASURED_TOKENS = 64  # steady-state tokens timed once the cache is full
DEFAULT_BUDGET = 256  # tokens, the papers' streaming cache size
BUCKET_PREFIX = "nll_at_"  # per-sample score keys of the position curve
FULL_CHUNK = 256  # the full cache evicts nothing, so feeding it in chunks gives exactly the token-by-token distributions


class PerplexityOptions(BaseModel):
    """Task options for long_ppl (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    passages: int = Field(default=8, ge=1, description="independent passages (samples)")
    tokens: int = Field(default=4096, ge=32, description="tokens streamed per passage")
    bucket: int = Field(default=256, ge=1, description="tokens per position bucket of the perplexity curve")
    chunk: int = Field(default=1, ge=1, description="tokens per forward: 1 is the papers' protocol; more is a faster "
                       "chunked stream whose cache holds up to budget + chunk tokens")
    batch: int = Field(default=8, ge=1, description="passages streamed side by side (speed only; results per passage are unchanged)")
    text_file: str | None = Field(default=None, description="split 'local': a UTF-8 text file (e.g. a PG-19 book), or a "
                                  "table (JSONL / CSV / parquet file, save_to_disk folder, cached Hub id) whose text_column is joined")
    text_column: str = Field(default="text", description="split 'local', a table: the column holding the text")
    data_split: str | None = Field(default=None, description="split 'local': the split of a dataset folder or Hub id")


LOCAL_TEXT = SplitSpec(name="local", source="a UTF-8 text file or a table of texts, read with datasets (--task-arg text_file=...)",
                       description="consecutive passages from the start of the file, e.g. a PG-19 book")


class LongPerplexity(Task):
    """Stream each passage; the policy compresses after every forward once the cache is over budget."""

    Options = PerplexityOptions
    spec = TaskSpec(
        name="long_ppl", family="long_context", version="2", paper="https://arxiv.org/abs/2507.14204",
        description="Perplexity of 4,096-token streams of real English text (pydoc topics) under a fixed 256-token KV cache.",
        splits=(LOCAL_TEXT, offline_split("passages at seeded offsets of the text"),),
        metrics=(
            MetricSpec(name="perplexity", higher_is_better=False, description="exp of the mean next-token NLL"),
            MetricSpec(name="nll", higher_is_better=False, description="mean next-token negative log-likelihood (nats)"),
        ),
        main_metric="perplexity", requires="kv_cache", uses_model=True,
        equivalent_specs={"e09f6bbcf9a07fbd2acb82cf5d238e4cca23232e8130caf8860c9300e58dc87f":
                          "the local split's source text (now naming the datasets forms it reads); no sample, metric or score changed"},
    )
    display = DisplaySpec(reference=ReferenceSpec(method="full", kind="full"))

    _local_ids: list[int] | None = None  # the local text file, tokenised once
    _text: str | None = None
    _pinned: str | None = None

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self._pending: list[Sample] = []
        self._streamed: dict[str, dict[str, Any]] = {}

    @classmethod
    def accepts(cls, method_cls: type[Method]) -> str | None:
        if not getattr(method_cls, "streams", True):
            return (f"{method_cls.name} compresses a finished prompt once and has no streaming form, so it cannot follow a "
                    "token stream; run it on passkey or niah_multikey")
        return None

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        self.spec.split(split)
        n = self.options.tokens
        if split == LOCAL_TEXT.name:
            self._local_text()
            found = [Sample(id=f"passage{i}", inputs={"offset": i * n, "tokens": n, "local": True}, target=None,
                            meta={"passage": i}) for i in range(self.options.passages)]
        else:
            rng = random.Random(f"long_ppl:{seed}")
            found = [Sample(id=f"passage{i}", inputs={"offset": rng.randrange(0, 80_000), "tokens": n}, target=None,
                            meta={"passage": i}) for i in range(self.options.passages)]
        return found[:limit] if limit else found

    def protocol(self) -> dict[str, Any]:
        chunk = self.options.chunk
        return {
            "streaming": ("one token per forward (the papers' protocol)" if chunk == 1 else
                          f"{chunk} tokens per forward (chunked stream: the cache holds up to budget + {chunk} tokens)"),
            "compression": "after every forward, once the cache is over budget",
            "full_cache": f"fed in {FULL_CHUNK}-token chunks: nothing is evicted, so the distributions equal token-by-token feeding",
            "scored": "next-token negative log-likelihood of every token after the first",
            "budget": f"tokens if >= 1, else a fraction of the passage; unset: {DEFAULT_BUDGET} tokens; no protected prefix",
            "batching": f"up to {self.options.batch} passages side by side as independent rows (speed only)",
            "curve": f"perplexity per {self.options.bucket}-token position bucket (breakdown by_position)",
        }

    def _local_text(self) -> str:
        """The local text: a .txt file as it is, or a table's text column joined by blank lines (rows in order)."""
        if self._text is None:
            source = self.options.text_file
            if not source:
                raise HarnessError("the local split needs an existing text file: add --task-arg text_file=/path/to/book.txt")
            path = Path(source).expanduser()
            if path.is_file() and (path.suffix.lower() == ".txt" or path.suffix.lower() not in BUILDERS):
                self._text = path.read_text(encoding="utf-8", errors="replace")
                self._pinned = hashlib.sha256(self._text.encode()).hexdigest()
            else:  # a table, or a path that is not there (read_table says so in one line)
                table = read_table(source, {"text": self.options.text_column}, self.options.data_split,
                                   option="--task-arg text_file=...")
                self._text, self._pinned = "\n\n".join(str(row["text"]) for row in table.rows), table.pinned
        return self._text

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split == LOCAL_TEXT.name:
            self._local_text()
            return str(self.options.text_file), self._pinned
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
        return CompressContext(budget=method.budget_for(n, DEFAULT_BUDGET), protected=0,
                               num_layers=model.config.num_hidden_layers, rope=Rope(model))

    def _chunk(self, method: KVCachePolicy) -> int:
        return self.options.chunk if method.bounded else max(self.options.chunk, FULL_CHUNK)

    def check(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample]) -> None:
        refusal = self.accepts(type(method))
        if refusal:
            raise HarnessError(f"task long_ppl does not run method {method.name!r}: {refusal}")
        for sample in samples:
            self._ids(sample, runtime.llm.tokenizer)  # a local text too short fails here, before any sample runs
        if method.bounded:
            n, chunk = self.options.tokens, self._chunk(method)
            plan = [min(chunk, n - 1 - start) for start in range(0, n - 1, chunk)]
            method.validate(self._context(runtime, method, n), n, plan)
        self._pending = list(samples)

    def _stream(self, batch: list[list[int]], method: KVCachePolicy, runtime: Runtime, chunk: int, clock=None,
                steps: int | None = None) -> tuple[torch.Tensor, Streamer]:
        """Stream equal-length passages side by side; returns next-token NLLs [passages, tokens fed] and the streamer.

        With `clock`, marks before every forward and after the last; `steps` stops after that many tokens.
        """
        model = runtime.llm.model
        ids = torch.tensor(batch, device=runtime.device)
        total = ids.shape[1] - 1 if steps is None else steps
        streamer = Streamer(model, method, self._context(runtime, method, ids.shape[1]))
        nlls = []
        try:
            with torch.inference_mode():
                for start in range(0, total, chunk):
                    end = min(start + chunk, total)
                    if clock:
                        clock.mark()
                    logits = streamer.forward(ids[:, start:end], all_logits=True)
                    streamer.compress()
                    nlls.append(-torch.log_softmax(logits, -1).gather(-1, ids[:, start + 1:end + 1, None])[..., 0])
                if clock:
                    clock.mark()
        finally:
            streamer.close()
        return torch.cat(nlls, dim=1), streamer

    def predict(self, sample: Sample, method: KVCachePolicy, runtime: Runtime) -> dict[str, Any]:
        if sample.id not in self._streamed:
            self._stream_pending(sample, method, runtime)
        return self._streamed.pop(sample.id)

    def _stream_pending(self, sample: Sample, method: KVCachePolicy, runtime: Runtime) -> None:
        """Stream this sample with the next pending ones (up to `batch` side by side) and keep their outputs."""
        queue = [s for s in self._pending if s.id not in self._streamed and s.id != sample.id]
        group = [sample, *queue[: self.options.batch - 1]]
        nlls, streamer = self._stream([self._ids(s, runtime.llm.tokenizer) for s in group], method, runtime, self._chunk(method))
        bucket = self.options.bucket
        for s, row in zip(group, nlls.cpu().double().numpy()):
            self._streamed[s.id] = {
                "nll_sum": float(row.sum()), "tokens": int(row.size),
                "bucket_nll": [float(row[i:i + bucket].mean()) for i in range(0, row.size, bucket)],
                "kv_peak_tokens": streamer.peak_tokens, "budget_tokens": streamer.ctx.budget,
                "leading_tokens_kept": method.leading(streamer.ctx) if method.bounded else None,
            }
        self._pending = [s for s in self._pending if s.id not in self._streamed]

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        """The passage's NLL and perplexity, and its mean NLL per position bucket (`nll_at_<first token>`)."""
        nll = output["nll_sum"] / output["tokens"]
        buckets = {f"{BUCKET_PREFIX}{i * self.options.bucket}": value for i, value in enumerate(output["bucket_nll"])}
        return {"nll": nll, "perplexity": math.exp(nll), **buckets}

    def pair_statistic(self, metric: str):
        """Perplexity pairs as exp of the mean NLL over the resampled passages, like the metric itself."""
        if metric == "perplexity":
            return "nll", lambda values: np.exp(values.mean(axis=1))
        return super().pair_statistic(metric)

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """Perplexity is exp(mean NLL) over passages (equal lengths), its interval the exp of the NLL's."""
        nll = metric_value([r["nll"] for r in rows], False, seed)
        mean, stderr, ci = nll.value, nll.stderr, nll.ci95
        return {
            "nll": nll,
            "perplexity": MetricValue(value=math.exp(mean), stderr=None if stderr is None else math.exp(mean) * stderr,
                                      ci95=None if ci is None else (math.exp(ci[0]), math.exp(ci[1])), n=nll.n, higher_is_better=False),
        }

    def applied(self, log_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        outputs = [row["output"] for row in log_rows]
        leading = sorted({o["leading_tokens_kept"] for o in outputs if o.get("leading_tokens_kept") is not None})
        return {"leading_tokens_kept": leading or None, "budget_tokens": sorted({o["budget_tokens"] for o in outputs})}

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """Perplexity by position: per bucket, exp of the mean NLL over passages (the papers' curve)."""
        starts = sorted({int(key.removeprefix(BUCKET_PREFIX)) for row in rows for key in row if key.startswith(BUCKET_PREFIX)})
        curve = []
        for start in starts:
            values = [row[f"{BUCKET_PREFIX}{start}"] for row in rows if f"{BUCKET_PREFIX}{start}" in row]
            mean = float(np.mean(values))
            curve.append({"position": start, "n": len(values), "nll": mean, "perplexity": math.exp(mean)})
        return {"by_position": curve}

    def measure(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Per-token latency in the steady state, one passage alone: the cache full (bounded) or near the passage's end
        (full, prefilled in chunks up to there), then MEASURED_TOKENS single-token forwards timed."""
        ids = self._ids(samples[0], runtime.llm.tokenizer)
        model = runtime.llm.model
        budget = self._context(runtime, method, len(ids)).budget
        clock = meter.clock()
        if method.bounded:
            warm = min(len(ids) - 1, budget + MEASURED_TOKENS + self.options.chunk)
            _, streamer = self._stream([ids], method, runtime, 1, clock, steps=warm)
            times = clock.intervals()[-MEASURED_TOKENS:]
        else:
            streamer = Streamer(model, method, self._context(runtime, method, len(ids)))
            start = len(ids) - 1 - MEASURED_TOKENS
            with torch.inference_mode():
                for s in range(0, start, FULL_CHUNK):
                    streamer.forward(torch.tensor([ids[s:min(s + FULL_CHUNK, start)]], device=runtime.device))
                for i in range(start, len(ids) - 1):
                    clock.mark()
                    streamer.forward(torch.tensor([[ids[i]]], device=runtime.device))
                clock.mark()
            warm, times = start, clock.intervals()
        allowed = (budget + self.options.chunk if method.bounded else len(ids)) * bytes_per_token(model.config, model.dtype)
        stats = meter.latency(times, context_tokens=streamer.peak_tokens, warmups=warm)
        return Measured(
            latency={"time_per_streamed_token": stats},
            kv_cache=KVCacheMemory(peak_bytes=streamer.peak_bytes, decode_bytes=streamer.peak_bytes,
                                   peak_tokens=streamer.peak_tokens, analytical_peak_bytes=allowed),
            throughput=Throughput(unit="streamed_tokens_per_s", value=float(1 / np.median(times))),
        )
