"""Image copy detection with unseen tamper patterns and in-context prompts (AnyPattern), scored as DISC21 is."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from harness.contracts.presets import PresetParams
from harness.contracts.record import MetricValue, Throughput
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import Measured, MetricSpec, Sample, SplitSpec, TaskSpec, metric_value
from harness.errors import HarnessError
from harness.statistics.resampling import UnitStatistic
from tasks.copy_detection.data import CopyData, TrainingSet, check_novel, offline_data, training_set
from tasks.copy_detection.descriptor import CopyDescriptor
from tasks.copy_detection.index import ReferenceIndex, describe_references
from tasks.copy_detection.metrics import Predictions, global_metrics, rank_of_match
from tasks.copy_detection.patterns import BASE, NOVEL
from tasks.image_task import ImageTask

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.runtime import Runtime

GROUPS = {"": None, "_base": "base", "_novel": "novel"}
POOL_PATTERNS = {"novel": "novel pattern (as AnyPattern's support set)", "all": "pattern, base and novel"}
OFFLINE = SplitSpec(name="offline", source="generated: crops of scikit-image / scikit-learn sample photos and procedural scenes, seeded",
                    description="references; queries tampered with base or held-out novel patterns, and distractors; a prompt pool")
LOCAL = SplitSpec(name="local", source="the AnyPattern test folders and a DISC21 ground-truth CSV (--task-arg data_dir=...)",
                  description="references, novel-pattern queries and the support (prompt) pairs; training stays offline")


class CopyDetectionOptions(PresetParams):
    """Task options for copy_detection (set with --task-arg KEY=VALUE). `preset=isc` (the default) matches as ISC's
    reference code does by default; `preset=anypattern` adds AnyPattern's score normalisation (match.sh: factor 2,
    the mean of each query's 10 best training scores)."""

    model_config = ConfigDict(extra="forbid")
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "isc": {}, "anypattern": {"score_norm_factor": 2.0, "score_norm_neighbors": 10}}
    preset: str = Field("isc", description="named option set: 'isc' (ISC's matching) or 'anypattern' (plus its score normalisation)")
    references: int = Field(2000, ge=10, description="offline: reference images")
    base_queries: int = Field(300, ge=0, description="offline: copies of references tampered with one base pattern")
    novel_queries: int = Field(300, ge=0, description="offline: copies tampered with one novel (held-out) pattern")
    distractor_queries: int = Field(600, ge=0, description="offline: tampered images that match no reference (half base, half novel)")
    prompts_per_pattern: int = Field(5, ge=0, description="offline: example pairs per pattern in the prompt pool")
    train_images: int = Field(1000, ge=8, description="training originals (disjoint from references, queries and prompts)")
    image_size: int = Field(96, ge=32, description="side of every image in pixels")
    novel_patterns: list[str] = Field(list(NOVEL), description="offline: the held-out patterns used for novel queries")
    matching: Literal["global", "knn"] = Field("global", description="'global': the best results_per_query x queries "
                                               "pairs of the whole list count (ISC's max_results, AnyPattern's matching); "
                                               "'knn': each query's top k")
    results_per_query: float = Field(10.0, gt=0, description="matching 'global': max_results = this x queries (ISC: "
                                     "500,000 for 50,000 queries)")
    candidates: int = Field(100, ge=1, le=1000, description="matching 'global': each query's best references listed "
                            "for the global cut")
    k: int = Field(10, ge=1, le=100, description="matching 'knn': predictions kept per query")
    score_norm_factor: float = Field(0.0, ge=0, description="ISC score normalisation: subtract this x the mean of the "
                                     "query's best training scores (0: off; AnyPattern: 2)")
    score_norm_neighbors: int = Field(10, ge=1, description="score normalisation: that many best training descriptors")
    prompt_patterns: Literal["novel", "all"] = Field("novel", description="offline: the prompt pool's patterns: novel "
                                                     "only (AnyPattern's support set) or base and novel")
    data_dir: str | None = Field(None, description="split 'local': the AnyPattern folder")
    reference_folder: str = "reference_images"
    query_folder: str = "query_k1_10_v2_test"
    support_folder: str = "query_k1_10_v2_support_select10"
    support_original_folder: str = "query_k1_10_v2_support_ori_select10"
    ground_truth: str = Field("ground_truth.csv", description="split 'local': CSV query_id,reference_id inside data_dir")

    @field_validator("novel_patterns")
    @classmethod
    def _novel(cls, value: list[str]) -> list[str]:
        return check_novel(value)


def top_predictions(scores: np.ndarray, ref_ids: list[str], k: int) -> list[list[Any]]:
    """The k best-scoring references of one query as [reference id, score] (exact kNN, stable order among ties).
    Scores are float32 (descriptor inner products) and logged as float32's shortest decimal, which keeps their
    order and ties exactly and halves the samples log (100 listed per query)."""
    scores = np.asarray(scores, dtype=np.float32)
    return [[ref_ids[i], float(str(scores[i]))] for i in np.argsort(-scores, kind="stable")[:k]]


def _metric_specs() -> tuple[MetricSpec, ...]:
    specs = []
    for suffix, group in GROUPS.items():
        on = f"{group} queries (and {group} distractors)" if group else "all queries"
        specs += [MetricSpec(name=f"uap{suffix}", higher_is_better=True, description=f"micro average precision, {on}"),
                  MetricSpec(name=f"recall_p90{suffix}", higher_is_better=True, description=f"recall at precision 0.9, {on}"),
                  MetricSpec(name=f"recall_at_1{suffix}", higher_is_better=True, description=f"share of true pairs ranked first, {on}"),
                  MetricSpec(name=f"recall_at_10{suffix}", higher_is_better=True, description=f"share of true pairs in the top 10, {on}")]
    return tuple(specs)


class CopyDetection(ImageTask):
    """Which reference is this tampered query a copy of, when its tamper pattern was never seen in training?"""

    Options = CopyDetectionOptions
    spec = TaskSpec(
        name="copy_detection", family="copy_detection", version="2", paper="https://arxiv.org/abs/2404.13788",
        description="Match tampered queries to references among distractors, where novel test patterns were never seen "
                    "in training and a pool of example pairs may prompt the method; DISC21 μAP, recall at P90 and at "
                    "rank 1/10, base and novel patterns apart.",
        splits=(OFFLINE, LOCAL), metrics=_metric_specs(), main_metric="uap_novel", requires="copy_descriptor",
    )
    display = DisplaySpec(reference=ReferenceSpec(method="tiny_image", kind="floor", latency="describe_query"))
    local_splits = (LOCAL.name,)
    local_suffixes = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".csv")

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self._data: dict[tuple[str, int], CopyData] = {}
        self._index: tuple[tuple[int, str, int], ReferenceIndex] | None = None

    @property
    def listed(self) -> int:
        """Predictions listed per query: the candidates for the global cut, or the kNN's k."""
        return self.options.candidates if self.options.matching == "global" else self.options.k

    def predictions(self, rows: list[dict[str, float]]) -> Predictions:
        """Score rows as a prediction list under the chosen matching."""
        o = self.options
        return Predictions.from_rows(rows, self.listed, o.results_per_query if o.matching == "global" else None)

    def data(self, split: str, seed: int) -> CopyData:
        key = (split, seed)
        if key not in self._data:
            self.spec.split(split)
            o = self.options
            if split == LOCAL.name:
                from tasks.copy_detection.local_data import local_data

                if not o.data_dir:
                    raise HarnessError("split 'local' needs --task-arg data_dir=<AnyPattern folder>")
                training = training_set(seed, o.train_images, o.image_size)
                self._data[key] = local_data(o.data_dir, o.reference_folder, o.query_folder, o.support_folder,
                                             o.support_original_folder, o.ground_truth, o.image_size, training)
            else:
                self._data[key] = offline_data(seed, o.references, o.base_queries, o.novel_queries, o.distractor_queries,
                                               o.prompts_per_pattern, o.train_images, o.image_size, o.novel_patterns,
                                               o.prompt_patterns == "all")
        return self._data[key]

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        found = [Sample(id=q.id, inputs={"image": q.image}, target=q.reference,
                        meta={"kind": q.kind, "pattern": "+".join(q.patterns), "distractor": q.reference is None})
                 for q in self.data(split, seed).queries]
        return found[:limit] if limit else found

    def check(self, method: CopyDescriptor, runtime: Runtime, samples: list[Sample]) -> None:
        if not any(s.target for s in samples):
            raise HarnessError("the chosen queries hold no copy of a reference (only distractors): raise --limit")

    def training_images(self, runtime: Runtime) -> TrainingSet:
        """Base-pattern training pairs (the local split trains offline too)."""
        return self.data(runtime.split, runtime.seed).training

    def timed_call(self, method: CopyDescriptor, runtime: Runtime,
                   samples: list[Sample]) -> tuple[list[Any], Callable[[Any], Any]]:
        """Queries, one per call, with their prompt choice (`measure` times references too)."""
        prompts = self.data(runtime.split, runtime.seed).prompts
        return [[s.inputs["image"]] for s in samples], lambda images: method.describe_queries(images, prompts)

    def reference_index(self, method: CopyDescriptor, runtime: Runtime) -> ReferenceIndex:
        """Every reference described once by the trained method (on first use, after `fit`), and the training
        originals' descriptors when scores are normalised."""
        key = (id(method), runtime.split, runtime.seed)
        if self._index is None or self._index[0] != key:
            data = self.data(runtime.split, runtime.seed)
            self._index = (key, describe_references(method, data, self.options.score_norm_factor))
        return self._index[1]

    def query_scores(self, index: ReferenceIndex, described: np.ndarray) -> np.ndarray:
        """One query's scores against every reference, less its normalisation (ISC's score_normalization.py: the
        factor times the mean of its best training scores) when that is on."""
        scores = index.descriptors @ described
        if index.norm_descriptors is not None:
            o = self.options
            training = np.sort(index.norm_descriptors @ described)[::-1][:o.score_norm_neighbors]
            scores = scores - o.score_norm_factor * float(training.mean())
        return scores

    def predict(self, sample: Sample, method: CopyDescriptor, runtime: Runtime) -> dict[str, Any]:
        index = self.reference_index(method, runtime)
        described, prompts = method.describe_queries([sample.inputs["image"]], self.data(runtime.split, runtime.seed).prompts)
        return {"predictions": top_predictions(self.query_scores(index, described[0].astype(np.float32)), index.ids, self.listed),
                "prompt": prompts[0]}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        predictions = output["predictions"]
        matches = [ref == sample.target for ref, _ in predictions]
        rank = rank_of_match([s for _, s in predictions], matches) if sample.target else -1
        # a query has one true reference, so one number says where it is listed (1-based; 0: not listed)
        return {"positive": float(sample.target is not None), "rank": float(rank if 0 <= rank < len(predictions) else -1),
                "match": float(matches.index(True) + 1 if True in matches else 0)}

    def score_rows(self, log_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each row's scores with its listed scores, best first, as `score_1`..`score_k`, read from its output's
        predictions: the log keeps them once, in the output, and the global list (μAP) is built from them."""
        return [{**r["scores"], **{f"score_{i}": float(s) for i, (_, s) in enumerate(r["output"]["predictions"], start=1)}}
                for r in log_rows]

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """μAP and recall at P90 over each group's global prediction list (cut at the group's own max_results, as if
        it were submitted alone); recall at rank 1/10 over its true pairs."""
        result: dict[str, MetricValue] = {}
        for suffix, kind in GROUPS.items():
            group = [r for r, m in zip(rows, metas) if kind is None or m.get("kind") == kind]
            if not any(r["positive"] for r in group):
                continue
            predictions = self.predictions(group)
            for name, value in global_metrics(predictions, seed).items():
                result[f"{name}{suffix}"] = value
            for rank in (1, 10):
                result[f"recall_at_{rank}{suffix}"] = metric_value(predictions.hits_at(rank).tolist(), True, seed)
        return result

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """μAP of a query group under query weights (a query is drawn with all its predictions)."""
        suffix = metric.removeprefix("uap")
        if not metric.startswith("uap") or suffix not in GROUPS:
            return None
        rows = [r for r in log_rows if GROUPS[suffix] is None or r.get("meta", {}).get("kind") == GROUPS[suffix]]
        predictions = self.predictions(self.score_rows(rows))
        if predictions.positives.sum() == 0:
            return None
        return UnitStatistic(units=[r["id"] for r in rows], statistic=predictions.weighted_micro_ap)

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """μAP and recall at rank 1 per tamper pattern (its copies and its distractors, cut at their own max_results)."""
        cells: dict[tuple[str, str], list[dict[str, float]]] = {}
        for sample, row in zip(samples, rows):
            cells.setdefault((sample.meta["kind"], sample.meta["pattern"]), []).append(row)
        table = []
        for (kind, pattern), group in sorted(cells.items()):
            predictions = self.predictions(group)
            if predictions.positives.sum() == 0:
                continue
            table.append({"pattern": f"{kind}: {pattern}", "n": len(group), "uap": predictions.micro_ap(),
                          "recall_at_1": float(predictions.hits_at(1).mean())})
        return {"by_pattern": table}

    def measure(self, method: CopyDescriptor, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Descriptor time per image (batch of one): references, and queries with their prompt choice; references
        described per second when the index was built."""
        index = self.reference_index(method, runtime)
        references = [[im] for im in list(self.data(runtime.split, runtime.seed).references.values())[:self.timed_images]]
        queries, describe_query = self.timed_call(method, runtime, samples)
        reference_times = meter.time_each(method.describe, references)
        query_times = meter.time_each(describe_query, queries[:self.timed_images])
        latency = {"describe_reference": meter.latency(reference_times), "describe_query": meter.latency(query_times)}
        return Measured(latency=latency,
                        throughput=Throughput(unit="references_per_s", value=len(index.ids) / index.describe_seconds),
                        parameter_bytes=4 * method.parameter_count() or None)

    def protocol(self) -> dict[str, Any]:
        o = self.options
        return {
            "patterns": f"training sees only the {len(BASE)} base patterns; novel queries use "
                        f"{', '.join(o.novel_patterns)}, never seen in training",
            "queries": "each copy is a reference tampered with one pattern; distractors are tampered images of "
                       "non-reference images (half base, half novel); query ids are shuffled",
            "prompts": f"a pool of {o.prompts_per_pattern} (original, tampered) pairs per {POOL_PATTERNS[o.prompt_patterns]}, "
                       "from images used nowhere else; in-context methods pick a prompt per query themselves",
            "matching": "inner product of descriptors, exact search over all references; "
                        + (f"each query's best {o.candidates} listed, and the best {o.results_per_query:g} x queries pairs "
                           "of the whole list kept (ISC's max_results), per group" if o.matching == "global"
                           else f"top {o.k} per query kept as predictions (kNN)")
                        + (f"; scores normalised by {o.score_norm_factor:g} x the mean of the query's best "
                           f"{o.score_norm_neighbors} scores against the training originals (ISC's score_normalization.py)"
                           if o.score_norm_factor > 0 else ""),
            "metrics": "DISC21 reference code: μAP over the global prediction list (ties ranked non-matches first); recall "
                       "at P90 (0 when no cut reaches P90); recall at rank 1/10 over true pairs; base and novel groups each "
                       "with their own distractors",
            "intervals": "μAP and recall at P90: 1000 bootstrap resamples of the queries; recall at rank: of the true pairs",
            "latency": "describe_* = one image per call; fit = the method's training, once",
        }
