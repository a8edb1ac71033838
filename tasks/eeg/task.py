"""Cross-site pathology transfer: pretrain on a large source site, fine-tune with few target labels."""

from __future__ import annotations

import copy
import importlib.util
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from harness.contracts.digests import manifest_sha256
from harness.contracts.record import MetricValue, Throughput
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec, metric_value
from harness.errors import HarnessError
from harness.statistics.resampling import UnitStatistic, weighted_mean
from tasks.eeg.classifier import EEGClassifier, abnormal_probability, predictions_per_window, train
from tasks.eeg.data import Part, Windows, stratified_subset
from tasks.eeg.preprocess import Preprocessing
from tasks.eeg.simulator import SCENARIOS, SimulationConfig, simulate

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.runtime import Runtime

REGIMES = ("source_only", "scratch", "finetuned")
PERCENTS = (5, 20, 100)
TIMED_RECORDINGS = 10
OFFLINE = SplitSpec(name="offline", source="generated: two simulated sites (TUAB-like source, NMT-like target; --task-arg scenario), seeded",
                    description="21-channel 10-20 EEG; alpha slowing, diffuse theta, focal delta or spikes as pathology")
LOCAL = SplitSpec(name="local", source="TUH Abnormal (braindecode's loader) and NMT folders (--task-arg source_dir=... target_dir=...)",
                  description="source: TUAB train recordings; target: NMT train (fine-tuning) and eval (testing)")


class EEGOptions(BaseModel):
    """Task options for eeg_transfer (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    fractions: list[float] = Field([0.05, 0.2, 1.0], description="shares of the target's labelled training recordings")
    seeds: list[int] = Field([0, 1, 2], description="training seeds (initialisation, batches, label subsets)")
    source_recordings: int = Field(160, ge=4, description="offline: simulated source training recordings (balanced)")
    target_train_recordings: int = Field(160, ge=8, description="offline: simulated target training recordings (15% abnormal)")
    target_eval_recordings: int = Field(100, ge=4, description="offline: simulated target evaluation recordings (balanced)")
    crop_start_s: float = Field(60.0, ge=0, description="seconds skipped at the start of each recording (the paper's 60)")
    crop_max_s: float = Field(300.0, gt=0, description="at most this many seconds kept after the start (the paper's 300)")
    simulated_s: float = Field(30.0, gt=0, description="offline: seconds simulated after the skipped start (2 CPU cores)")
    scenario: Literal["shift", "negative"] = Field("shift", description="offline: 'shift' (sites differ, the source "
                                                   "is relevant) or 'negative' (the source's labels ride on cues the "
                                                   "target lacks or reverses: the negative-transfer case)")
    source_dir: str | None = Field(None, description="split 'local': the TUH Abnormal folder")
    target_dir: str | None = Field(None, description="split 'local': the NMT folder (with Labels.csv)")

    @field_validator("fractions")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        if not value or not all(0 < f <= 1 for f in value):
            raise ValueError("fractions must be a non-empty list of numbers in (0, 1]")
        return value

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(crop_start_s=self.crop_start_s, crop_max_s=self.crop_max_s)


def _pct(fraction: float) -> int:
    return round(fraction * 100)


def cut_windows(method: EEGClassifier, parts: dict[str, Part]) -> dict[str, Windows]:
    """Every part's windows as the method's recipe asks: `window_s` long and side by side; under cropped decoding one
    every n_preds samples (a dense network's predictions then tile each recording, the paper's stride), the eval part
    with one more window ending at the recording's end (braindecode's drop_last_window=False on the paper's test set)."""
    p = method.params
    size, stride = p.window_samples, p.window_samples
    if p.cropped:
        n_chans = parts["source_train"].signals[0].shape[0]
        torch.manual_seed(0)
        n_preds = predictions_per_window(method.build(n_chans, size), n_chans, size)
        stride = n_preds if n_preds > 1 else size
    return {name: part.windows(size, stride, cover_end=p.cropped and name == "target_eval") for name, part in parts.items()}


def _interval(values: list[float], seed: int) -> tuple[float, float]:
    ci = metric_value(values, True, seed).ci95
    return ci if ci is not None else (float("nan"), float("nan"))


def _metric_specs() -> tuple[MetricSpec, ...]:
    specs = [MetricSpec(name="auroc", higher_is_better=True,
                        description="recording-level AUROC on the target's eval set after pretraining + fine-tuning (mean over fractions and seeds)"),
             MetricSpec(name="bacc", higher_is_better=True, description="balanced accuracy, same runs"),
             MetricSpec(name="auroc_source_only", higher_is_better=True, description="the source model applied to the target as is"),
             MetricSpec(name="bacc_source_only", higher_is_better=True, description="balanced accuracy of the source model on the target")]
    for pct in PERCENTS:
        specs += [MetricSpec(name=f"auroc_scratch_{pct}", higher_is_better=True, description=f"trained from scratch on {pct}% of the target labels"),
                  MetricSpec(name=f"auroc_finetuned_{pct}", higher_is_better=True, description=f"pretrained, fine-tuned on {pct}% of the target labels"),
                  MetricSpec(name=f"gain_auroc_{pct}", higher_is_better=True, description=f"transfer gain at {pct}%: fine-tuned minus scratch AUROC, paired by seed"),
                  MetricSpec(name=f"gain_bacc_{pct}", higher_is_better=True, description=f"transfer gain at {pct}% in balanced accuracy")]
    return tuple(specs)


class EEGTransfer(Task):
    """Does pretraining on a big source hospital help a small target hospital detect abnormal EEG?"""

    Options = EEGOptions
    spec = TaskSpec(
        name="eeg_transfer", family="eeg", version="3", paper="https://arxiv.org/abs/2309.10910",
        description="Abnormal-EEG detection at a target site with few labels: source-only, target-from-scratch and "
                    "pretrained-then-fine-tuned at several label fractions; recording-level AUROC and balanced accuracy.",
        splits=(OFFLINE, LOCAL), metrics=_metric_specs(), main_metric="auroc", requires="eeg_classifier",
    )
    display = DisplaySpec(reference=ReferenceSpec(method="shallownet", kind="baseline"), chance={"auroc": 0.5}, label_options=("scenario",))

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self._parts: dict[tuple[str, int], dict[str, Part]] = {}
        self._pretrained: dict[int, torch.nn.Module] = {}
        self._windows: dict[str, Windows] = {}

    def parts(self, split: str, seed: int) -> dict[str, Part]:
        """source_train, target_train and target_eval, built once per cell."""
        key = (split, seed)
        if key not in self._parts:
            self.spec.split(split)
            o, p = self.options, self.options.preprocessing()
            if split == LOCAL.name:
                from tasks.eeg.local_data import local_parts

                self._parts[key] = local_parts(o.source_dir, o.target_dir, p)
            else:
                config = SimulationConfig(duration_s=o.crop_start_s + min(o.simulated_s, o.crop_max_s))
                source, target = SCENARIOS[o.scenario]
                self._parts[key] = {
                    "source_train": Part.from_recordings("source_train", simulate(source, o.source_recordings, 0.5, seed, "tuab-train", config), p),
                    "target_train": Part.from_recordings("target_train", simulate(target, o.target_train_recordings, target.abnormal_train, seed, "nmt-train", config), p),
                    "target_eval": Part.from_recordings("target_eval", simulate(target, o.target_eval_recordings, 0.5, seed, "nmt-eval", config), p),
                }
        return self._parts[key]

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        self.spec.split(split)
        found = []
        for train_seed in self.options.seeds:
            conditions = [("source_only", None)] + [(r, f) for f in self.options.fractions for r in ("scratch", "finetuned")]
            for regime, fraction in conditions:
                name = regime if fraction is None else f"{regime}-{_pct(fraction)}pct"
                meta = {"regime": regime, "fraction": fraction, "train_seed": train_seed}
                found.append(Sample(id=f"{name}-seed{train_seed}", inputs=dict(meta), target=None, meta=meta))
        return found[:limit] if limit else found

    def prepare(self, method: EEGClassifier, runtime: Runtime) -> None:
        """Build (simulate or read) and preprocess the recordings; refuse sets that cannot be trained or scored."""
        if importlib.util.find_spec("braindecode") is None:
            raise HarnessError("the EEG family needs braindecode 0.8.1: pip install -e '.[eeg]' (scripts/setup.sh does)")
        parts = self.parts(runtime.split, runtime.seed)
        for name, part in parts.items():
            if len(set(part.labels.tolist())) < 2:
                raise HarnessError(f"the {name} recordings carry one label only: both normal and abnormal are needed")
        self._windows = cut_windows(method, parts)
        self._pretrained = {}  # source models belong to one method's windows and recipe
        overlap = set(parts["target_eval"].ids) & (set(parts["target_train"].ids) | set(parts["source_train"].ids))
        if overlap:
            raise HarnessError(f"recording {sorted(overlap)[0]!r} is in the target eval set and a training set: keep them apart")

    def source_model(self, method: EEGClassifier, train_seed: int, runtime: Runtime) -> torch.nn.Module:
        """The source-pretrained network of one training seed (trained once, shared by source-only and fine-tuning)."""
        if train_seed not in self._pretrained:
            source = self._windows["source_train"]
            windows, labels = source.windows, source.labels[source.owner]
            torch.manual_seed(train_seed)
            module = method.build(windows.shape[1], windows.shape[2])
            self._pretrained[train_seed] = train(module, windows, labels, method.params.pretrain_steps, method.params,
                                                 train_seed, runtime.device)
        return self._pretrained[train_seed]

    def predict(self, sample: Sample, method: EEGClassifier, runtime: Runtime) -> dict[str, Any]:
        regime, fraction, train_seed = sample.inputs["regime"], sample.inputs["fraction"], sample.inputs["train_seed"]
        ids = self.parts(runtime.split, runtime.seed)["target_train"].ids
        target, evaluation = self._windows["target_train"], self._windows["target_eval"]
        start = time.perf_counter()
        used: list[str] = []
        if regime == "source_only":
            module = self.source_model(method, train_seed, runtime)
        else:
            chosen = stratified_subset(target.labels, fraction, train_seed)
            windows, labels = target.select(chosen)
            used = [ids[i] for i in chosen]
            if regime == "finetuned":
                module = copy.deepcopy(self.source_model(method, train_seed, runtime))
            else:
                torch.manual_seed(train_seed)
                module = method.build(windows.shape[1], windows.shape[2])
            train(module, windows, labels, method.params.target_steps, method.params, train_seed, runtime.device)
        seconds = time.perf_counter() - start
        probability = evaluation.per_recording(abnormal_probability(module, evaluation.windows, runtime.device))
        return {"auroc": float(roc_auc_score(evaluation.labels, probability)),
                "balanced_accuracy": float(balanced_accuracy_score(evaluation.labels, probability >= 0.5)),
                "target_train_recordings": used, "source_pretrained": regime != "scratch", "train_seconds": seconds,
                "eval_recordings": len(evaluation.labels)}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        return {"auroc": output["auroc"], "balanced_accuracy": output["balanced_accuracy"]}

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """Means over seeds with their interval, per regime and fraction; gains paired by seed."""
        def value(values: list[float]) -> MetricValue:
            return metric_value(values, True, seed)

        by: dict[tuple[str, float | None], dict[int, dict[str, float]]] = {}
        for row, meta in zip(rows, metas):
            by.setdefault((meta["regime"], meta["fraction"]), {})[meta["train_seed"]] = row
        result: dict[str, MetricValue] = {}
        finetuned = [r for (regime, _), runs in by.items() if regime == "finetuned" for r in runs.values()]
        if finetuned:
            result["auroc"] = value([r["auroc"] for r in finetuned])
            result["bacc"] = value([r["balanced_accuracy"] for r in finetuned])
        if ("source_only", None) in by:
            runs = list(by[("source_only", None)].values())
            result["auroc_source_only"] = value([r["auroc"] for r in runs])
            result["bacc_source_only"] = value([r["balanced_accuracy"] for r in runs])
        for fraction in {f for _, f in by if f is not None}:
            pct = _pct(fraction)
            scratch, tuned = by.get(("scratch", fraction), {}), by.get(("finetuned", fraction), {})
            if pct not in PERCENTS:
                continue
            if scratch:
                result[f"auroc_scratch_{pct}"] = value([r["auroc"] for r in scratch.values()])
            if tuned:
                result[f"auroc_finetuned_{pct}"] = value([r["auroc"] for r in tuned.values()])
            paired = sorted(set(scratch) & set(tuned))
            if paired:
                result[f"gain_auroc_{pct}"] = value([tuned[s]["auroc"] - scratch[s]["auroc"] for s in paired])
                result[f"gain_bacc_{pct}"] = value([tuned[s]["balanced_accuracy"] - scratch[s]["balanced_accuracy"] for s in paired])
        return result

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """The headline AUROC and balanced accuracy (means over the fine-tuned runs) under run weights."""
        column = {"auroc": "auroc", "bacc": "balanced_accuracy"}.get(metric)
        rows = [r for r in log_rows if r["meta"]["regime"] == "finetuned"]
        if column is None or not rows:
            return None
        return UnitStatistic(units=[r["id"] for r in rows], statistic=weighted_mean([r["scores"][column] for r in rows]))

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """AUROC and balanced accuracy by regime x label fraction (mean over seeds), and the transfer question per
        fraction: source-only, scratch and fine-tuned AUROC, with the paired (by seed) fine-tuned-minus-scratch and
        fine-tuned-minus-source-only differences and their bootstrap intervals."""
        cells: dict[tuple[str, str], list[dict[str, float]]] = {}
        by: dict[tuple[str, float | None], dict[int, float]] = {}
        for sample, row in zip(samples, rows):
            fraction = sample.meta["fraction"]
            cells.setdefault((sample.meta["regime"], "source only" if fraction is None else f"{_pct(fraction)}%"), []).append(row)
            by.setdefault((sample.meta["regime"], fraction), {})[sample.meta["train_seed"]] = row["auroc"]
        out = {"by_regime_fraction": [
            {"regime": regime, "labels": labels, "n": len(group),
             "auroc": float(np.mean([r["auroc"] for r in group])),
             "bacc": float(np.mean([r["balanced_accuracy"] for r in group]))}
            for (regime, labels), group in sorted(cells.items())]}
        source = by.get(("source_only", None), {})
        transfer = []
        for fraction in sorted({f for _, f in by if f is not None}):
            scratch, tuned = by.get(("scratch", fraction), {}), by.get(("finetuned", fraction), {})
            paired = sorted(set(scratch) & set(tuned) & set(source))
            if not paired:
                continue
            gain = [tuned[s] - scratch[s] for s in paired]
            over_source = [tuned[s] - source[s] for s in paired]
            (g_lo, g_hi), (o_lo, o_hi) = _interval(gain, 0), _interval(over_source, 0)
            transfer.append({"labels": f"{_pct(fraction)}%", "n": len(paired),
                             "auroc_source_only": float(np.mean([source[s] for s in paired])),
                             "auroc_scratch": float(np.mean([scratch[s] for s in paired])),
                             "auroc_finetuned": float(np.mean([tuned[s] for s in paired])),
                             "auroc_gain": float(np.mean(gain)), "auroc_gain_low": g_lo, "auroc_gain_high": g_hi,
                             "auroc_over_source": float(np.mean(over_source)), "auroc_over_source_low": o_lo,
                             "auroc_over_source_high": o_hi})
        if transfer:
            out["transfer_by_fraction"] = transfer
        return out

    def measure(self, method: EEGClassifier, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Inference time per recording (all its windows in one batch), on the network the method builds."""
        evaluation = self._windows["target_eval"]
        torch.manual_seed(0)
        module = method.build(evaluation.windows.shape[1], evaluation.windows.shape[2]).to(runtime.device).eval()
        recordings = [evaluation.select(np.array([i]))[0] for i in range(min(TIMED_RECORDINGS, len(evaluation.labels)))]
        times = meter.time_each(lambda windows: abnormal_probability(module, windows, runtime.device), recordings)
        batch = meter.clock()
        batch.mark()
        abnormal_probability(module, evaluation.windows, runtime.device)
        batch.mark()
        return Measured(latency={"classify_recording": meter.latency(times)},
                        throughput=Throughput(unit="windows_per_s", value=len(evaluation.windows) / batch.intervals()[0]),
                        parameter_bytes=4 * sum(p.numel() for p in module.parameters()))

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split == LOCAL.name:
            folders = [self.options.source_dir, self.options.target_dir]
            return f"{folders[0]} -> {folders[1]}", manifest_sha256(folders, (".edf", ".csv"))
        return super().dataset_source(split)

    def protocol(self) -> dict[str, Any]:
        p = self.options.preprocessing()
        return {
            "preprocessing": f"21 channels in alphabetical order (the paper's); skip {p.crop_start_s} s, keep at most "
                             f"{p.crop_max_s} s; volts to microvolts; clip at +-{p.clip_uv} uV; resample to {p.sfreq} Hz; "
                             "common average reference",
            "simulation": f"offline: scenario {self.options.scenario!r}, {self.options.simulated_s} s simulated after the skip",
            "windows": "the method's window_s; side by side, or under cropped decoding one every n_preds samples "
                       "(eval: plus one ending at the recording's end)",
            "regimes": "source_only: trained on the source, applied to the target; scratch: trained on the target's "
                       "labelled share from a random init; finetuned: the source model trained further on that share",
            "labels": "target label fractions are stratified subsets of the target's training recordings (at least "
                      "one of each class), drawn per seed; the target's eval recordings are never trained on",
            "prediction": "a recording's probability of abnormal is the mean of its windows'; balanced accuracy at 0.5",
            "recipe": "the method's preset: 'cpu' (AdamW, cosine over a fixed step budget, class-balanced NLL, 5 s "
                      "windows) or 'reference' (the paper's: 60 s windows, cropped decoding, AdamW 6.25e-4, weight "
                      "decay 5e-4, batch 64, 10 epochs, cosine, plain NLL); every resolved value is in the method params",
            "intervals": "over training seeds (bootstrap of the per-seed values)",
        }
