"""The task contract: metadata (TaskSpec), samples, per-sample scoring and aggregation."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from harness.contracts.display import DisplaySpec
from harness.contracts.options import NoOptions, parse_options
from harness.contracts.record import KVCacheMemory, LatencyStats, MetricValue, Throughput
from harness.errors import HarnessError
from harness.statistics.intervals import bootstrap_ci95, mean_stderr
from harness.statistics.resampling import UnitStatistic

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.method import Method
    from harness.contracts.runtime import Runtime


class MetricSpec(BaseModel):
    """A metric a task reports, and which direction is better."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    higher_is_better: bool
    description: str = ""
    binary: bool = False  # per-sample values are 0/1 (paired comparisons then add McNemar's test)


class SplitSpec(BaseModel):
    """A data split: `offline` is always generated from a seed; real splits name their source."""

    model_config = ConfigDict(frozen=True)
    name: str
    source: str
    revision_or_sha256: str | None = None
    description: str = ""


class TaskSpec(BaseModel):
    """What a task is (MTEB-style metadata): its hash is the identity every record of it carries. How the site shows
    the task is its `DisplaySpec`, apart."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    family: str
    version: str
    paper: str
    description: str
    splits: tuple[SplitSpec, ...]
    metrics: tuple[MetricSpec, ...]
    main_metric: str
    requires: str  # the method protocol a method must implement to run this task
    uses_model: bool = False  # True when the cell loads a base model (--model)
    # earlier spec hashes whose records still describe this task (hash: what changed, none of it in the results), so
    # a change of wording or of a new field's default does not make them stale; kept out of the hash itself
    equivalent_specs: dict[str, str] = {}

    @model_validator(mode="after")
    def _consistent(self) -> "TaskSpec":
        names = [m.name for m in self.metrics]
        if self.main_metric not in names:
            raise ValueError(f"main_metric {self.main_metric!r} is not among the metrics {names}")
        if "offline" not in [s.name for s in self.splits]:
            raise ValueError("every task needs an 'offline' split")
        return self

    def metric(self, name: str) -> MetricSpec:
        return next(m for m in self.metrics if m.name == name)

    def split(self, name: str) -> SplitSpec:
        for s in self.splits:
            if s.name == name:
                return s
        raise HarnessError(f"task {self.name!r} has no split {name!r}: use one of {', '.join(s.name for s in self.splits)}")

    def spec_hash(self) -> str:
        """Hash of what defines the task's results (the earlier hashes declared equivalent are left out)."""
        dumped = self.model_dump(mode="json", exclude={"equivalent_specs"})
        return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()


@dataclass
class Sample:
    """One evaluation item: the method sees `inputs`, the scorer also sees `target`."""

    id: str
    inputs: dict[str, Any]
    target: Any
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Measured:
    """What a task's measurement pass returns (memory peaks are read by the cell itself)."""

    latency: dict[str, LatencyStats]
    kv_cache: KVCacheMemory | None = None
    throughput: Throughput | None = None
    parameter_bytes: int | None = None


def metric_value(values: list[float], higher_is_better: bool, seed: int) -> MetricValue:
    """The mean of per-sample values with its standard error and a bootstrap 95% interval."""
    mean, stderr = mean_stderr(values)
    return MetricValue(value=mean, stderr=stderr, ci95=bootstrap_ci95(values, seed), n=len(values),
                       higher_is_better=higher_is_better)


class Task(ABC):
    """A benchmark task. Subclasses set `spec` (and `Options` for user-settable knobs); an instance may refine its
    spec (metrics that depend on the options), which every record of it then carries.

    `display` is how the site shows the task. `reference_method()` is the method each run is paired with when its
    record is written (pair by pair on shared sample ids, when the reference's record is on the same board): the
    display's reference when it is the uncompressed `full` method; the site compares every board with its
    reference whatever its kind.
    """

    spec: ClassVar[TaskSpec]
    display: ClassVar[DisplaySpec] = DisplaySpec()
    Options: ClassVar[type[BaseModel]] = NoOptions
    default_plan: ClassVar[bool] = True  # False: runs only when asked for by name (--task)

    def __init__(self, options: dict[str, Any] | None = None):
        self.options = parse_options(self.Options, options or {}, f"task {self.spec.name}")

    @classmethod
    def reference_method(cls) -> str | None:
        reference = cls.display.reference
        return reference.method if reference is not None and reference.kind == "full" else None

    @abstractmethod
    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        """The evaluation samples of `split`, deterministic for a given seed."""

    def check(self, method: "Method", runtime: "Runtime", samples: list[Sample]) -> None:
        """Raise HarnessError if this method/configuration cannot run these samples."""

    @abstractmethod
    def predict(self, sample: Sample, method: "Method", runtime: "Runtime") -> dict[str, Any]:
        """Run the method on one sample; the returned output must be JSON-serialisable."""

    @abstractmethod
    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        """Per-sample metric values from a saved output (so results can be re-scored)."""

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """Mean of each metric with its standard error and a bootstrap 95% interval.

        `metas` are the samples' meta dicts, aligned with `rows`, for metrics that group samples (e.g. per domain).
        """
        result = {}
        for spec in self.spec.metrics:
            values = [r[spec.name] for r in rows if spec.name in r]
            if values:
                result[spec.name] = metric_value(values, spec.higher_is_better, seed)
        return result

    def score_rows(self, log_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What `aggregate` and `breakdowns` read of each samples-log row: its scores by default. A task whose
        aggregate needs more of the output (e.g. a ranked list's scores) adds it here, so the log stores it once."""
        return [r["scores"] for r in log_rows]

    def metrics_of(self, log_rows: list[dict[str, Any]], seed: int) -> dict[str, MetricValue]:
        """Aggregate rows as the samples log stores them ({"scores": ..., "meta": ...})."""
        return self.aggregate(self.score_rows(log_rows), [r.get("meta", {}) for r in log_rows], seed)

    def pair_statistic(self, metric: str) -> tuple[str, Callable[[np.ndarray], np.ndarray]] | None:
        """How a paired comparison computes `metric`: the per-sample column and a statistic over axis 1 of
        [resamples, samples]; the mean of the metric's own column by default, None where it cannot be paired.
        Applied to one sample alone ([n, 1]) the statistic must rank samples as the metric does (wins and losses)."""
        return metric, lambda values: values.mean(axis=1)

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """`metric` over samples-log rows ({"id", "output", "scores", "meta"}) as a UnitStatistic (each row's
        resampling unit, the metric under row weights), for metrics `pair_statistic` cannot pair (AUROC, μAP, a
        mean over a subset of the rows): the site then pairs them by a bootstrap over shared units. None by default."""
        return None

    @classmethod
    def expand(cls, options: dict[str, Any]) -> list[dict[str, Any]]:
        """The option sets of the cells one run of this task makes (one record each); the options themselves by default."""
        return [options]

    @classmethod
    def conformance(cls, method_cls: type["Method"], params: dict[str, Any], runtime: "Runtime") -> list[str]:
        """The protocol's own checks of a method (budgets, leading tokens, refusals; `harness.testing.check_method`
        runs each task's once), one line per check passed; an AssertionError names the first that fails. None by
        default: the generic checks (a deterministic run on a few samples) apply to every method."""
        return []

    @classmethod
    def accepts(cls, method_cls: type["Method"]) -> str | None:
        """Why this task cannot run a method of the right protocol (one line), or None when it can."""
        return None

    def applied(self, log_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        """What the method actually applied on these samples, from their outputs (recorded as method.applied)."""
        return None

    def prepare(self, method: "Method", runtime: "Runtime") -> None:
        """Before `fit` and any sample: build what the run needs (training data, preprocessed inputs) and refuse a
        configuration that cannot run. Not timed. Nothing by default."""

    def fit(self, method: "Method", runtime: "Runtime") -> None:
        """Train the method on data disjoint from the split's samples. The cell times it: a task that overrides
        `fit` records its duration as latency `fit`. Nothing by default."""

    @classmethod
    def fits(cls) -> bool:
        """Whether the method is trained (`fit` overridden), so the cell records the fit's time."""
        return cls.fit is not Task.fit

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """Metric tables by sample attributes (e.g. depth x length), for heatmaps. None by default."""
        return {}

    @abstractmethod
    def measure(self, method: "Method", runtime: "Runtime", samples: list[Sample], meter: "Meter") -> Measured:
        """The measurement pass: warm-ups, then repeats whose raw timings are kept."""

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        """Where the split's data comes from, and its pinned revision or sha256."""
        spec = self.spec.split(split)
        return spec.source, spec.revision_or_sha256

    def protocol(self) -> dict[str, Any]:
        """How methods are run on this task (recorded with every result)."""
        return {}

    def options_dict(self) -> dict[str, Any]:
        return self.options.model_dump(mode="json")
