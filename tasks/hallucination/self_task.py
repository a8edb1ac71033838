"""Reasoning hallucination on the model's own reasoning: it answers checkable problems step by step, greedy, and a
trace is hallucinated when its final answer is wrong. Detectors score those traces; AUROC against surface floors."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

import tasks
from harness.contracts.causal_lm import LoadedModel, cache_root
from harness.contracts.record import MetricValue, Throughput
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec, metric_value
from harness.errors import HarnessError
from harness.statistics.resampling import UnitStatistic
from tasks.hallucination.detector import TraceDetector, TraceScore
from tasks.hallucination.metrics import auroc, auroc_unit_statistic
from tasks.hallucination.problems import split_of
from tasks.hallucination.self_answers import parse_answer
from tasks.hallucination.self_generate import SHIPPED_PER_DOMAIN, GenerationSettings, prompt_text
from tasks.hallucination.self_problems import SELF_DOMAINS, SelfProblem, build_self_problems
from tasks.hallucination.self_traces import TraceSource, model_traces
from tasks.hallucination.surface import CUES, cue_scores, floor_metrics
from tasks.hallucination.traces import LabelledTrace, Trace, encode

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.runtime import Runtime

TIMED_TRACES = 4
OFFLINE = SplitSpec(name="offline", source="generated problems (seeded); traces written by the run's own model, greedy "
                                           "(shipped for the embedded model, else generated and cached)",
                    description="one trace per problem, label 1 when its final answer is wrong or unparsable")


class SelfOptions(BaseModel):
    """Task options for reasoning_hallucination_self (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    per_domain: int = Field(SHIPPED_PER_DOMAIN, ge=1, description="problems per domain (the shipped file covers the default)")
    domains: list[str] = Field(list(SELF_DOMAINS), description="problem domains")
    fit_share: float = Field(0.3, gt=0, lt=1, description="share of problems in the fit split (the rest are tested)")
    max_new_tokens: int = Field(GenerationSettings().max_new_tokens, ge=8, le=1024,
                                description="generation budget per trace (another value than the default regenerates)")

    @field_validator("domains")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SELF_DOMAINS))
        if unknown or not value:
            raise ValueError(f"unknown or no domains {unknown}; choose from {list(SELF_DOMAINS)}")
        return value


def portable_path(path: str) -> str:
    """A trace file as every machine names it: inside the package, or inside the harness cache."""
    found = Path(path).resolve()
    for root, shown in ((Path(tasks.__file__).resolve().parent.parent, ""), (cache_root().resolve(), "<harness cache>/")):
        if found.is_relative_to(root):
            return shown + found.relative_to(root).as_posix()
    return found.name


def self_trace(row: dict[str, Any], tokenizer: Any, settings: GenerationSettings) -> Trace:
    """A generated row as the detectors see it: the completion's lines as steps, after the prompt it answered."""
    steps = tuple(line.strip() for line in row["completion"].splitlines() if line.strip()) or ("",)
    return Trace(id=row["id"], domain=row["domain"], question=row["question"], steps=steps,
                 prompt=prompt_text(tokenizer, row["question"], row["domain"], settings))


def trace_label(completion: str, answer: str, candidates: list[str]) -> tuple[int, str | None]:
    """1 (hallucinated) when the parsed final answer is not the gold one, unparsable included; and the parsed answer."""
    parsed = parse_answer(completion, candidates)
    return int(parsed != answer), parsed


class SelfReasoningHallucination(Task):
    """Is the model's own reasoning wrong? Detectors score its greedy step-by-step answers; AUROC and surface floors."""

    Options = SelfOptions
    default_plan = False  # run by name (--task reasoning_hallucination_self): a new model generates its traces first
    spec = TaskSpec(
        name="reasoning_hallucination_self", family="hallucination", version="1",
        paper="https://arxiv.org/abs/2505.12886",
        description="Detect the model's own reasoning hallucinations: it writes step-by-step answers to checkable "
                    "problems, a trace is hallucinated when its final answer is wrong; AUROC overall and per domain, "
                    "beside the AUROC of surface cues (length, steps, truncation, unparsable) as the floor.",
        splits=(OFFLINE,),
        metrics=(
            MetricSpec(name="auroc", higher_is_better=True,
                       description="AUROC of trace scores, hallucinated (wrong answer) = positive; interval: traces "
                                   "(= problems) resampled"),
            *(MetricSpec(name=f"auroc_{d}", higher_is_better=True, description=f"AUROC on the {d} domain")
              for d in SELF_DOMAINS),
            MetricSpec(name="auroc_answered", higher_is_better=True,
                       description="AUROC on traces with a parsed answer that did not hit max_new_tokens"),
            *(MetricSpec(name=f"floor_{c}", higher_is_better=True,
                         description=f"AUROC of the surface cue '{c}' (higher = hallucinated), the same for every detector")
              for c in CUES),
            MetricSpec(name="floor_best", higher_is_better=True, description="the best surface cue's AUROC"),
            MetricSpec(name="margin", higher_is_better=True,
                       description="auroc minus floor_best (paired bootstrap): above 0 with its interval = beats the floor"),
            MetricSpec(name="solve_rate", higher_is_better=True, description="share of traces whose answer is right"),
            MetricSpec(name="unparsable_rate", higher_is_better=False,
                       description="share of traces without a readable final answer (counted wrong)"),
        ),
        main_metric="auroc", requires="trace_detector", uses_model=True,
    )
    display = DisplaySpec(reference=ReferenceSpec(method="perplexity", kind="floor"), chance={"auroc": 0.5})

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self.settings = GenerationSettings(max_new_tokens=self.options.max_new_tokens)
        self._source = TraceSource(rows={})

    def _problems(self, seed: int) -> list[tuple[SelfProblem, str]]:
        """Every problem with its part, 'fit' or 'test' (a seeded hash of its id)."""
        o = self.options
        return [(p, split_of(p.id, o.fit_share, seed)) for p in build_self_problems(o.per_domain, seed, o.domains)]

    def _traces_of(self, lm: LoadedModel, problems: list[SelfProblem]) -> dict[str, dict[str, Any]]:
        """The run's model's rows for these problems, resolved once per problem (shipped file, cache or generated)."""
        missing = [p for p in problems if p.id not in self._source.rows]
        if missing:
            found = model_traces(lm, missing, self.settings, self._source.fingerprint or None)
            self._source.rows.update(found.rows)
            self._source.fingerprint = found.fingerprint
            for key, count in found.counts.items():
                self._source.counts[key] = self._source.counts.get(key, 0) + count
            self._source.files.update(found.files)
        return {p.id: self._source.rows[p.id] for p in problems}

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        self.spec.split(split)
        found = [Sample(id=p.id, inputs={"problem": p}, target={"answer": p.answer, "candidates": list(p.candidates)},
                        meta={"domain": p.domain}) for p, part in self._problems(seed) if part == "test"]
        return found[:limit] if limit else found

    def check(self, method: TraceDetector, runtime: Runtime, samples: list[Sample]) -> None:
        """Resolve the model's traces of the test problems (generating them if needed); AUROC needs both labels."""
        method.check(runtime.llm)
        rows = self._traces_of(runtime.llm, [s.inputs["problem"] for s in samples])
        labels = {trace_label(rows[s.id]["completion"], s.target["answer"], s.target["candidates"])[0] for s in samples}
        if labels != {0, 1}:
            state = "right" if labels == {0} else "wrong"
            raise HarnessError(f"the model's answers to these {len(samples)} test problems are all {state}: AUROC needs "
                               "both; raise --limit or --task-arg per_domain, or use another model")

    def prepare(self, method: TraceDetector, runtime: Runtime) -> None:
        """Fit a learning detector on the fit problems' traces (never a test problem's)."""
        if type(method).fit is TraceDetector.fit:
            return
        lm = runtime.llm
        problems = [p for p, part in self._problems(runtime.seed) if part == "fit"]
        rows = self._traces_of(lm, problems)
        fit = [LabelledTrace(self_trace(rows[p.id], lm.tokenizer, self.settings),
                             trace_label(rows[p.id]["completion"], p.answer, list(p.candidates))[0], None, p.id)
               for p in problems]
        method.fit(lm, fit)

    def predict(self, sample: Sample, method: TraceDetector, runtime: Runtime) -> dict[str, Any]:
        lm = runtime.llm
        row = self._traces_of(lm, [sample.inputs["problem"]])[sample.id]
        start = time.perf_counter()
        verdict: TraceScore = method.score(lm, self_trace(row, lm.tokenizer, self.settings))
        return {"score": verdict.score, "seconds": time.perf_counter() - start, "completion": row["completion"],
                "new_tokens": row["new_tokens"], "hit_max": row["hit_max"]}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        """The label from the saved completion (so a record re-scores without the model) and the surface cues."""
        label, parsed = trace_label(output["completion"], sample.target["answer"], sample.target["candidates"])
        steps = sum(1 for line in output["completion"].splitlines() if line.strip()) or 1
        return {"label": float(label), "score": float(output["score"]),
                **cue_scores(output["new_tokens"], steps, output["hit_max"], parsed)}

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """AUROC (overall or per domain) under trace weights, for the site's paired comparison."""
        return auroc_unit_statistic(metric, log_rows)

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """AUROC overall, per domain and on answered traces; the surface floors and the margin over the best; the solve
        and unparsable rates. One trace per problem, so every interval resamples traces."""
        labels = np.array([r["label"] for r in rows])
        scores = np.array([r["score"] for r in rows])
        result: dict[str, MetricValue] = {}
        parts = {"auroc": np.ones(len(rows), bool),
                 "auroc_answered": np.array([r["cue_unparsable"] == 0 and r["cue_truncated"] == 0 for r in rows], bool)}
        for domain in SELF_DOMAINS:
            parts[f"auroc_{domain}"] = np.array([m.get("domain") == domain for m in metas], bool)
        for name, keep in parts.items():
            if keep.any() and (found := auroc(labels[keep], scores[keep], seed)) is not None:
                result[name] = found
        result.update(floor_metrics(labels, scores, {c: [r[f"cue_{c}"] for r in rows] for c in CUES}, seed))
        if rows:
            result["solve_rate"] = metric_value((1 - labels).tolist(), True, seed)
            result["unparsable_rate"] = metric_value([r["cue_unparsable"] for r in rows], False, seed)
        return result

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """Per domain: traces, solve rate, unparsable share, AUROC with its interval and the best surface cue."""
        table = []
        for domain in sorted({s.meta["domain"] for s in samples}):
            mine = [r for s, r in zip(samples, rows) if s.meta["domain"] == domain]
            entry: dict[str, Any] = {"domain": domain, "n": len(mine),
                                     "solve_rate": float(np.mean([1 - r["label"] for r in mine])),
                                     "unparsable_rate": float(np.mean([r["cue_unparsable"] for r in mine]))}
            metrics = self.aggregate(mine, [{"domain": domain}] * len(mine))
            if "auroc" in metrics:
                entry.update(auroc=metrics["auroc"].value, auroc_low=metrics["auroc"].ci95[0],
                             auroc_high=metrics["auroc"].ci95[1], floor_best=metrics["floor_best"].value)
            table.append(entry)
        return {"by_domain": table}

    def measure(self, method: TraceDetector, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Scoring time per trace: the first traces, after warm-ups, scored `repeats` times (generation not timed)."""
        lm = runtime.llm
        rows = self._traces_of(lm, [s.inputs["problem"] for s in samples[:TIMED_TRACES]])
        traces = [self_trace(row, lm.tokenizer, self.settings) for row in rows.values()]
        times = meter.time_each(lambda trace: method.score(lm, trace), traces)
        tokens = int(np.median([encode(lm.tokenizer, t).input_ids.shape[1] for t in traces]))
        return Measured(latency={"score_trace": meter.latency(times, context_tokens=tokens)},
                        throughput=Throughput(unit="traces_per_s", value=float(1 / np.median(times))))

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        """Which trace files the run read: the shipped file is pinned by its sha256."""
        files = self._source.files
        if not files:
            return super().dataset_source(split)
        described = "; ".join(f"{self._source.counts.get(k, 0)} {k}" + (f" ({Path(v).name})" if v else "")
                              for k, v in sorted(files.items()))
        pinned = None
        if set(files) == {"shipped"}:
            pinned = hashlib.sha256(Path(files["shipped"]).read_bytes()).hexdigest()
        return f"self-generated traces: {described}", pinned

    def protocol(self) -> dict[str, Any]:
        s = self.settings
        return {
            "generation": f"the run's model answers each problem once, {s.decoding} decoding, at most {s.max_new_tokens} "
                          "new tokens, its chat template: the domain's worked example as an earlier turn, then instruction + question; seed "
                          f"{s.seed}; instruction: {s.instruction!r}",
            "traces": {"source_counts": dict(self._source.counts),
                       "files": {k: portable_path(v) for k, v in self._source.files.items()},
                       "model_fingerprint": self._source.fingerprint},
            "teacher_forcing": "detectors read the completion after the exact prompt it answered (chat template), "
                               "one step per non-empty line",
            "label": "1 = hallucinated: the final answer (tasks/hallucination/self_answers.py: the last 'Answer:' or "
                     "'The answer is' line; first integer, or first of the question's names) is wrong or unparsable",
            "splits": f"problems go to fit or test by a seeded hash of their id (fit share {self.options.fit_share}); "
                      "learning detectors are fitted on the fit split only",
            "auroc": "scikit-learn roc_auc_score; 95% interval from 1000 bootstrap resamples of the test traces "
                     "(one per problem)",
            "floors": "AUROC of surface cues (new tokens, steps, hit max_new_tokens, unparsable; higher = hallucinated) "
                      "on the same traces; margin = auroc - best cue, from the same resamples",
        }
