"""`lm_eval`: any lm-evaluation-harness task run under a KV-cache policy, one harness record per lm-eval task.

Documents are lm-eval's own (its prompts, few-shot sampling with its seed, filters, `process_results` and
aggregations), so the metrics are lm-eval's; every request goes through `PolicyLM` (the harness's streamer and
policy), which records KV bytes, time to first token and time per output token like the other long-context tasks.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field, field_validator

from harness.contracts.record import MetricValue
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec
from harness.errors import HarnessError
from harness.statistics.intervals import BOOTSTRAP_RESAMPLES, bootstrap_ci95, bootstrap_statistics
from tasks.long_context.kv import KVCachePolicy
from tasks.long_context.retrieval import (
    DEFAULT_BUDGET,
    PrefillOptions,
    compression_plan,
    measure_answer,
    policy_applied,
    policy_context,
    prefilled,
)
from tasks.long_context.via_lm_eval.load import LM_EVAL_FEWSHOT_SEED, leaf_tasks, load_task

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.runtime import Runtime

BINARY_METRICS = {"acc", "acc_norm", "acc_mutual_info", "exact_match"}  # lm-eval metrics that are 0/1 per document
OFFLINE = SplitSpec(name="offline", source="the lm-eval task's evaluation documents, read from local files or the local HF cache",
                    description="default tasks: harness_kv (door-code retrieval in ~1k tokens of real text, shipped JSONL)")


@contextmanager
def quiet_request_building() -> Iterator[None]:
    """lm-eval draws a tqdm bar while it builds a task's requests, with no way to turn it off: a log (or the site
    build, which rebuilds the samples for their gold answers) would hold a bar per task. Its module's `tqdm` is
    swapped for a disabled one while the requests are built."""
    import lm_eval.api.task as lm_task

    shown = lm_task.tqdm
    lm_task.tqdm = functools.partial(shown, disable=True)
    try:
        yield
    finally:
        lm_task.tqdm = shown


class LmEvalOptions(PrefillOptions):
    """Task options (--task-arg KEY=VALUE): which lm-eval tasks, where their YAMLs are, few-shot, and the protocol."""

    tasks: list[str] = Field(default=["harness_kv"], min_length=1, description=(
        "lm-eval task, group or tag names (comma-separated); one record per lm-eval task"))
    include_path: str | None = Field(default=None, description="a folder of your own lm-eval task YAMLs")
    num_fewshot: int | None = Field(default=None, ge=0, description="few-shot examples (unset: the task's own default)")
    fewshot_seed: int = Field(default=LM_EVAL_FEWSHOT_SEED, description="lm-eval's few-shot sampling seed")

    @field_validator("tasks", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else value

    @field_validator("include_path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return str(Path(value).expanduser().resolve()) if value else value


def metric_key(metric: str, filter_name: str, filters: list[str]) -> str:
    """lm-eval's `metric,filter` as a harness metric name: the filter is named only when the task has several."""
    return metric if len(filters) == 1 else f"{metric}:{filter_name}"


def per_row(agg):
    """An lm-eval aggregation applied to each row of [resamples, documents] (the harness's statistic shape)."""
    return lambda values, axis=1: np.array([agg(list(row)) for row in values])


class LmEvalTask(Task):
    """Runs one lm-eval task (per record) through the KV-cache bridge; `harness run` splits a list of them."""

    spec: ClassVar[TaskSpec] = TaskSpec(
        name="lm_eval", family="long_context", version="1", paper="https://github.com/EleutherAI/lm-evaluation-harness",
        description="Any lm-evaluation-harness task (generate_until, loglikelihood, multiple_choice) with every request "
                    "prefilled, compressed and answered under the KV-cache policy; lm-eval's metrics and stderr.",
        splits=(OFFLINE,), metrics=(MetricSpec(name="score", higher_is_better=True, description="the lm-eval task's first metric"),),
        main_metric="score", requires="kv_cache", uses_model=True,
    )
    display = DisplaySpec(reference=ReferenceSpec(method="full", kind="full", latency="time_per_output_token"), label_options=("tasks",), gold=True)
    Options: ClassVar[type[BaseModel]] = LmEvalOptions
    default_plan: ClassVar[bool] = False

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        if len(self.options.tasks) != 1:
            raise HarnessError(f"the lm_eval task runs one lm-eval task per record, got {self.options.tasks}: "
                               f"`harness run --task lm_eval --task-arg tasks=a,b` splits them into one cell each")
        self.lm_task = load_task(self.options.tasks[0], self.options.include_path, self.options.num_fewshot,
                                 self.options.fewshot_seed)
        self.kind = self.lm_task.get_config("output_type")
        self.filters = [f.name for f in self.lm_task._filters]
        self.aggregations = self.lm_task.aggregation()
        better = self.lm_task.higher_is_better()
        metrics = tuple(MetricSpec(name=metric_key(metric, f, self.filters), higher_is_better=bool(better.get(metric, True)),
                                   description=f"lm-eval {metric},{f} ({getattr(self.aggregations.get(metric), '__name__', 'mean')})",
                                   binary=metric in BINARY_METRICS)
                        for f in self.filters for metric in self.aggregations)
        self.spec = type(self).spec.model_copy(update={
            "name": "lm_eval", "metrics": metrics, "main_metric": metrics[0].name,
            "description": f"lm-eval task {self.options.tasks[0]} ({self.kind}) under a KV-cache policy"})
        self._requests: dict[int, list[Any]] = {}
        self._docs: dict[int, dict[str, Any]] = {}
        self._bridges: dict[int, Any] = {}

    @classmethod
    def expand(cls, options: dict[str, Any]) -> list[dict[str, Any]]:
        """One option set per lm-eval task: tags and groups are expanded to their tasks."""
        parsed = cls.Options(**options)
        return [{**options, "tasks": [name]} for name in leaf_tasks(parsed.tasks, parsed.include_path)]

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        self.spec.split(split)
        task = self.lm_task
        with quiet_request_building():
            task.build_all_requests(limit=limit, rank=0, world_size=1)
        self._requests = {}
        for instance in task.instances:
            self._requests.setdefault(instance.doc_id, []).append(instance)
        for instances in self._requests.values():
            instances.sort(key=lambda inst: inst.idx)
        self._docs = dict(task.doc_iterator(rank=0, limit=limit, world_size=1))
        return [Sample(id=str(doc_id), inputs={"doc_id": doc_id}, target=str(task.doc_to_target(self._docs[doc_id])),
                       meta={"kind": self.kind}) for doc_id in sorted(self._requests)]

    def bridge(self, method: KVCachePolicy, runtime: Runtime):
        from tasks.long_context.via_lm_eval.bridge import PolicyLM

        if id(method) not in self._bridges:
            self._bridges[id(method)] = PolicyLM(runtime.llm, method, self.options)
        return self._bridges[id(method)]

    def check(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample]) -> None:
        from tasks.long_context.via_lm_eval.bridge import prompt_of

        lm = self.bridge(method, runtime)
        if not method.bounded:
            return
        for sample in samples:
            for instance in self._requests[sample.inputs["doc_id"]]:
                context, new_tokens = lm.encode(instance)
                prompt = prompt_of(context)
                ctx = policy_context(runtime.llm, method, prompt, self.options)
                if ctx.budget < len(prefilled(prompt, self.options)):  # a shorter prompt is kept whole
                    plan = compression_plan(method, prompt, self.options, max(new_tokens, self.options.measure_new_tokens))
                    method.validate(ctx, len(prefilled(prompt, self.options)), plan)

    def predict(self, sample: Sample, method: KVCachePolicy, runtime: Runtime) -> dict[str, Any]:
        lm = self.bridge(method, runtime)
        instances = self._requests[sample.inputs["doc_id"]]
        lm.traces = []
        kind = instances[0].request_type
        responses = getattr(lm, kind)(instances, disable_tqdm=True)
        traces = lm.traces
        return {
            "kind": kind,
            "prompt_sha256": traces[0].prompt_sha256,
            "continuations": [inst.args[1] for inst in instances] if kind == "loglikelihood" else None,
            "responses": [list(r) if isinstance(r, tuple) else r for r in responses],
            "context_tokens": max(t.context_tokens for t in traces),
            "budget_tokens": min(t.budget_tokens for t in traces),
            "leading_tokens_kept": traces[0].leading_tokens_kept,
            "kv_peak_tokens": max(t.kv_peak_tokens for t in traces),
        }

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        """lm-eval's filters and process_results on the saved responses of this document."""
        doc_id = sample.inputs["doc_id"]
        instances = [copy.copy(inst) for inst in self._requests[doc_id]]
        for inst, response in zip(instances, output["responses"], strict=True):
            inst.resps = [tuple(response) if isinstance(response, list) else response]
            inst.filtered_resps = {}
        for ensemble in self.lm_task._filters:
            ensemble.apply(instances)
        scores = {}
        for name in self.filters:
            found = self.lm_task.process_results(self._docs[doc_id], [inst.filtered_resps[name] for inst in instances])
            for metric, value in found.items():
                if not isinstance(value, (int, float, bool, np.number)):
                    raise HarnessError(f"lm-eval metric {metric} of {self.options.tasks[0]} is corpus-level (its per-document "
                                       f"value is a {type(value).__name__}): the bridge reports per-document metrics only")
                scores[metric_key(metric, name, self.filters)] = float(value)
        return scores

    def _aggregation(self, name: str):
        return self.aggregations.get(name.split(":")[0])

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """lm-eval's aggregation of each metric; its closed-form stderr for means, else a bootstrap over documents."""
        from lm_eval.api.metrics import mean, mean_stderr

        result = {}
        for spec in self.spec.metrics:
            values = [r[spec.name] for r in rows if spec.name in r]
            if not values:
                continue
            agg = self._aggregation(spec.name) or mean
            if agg is mean:
                stderr = mean_stderr(values) if len(values) > 1 else None
                ci = bootstrap_ci95(values, seed)
            else:
                stats = bootstrap_statistics(values, seed, per_row(agg))
                stderr = float(np.std(stats, ddof=1)) if stats is not None else None
                ci = tuple(float(x) for x in np.percentile(stats, [2.5, 97.5])) if stats is not None else None
            result[spec.name] = MetricValue(value=float(agg(values)), stderr=stderr, ci95=ci, n=len(values),
                                            higher_is_better=spec.higher_is_better)
        return result

    def pair_statistic(self, metric: str):
        from lm_eval.api.metrics import mean

        agg = self._aggregation(metric)
        if agg is None or agg is mean:
            return super().pair_statistic(metric)
        return metric, per_row(agg)

    def applied(self, log_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        return policy_applied([row["output"] for row in log_rows])

    def measure(self, method: KVCachePolicy, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Time to first token and per output token (greedy, forced) on the longest request's prompt."""
        from tasks.long_context.via_lm_eval.bridge import prompt_of

        lm = self.bridge(method, runtime)
        contexts = [lm.encode(self._requests[sample.inputs["doc_id"]][0])[0] for sample in samples]
        return measure_answer(runtime.llm, method, prompt_of(max(contexts, key=len)), self.options, meter)

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        """The lm-eval task and what it read: local files by sha256, a Hub dataset by fingerprint and revision."""
        config = self.lm_task.config
        files = (config.dataset_kwargs or {}).get("data_files")
        source = f"lm-eval:{self.options.tasks[0]} ({config.dataset_path}{'/' + config.dataset_name if config.dataset_name else ''})"
        if files:
            paths = sorted(files.values() if isinstance(files, dict) else [files] if isinstance(files, str) else files)
            digest = hashlib.sha256()
            for path in paths:
                digest.update(Path(path).read_bytes())
            return source, digest.hexdigest()
        docs = self.lm_task.eval_docs
        revision = (config.dataset_kwargs or {}).get("revision")
        return source, f"{getattr(docs, '_fingerprint', 'unknown')}" + (f"@{revision}" if revision else "")

    def protocol(self) -> dict[str, Any]:
        stream = self.options.mode == "stream"
        full_first = self.options.first_token == "full"
        return {
            "lm_eval_task": self.options.tasks[0],
            "request_kind": self.kind,
            "mode": self.options.mode,
            "first_token": self.options.first_token,
            "compression": (f"after every {self.options.chunk}-token prefill chunk" if stream else "once, after the prompt is prefilled"),
            "prompt": ("prefilled whole; the first continuation token read from its logits before compression (LaCache's protocol)"
                       if full_first else "all but its last token prefilled and compressed; the last token and every "
                       "continuation token then read the compressed cache"),
            "multiple_choice": "the shared context is prefilled once; each continuation is scored on its own copy of the cache",
            "generation": "greedy, lm-eval's stop sequences and max_gen_toks; sampling tasks are refused",
            "budget": f"fraction of the prompt tokens if < 1, else tokens; unset: {DEFAULT_BUDGET} of them; shorter prompts are kept whole",
            "metrics": "lm-eval's filters, process_results and aggregation; stderr: lm-eval's closed form for means, a "
                       f"{BOOTSTRAP_RESAMPLES}-draw bootstrap over documents otherwise (lm-eval draws 100,000)",
            "fewshot": f"num_fewshot={self.options.num_fewshot if self.options.num_fewshot is not None else 'task default'}, "
                       f"seed {self.options.fewshot_seed}",
        }

