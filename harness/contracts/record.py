"""The result record: one JSON file per cell (task x method x model x hardware), validated by pydantic."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1
Status = Literal["complete", "partial", "failed", "oom"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HarnessInfo(_Strict):
    version: str
    git_sha: str | None = None
    dirty: bool | None = None


class DatasetInfo(_Strict):
    source: str
    revision_or_sha256: str | None = None
    n_total: int
    n_evaluated: int


class TaskInfo(_Strict):
    name: str
    version: str
    family: str
    split: str
    spec_hash: str
    options: dict[str, Any] = Field(default_factory=dict)
    protocol: dict[str, Any] = Field(default_factory=dict, description="how the method was run on the task, in words")
    dataset: DatasetInfo | None = None


class BaseModelInfo(_Strict):
    id: str
    revision: str | None = None
    dtype: str


class Provider(_Strict):
    """The installed distribution that provides a plugin method (built-in methods have none: harness's git sha covers
    them): its name and version and, where pip recorded one (a VCS install) or the install is an editable git
    checkout, the commit."""

    distribution: str
    version: str
    commit: str | None = Field(None, description="the VCS commit it was installed from, or an editable checkout's HEAD")
    dirty: bool | None = Field(None, description="an editable checkout had uncommitted changes to tracked files")
    source: str | None = Field(None, description="the VCS URL it was installed from (credentials removed); never a local path")


class MethodInfo(_Strict):
    name: str
    version: str
    family: str
    params: dict[str, Any] = Field(default_factory=dict)
    base_model: BaseModelInfo | None = None
    fitted: dict[str, Any] | None = Field(None, description="what the method learned before the samples ran (e.g. a detector's weights)")
    applied: dict[str, Any] | None = Field(None, description="what the method actually applied on these samples, as the task "
                                           "reports it (e.g. budgets in tokens, leading tokens raised to the protected prefix)")
    provider: Provider | None = Field(None, description="the plugin distribution that provided the method (None: built in)")


class RunConfig(_Strict):
    seed: int
    limit: int | None = None
    sample_ids: list[str] | None = Field(None, description="only these samples of the split ran (a `harness verify` re-run)")
    batch_size: int = 1
    device: str
    warmups: int
    repeats: int
    command: str = Field(description="as written by the run; shown nowhere: `harness show` and the site rebuild the command "
                                     "from this record's configuration")


class MetricValue(_Strict):
    value: float
    stderr: float | None = None
    ci95: tuple[float, float] | None = None
    n: int
    higher_is_better: bool


class LatencyStats(_Strict):
    unit: Literal["s"] = "s"
    timer: Literal["cuda_events", "perf_counter"]
    warmups: int
    repeats: int
    context_tokens: int | None = None
    p50: float
    p90: float
    p99: float
    mean: float
    std: float
    median: float
    mad: float
    min: float
    max: float
    raw: list[float]
    unstable: bool = Field(description="pyperf's stability checks warn (std >= 10% of the mean, min or max >= 50% from it, a value under 1 ms)")


class Throughput(_Strict):
    unit: str
    value: float


class KVCacheMemory(_Strict):
    peak_bytes: int = Field(description="measured: bytes held by the cache tensors' storages at their largest")
    decode_bytes: int = Field(description="measured: bytes held at their largest while answering (after compression)")
    peak_tokens: int
    analytical_peak_bytes: int = Field(description="analytical: tokens the policy allows x bytes per token")


class Memory(_Strict):
    peak_bytes: int
    kind: Literal["measured", "analytical"] = "measured"
    scope: Literal["process_peak_rss", "cuda_max_memory_allocated"]
    reserved_bytes: int | None = None
    device: str
    kv_cache: KVCacheMemory | None = None
    parameter_bytes: int | None = Field(None, description="the method's learned parameters (fp32 bytes), for trained methods")


class Performance(_Strict):
    latency: dict[str, LatencyStats] = Field(default_factory=dict)
    throughput: Throughput | None = None
    memory: Memory | None = None


class Artifacts(_Strict):
    samples: str
    sha256: str


class PairedMetric(_Strict):
    difference: float = Field(description="this run minus the reference, on the shared sample ids")
    ci95: tuple[float, float] | None = Field(None, description="paired bootstrap over the shared sample ids")
    n: int
    wins: int = Field(description="samples where this run scores better than the reference")
    losses: int
    ties: int
    higher_is_better: bool
    p_value: float | None = None
    test: str | None = Field(None, description="the test behind p_value (mcnemar_exact for 0/1 metrics)")


class Comparison(_Strict):
    """This run against a reference run of the same task on the same sample ids (e.g. a KV policy against `full`)."""

    reference: str = Field(description="the reference method")
    run_id: str
    record: str = Field(description="the reference record's path, relative to this record's folder")
    samples_sha256: str
    metrics: dict[str, PairedMetric] = Field(default_factory=dict)


class ResultRecord(_Strict):
    """One cell's result. `metrics` are flat names; latency scopes are named per family."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: datetime
    status: Status
    error: str | None = None
    harness: HarnessInfo
    task: TaskInfo
    method: MethodInfo
    config: RunConfig
    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    main_metric: str
    breakdowns: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    comparison: Comparison | None = None
    performance: Performance = Field(default_factory=Performance)
    environment: dict[str, Any]
    artifacts: Artifacts | None = None

    @field_validator("environment")
    @classmethod
    def _named_as_text(cls, environment: dict[str, Any]) -> dict[str, Any]:
        """The keys boards and paths are made of are text (the rest of the environment is free-form)."""
        for key in ("hardware_key", "device"):
            if key in environment and not isinstance(environment[key], str):
                raise ValueError(f"environment.{key} must be text, not {type(environment[key]).__name__}")
        return environment
