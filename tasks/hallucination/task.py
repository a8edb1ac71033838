"""Reasoning-hallucination detection: AUROC of a detector's trace scores, per domain and overall."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.metrics import roc_auc_score

from harness.contracts.record import MetricValue, Throughput
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec
from harness.errors import HarnessError
from harness.statistics.resampling import UnitStatistic
from tasks.hallucination.detector import TraceDetector, TraceScore
from tasks.hallucination.local_data import read_traces
from tasks.hallucination.metrics import auroc, auroc_unit_statistic, pair_win_rate
from tasks.hallucination.problems import DOMAINS, Problem, build_problems, split_of
from tasks.hallucination.traces import LabelledTrace, Trace, encode

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.runtime import Runtime

TIMED_TRACES = 4
OFFLINE = SplitSpec(name="offline", source="generated: arithmetic, ordering and two-hop problems with corrupted twins, seeded",
                    description="each problem's correct trace (label 0) and its twin wrong from one step on (label 1)")
LOCAL = SplitSpec(name="local", source="labelled traces from a file or a dataset, read with datasets (--task-arg data_path=...)",
                  description="ReTruthQA-style records {domain, question, steps or trace, label}; pinned by sha256 or fingerprint")


class HallucinationOptions(BaseModel):
    """Task options for reasoning_hallucination (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    per_domain: int = Field(100, ge=2, description="offline problems per domain (each gives two traces)")
    domains: list[str] = Field(list(DOMAINS), description="offline domains")
    fit_share: float = Field(0.3, gt=0, lt=1, description="share of problems in the fit split (the rest are tested)")
    distractor_share: float = Field(0.3, ge=0, le=1, description="share of problems with an irrelevant sentence (GSM-NoOp style)")
    data_path: str | None = Field(None, description="split 'local': labelled traces (JSONL / CSV / parquet file, "
                                  "save_to_disk folder or a Hub id in the local cache)")
    data_split: str | None = Field(None, description="split 'local': the split of a dataset folder or Hub id")
    columns: dict[str, str] | None = Field(None, description="split 'local': record field -> source column")

    @field_validator("domains")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(DOMAINS))
        if unknown or not value:
            raise ValueError(f"unknown or no domains {unknown}; choose from {list(DOMAINS)}")
        return value


def twins(problem: Problem, seed: int) -> list[LabelledTrace]:
    """A problem's correct trace and corrupted twin; their ids (suffix a/b) are shuffled so they hide the label."""
    suffixes = ["a", "b"]
    random.Random(f"twin:{seed}:{problem.id}").shuffle(suffixes)
    make = lambda suffix, steps: Trace(id=f"{problem.id}-{suffix}", domain=problem.domain, question=problem.question,
                                       steps=tuple(steps))
    distractor = bool(problem.meta["distractor"])
    return [LabelledTrace(make(suffixes[0], problem.steps), 0, None, problem.id, distractor),
            LabelledTrace(make(suffixes[1], problem.corrupted_steps), 1, problem.wrong_step, problem.id, distractor)]


def step_localisation(step_scores: list[float], wrong_step: int) -> dict[str, float]:
    """Within one trace: AUROC of the wrong step against the other steps, and whether it scores highest (ties share)."""
    scores = np.asarray(step_scores, dtype=float)
    labels = np.zeros(len(scores))
    labels[wrong_step] = 1
    top = np.flatnonzero(scores == scores.max())
    return {"step_auroc": float(roc_auc_score(labels, scores)),
            "step_top1": float(wrong_step in top) / len(top)}


class ReasoningHallucination(Task):
    """Is this reasoning trace hallucinated? Detectors score teacher-forced traces; AUROC per domain and overall."""

    Options = HallucinationOptions
    _pinned: str | None = None  # what the local split read (file sha256 or dataset fingerprint)
    spec = TaskSpec(
        name="reasoning_hallucination", family="hallucination", version="2",
        paper="https://arxiv.org/abs/2505.12886",
        description="Detect corrupted reasoning traces (an error carried through the later steps) from the model's "
                    "internals; AUROC overall and per domain, and how well step scores locate the wrong step.",
        splits=(OFFLINE, LOCAL),
        metrics=(
            MetricSpec(name="auroc", higher_is_better=True,
                       description="AUROC of trace scores, hallucinated = positive (interval: problems resampled)"),
            *(MetricSpec(name=f"auroc_{d}", higher_is_better=True, description=f"AUROC on the {d} domain") for d in DOMAINS),
            MetricSpec(name="pair_win", higher_is_better=True,
                       description="within-pair win rate: share of problems whose hallucinated twin scores above its "
                                   "sound twin (ties half; interval: pairs resampled)"),
            *(MetricSpec(name=f"pair_win_{d}", higher_is_better=True, description=f"within-pair win rate on the {d} domain")
              for d in DOMAINS),
            MetricSpec(name="step_auroc", higher_is_better=True,
                       description="within each hallucinated trace, AUROC of the wrong step against the other steps (mean)"),
            MetricSpec(name="step_top1", higher_is_better=True,
                       description="share of hallucinated traces whose highest-scored step is the wrong one"),
        ),
        main_metric="auroc", requires="trace_detector", uses_model=True,
    )
    display = DisplaySpec(reference=ReferenceSpec(method="perplexity", kind="floor"), chance={"auroc": 0.5})

    def _labelled(self, split: str, seed: int) -> list[tuple[LabelledTrace, str]]:
        """Every labelled trace of the split with its part, 'fit' or 'test'."""
        self.spec.split(split)
        o = self.options
        if split == LOCAL.name:
            traces, self._pinned = read_traces(o.data_path, o.columns, o.data_split)
            return [(t, part or split_of(t.group, o.fit_share, seed)) for t, part in traces]
        problems = [p for p in build_problems(o.per_domain, seed, o.distractor_share) if p.domain in o.domains]
        order = sorted(problems, key=lambda p: (int(p.id.rsplit("-", 1)[1]), p.domain))  # domains interleaved
        return [(t, split_of(p.id, o.fit_share, seed)) for p in order for t in twins(p, seed)]

    def fit_traces(self, split: str, seed: int) -> list[LabelledTrace]:
        return [t for t, part in self._labelled(split, seed) if part == "fit"]

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        found = []
        for labelled, part in self._labelled(split, seed):
            if part != "test":
                continue
            t = labelled.trace
            meta = {"domain": t.domain, "label": labelled.label, "group": labelled.group, "steps": len(t.steps)}
            if labelled.wrong_step is not None:
                meta["wrong_step"] = labelled.wrong_step
            if labelled.distractor is not None:
                meta["distractor"] = labelled.distractor
            found.append(Sample(id=t.id, inputs={"trace": t}, target={"label": labelled.label, "wrong_step": labelled.wrong_step},
                                meta=meta))
        return found[:limit] if limit else found

    def check(self, method: TraceDetector, runtime: Runtime, samples: list[Sample]) -> None:
        labels = {s.target["label"] for s in samples}
        if labels != {0, 1}:
            raise HarnessError(f"the test traces carry only label {sorted(labels)}: AUROC needs both; raise --limit or fix the data")
        method.check(runtime.llm)

    def prepare(self, method: TraceDetector, runtime: Runtime) -> None:
        """Fit the detector on the fit split only; a group never has traces on both sides."""
        labelled = self._labelled(runtime.split, runtime.seed)
        fit = [t for t, part in labelled if part == "fit"]
        tested = {t.group for t, part in labelled if part == "test"}
        leaked = sorted({t.group for t in fit} & tested)
        if leaked:
            raise HarnessError(f"group {leaked[0]!r} has traces in both the fit and the test split: give each group one split")
        method.fit(runtime.llm, fit)

    def predict(self, sample: Sample, method: TraceDetector, runtime: Runtime) -> dict[str, Any]:
        start = time.perf_counter()
        verdict: TraceScore = method.score(runtime.llm, sample.inputs["trace"])
        return {"score": verdict.score, "step_scores": verdict.step_scores, "seconds": time.perf_counter() - start}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        scores = {"label": float(sample.target["label"]), "score": float(output["score"])}
        wrong, steps = sample.target["wrong_step"], output.get("step_scores")
        if wrong is not None and steps and len(steps) > 1:
            scores.update(step_localisation(steps, wrong))
        return scores

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """AUROC and the within-pair win rate overall and per offline domain, both with intervals that resample
        problems (both twins together); step metrics are means over hallucinated traces (one per problem)."""
        result = super().aggregate(rows, metas, seed)
        groups: dict[str, list[int]] = {"": list(range(len(rows)))}
        for i, meta in enumerate(metas):
            groups.setdefault(f"_{meta.get('domain')}", []).append(i)
        names = {m.name for m in self.spec.metrics}
        for suffix, members in groups.items():
            labels = [rows[i]["label"] for i in members]
            scores = [rows[i]["score"] for i in members]
            problem = [str(metas[i].get("group", i)) for i in members]
            for name, value in ((f"auroc{suffix}", lambda: auroc(labels, scores, seed, problem)),
                                (f"pair_win{suffix}", lambda: pair_win_rate(labels, scores, problem, seed))):
                if name in names and (found := value()) is not None:
                    result[name] = found
        return result

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """AUROC (overall or auroc_<domain>) under problem weights: a problem's twins are drawn together."""
        return auroc_unit_statistic(metric, log_rows)

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """AUROC by domain (any domain, also a local file's), and by domain x distractor where known."""
        tables = {"by_domain": _auroc_table(samples, rows, ("domain",))}
        if all("distractor" in s.meta for s in samples):
            tables["by_domain_distractor"] = _auroc_table(samples, rows, ("domain", "distractor"))
        return tables

    def measure(self, method: TraceDetector, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Scoring time per trace: the first traces, after warm-ups, scored `repeats` times."""
        traces = [s.inputs["trace"] for s in samples[:TIMED_TRACES]]
        times = meter.time_each(lambda trace: method.score(runtime.llm, trace), traces)
        tokens = int(np.median([encode(runtime.llm.tokenizer, t).input_ids.shape[1] for t in traces]))
        return Measured(latency={"score_trace": meter.latency(times, context_tokens=tokens)},
                        throughput=Throughput(unit="traces_per_s", value=float(1 / np.median(times))))

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split == LOCAL.name:
            if self._pinned is None:
                self._pinned = read_traces(self.options.data_path, self.options.columns, self.options.data_split)[1]
            return str(self.options.data_path), self._pinned
        return super().dataset_source(split)

    def protocol(self) -> dict[str, Any]:
        return {
            "teacher_forcing": "question and steps go through the base model in one forward pass (prompt "
                               "'Question: ...\\nReasoning:\\n', one line per step); detectors read its internals",
            "label": "1 = hallucinated (the corrupted twin, wrong from one step on, the error carried to the answer)",
            "splits": f"problems go to fit or test by a seeded hash of their id (fit share {self.options.fit_share}); "
                      "both twins of a problem share a split; detectors are fitted on the fit split only",
            "auroc": "scikit-learn roc_auc_score; 95% interval from 1000 bootstrap resamples of the test problems "
                     "(both twins of a drawn problem enter together)",
            "pair_win": "per problem, 1 if the corrupted twin scores above the sound one, 0.5 on a tie; mean over "
                        "problems, 95% interval from 1000 bootstrap resamples of the pairs",
            "step_metrics": "on hallucinated traces with a known wrong step, from the detector's per-step scores",
        }


def _auroc_table(samples: list[Sample], rows: list[dict[str, float]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    cells: dict[tuple[Any, ...], list[tuple[dict[str, float], Sample]]] = {}
    for sample, row in zip(samples, rows):
        cells.setdefault(tuple(sample.meta[k] for k in keys), []).append((row, sample))
    table = []
    for key, group in sorted(cells.items()):
        entry: dict[str, Any] = dict(zip(keys, key))
        entry["n"] = len(group)
        labels, scores = [r["label"] for r, _ in group], [r["score"] for r, _ in group]
        problems = [str(s.meta.get("group", s.id)) for _, s in group]
        value = auroc(labels, scores, groups=problems)
        if value is not None:
            entry.update(auroc=value.value, auroc_low=value.ci95[0], auroc_high=value.ci95[1])
        paired = pair_win_rate(labels, scores, problems)
        if paired is not None:
            entry.update(pair_win=paired.value, pair_win_low=paired.ci95[0], pair_win_high=paired.ci95[1])
        located = [r["step_auroc"] for r, _ in group if "step_auroc" in r]
        if located:
            entry["step_auroc"] = float(np.mean(located))
        table.append(entry)
    return table
