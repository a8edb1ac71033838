"""SynTSBench's forecasting task: train each forecaster per series, score test MSE/MAE against the optimum."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from harness.contracts.record import Throughput
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec
from harness.errors import HarnessError
from harness.statistics.resampling import UnitStatistic, weighted_mean
from tasks.timeseries.forecaster import Forecaster
from tasks.timeseries.local_data import csv_files, folder_sha256, read_series
from tasks.timeseries.optimum import optimal_mse, oracle_forecasts
from tasks.timeseries.suite import CATEGORIES, Series, build_suite
from tasks.timeseries.windows import prepare

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.runtime import Runtime

# Near-optimal: MSE within 10% of the optimum, plus 5% of what the last-value forecast leaves above it. The slack
# scales with what the series asks of a forecaster, so the naive floor fails wherever it cannot forecast (the
# earlier absolute 0.01 let it pass 9 of 11 trends, whose scaled errors over one horizon are below 0.01).
NEAR_OPTIMAL_RTOL, NEAR_OPTIMAL_GAP = 0.1, 0.05
TIMED_WINDOWS = 30
OFFLINE = SplitSpec(name="offline", source="generated: SynTSBench's generators, seeded",
                    description="trend, periodic, long-period, noise, anomaly and stochastic series of length 5000")
LOCAL = SplitSpec(name="local", source="a local folder of SynTSBench CSV files (--task-arg data_dir=...)",
                  description="one series per CSV (date, Feature1); the folder is pinned by sha256")


def _positive_horizons(value: list[int]) -> list[int]:
    if not value or min(value) < 1:
        raise ValueError("horizons must be a non-empty list of positive integers")
    return value


Horizons = Annotated[list[int], AfterValidator(_positive_horizons)]


class SeriesOptions(BaseModel):
    """The options every SynTSBench board shares: series length and input window."""

    model_config = ConfigDict(extra="forbid")
    length: int = Field(5000, ge=1000, description="series length")
    input_len: int = Field(96, ge=8, description="input window")


class SynTSOptions(SeriesOptions):
    """Task options for syntsbench (set with --task-arg KEY=VALUE)."""

    horizons: Horizons = Field([24, 48, 96, 192], description="forecast horizons (the reference's 24, 48, 96, 192)")
    anomaly_horizons: Horizons = Field([96], description="horizons of the anomaly sweep (the reference's anomaly scripts: 96)")
    categories: list[str] = Field(list(CATEGORIES), description="pattern categories to generate")
    snr_db: list[float] = Field([30, 20, 10, 0, -10], description="noise levels of the noise category")
    point_ratios: list[float] = Field([0.005, 0.01, 0.05, 0.1, 0.15, 0.2], description="point-anomaly ratios (the reference's sweep)")
    pulse_counts: list[int] = Field([1, 3, 5, 10, 20], description="pulse-anomaly counts (the reference's sweep)")
    data_dir: str | None = Field(None, description="split 'local': a folder of SynTSBench CSV files")

    @field_validator("categories")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {list(CATEGORIES)}")
        return value


class SynTSBench(Task):
    """Which temporal patterns can a forecaster learn? Error against the theoretical optimum, per pattern."""

    Options = SynTSOptions
    spec = TaskSpec(
        name="syntsbench", family="timeseries", version="2", paper="https://github.com/TanQitai/SynTSBench",
        description="Forecast 107 synthetic series (SynTSBench's patterns and anomaly sweep) after training per "
                    "series; MSE and MAE in scaled units against each series' optimum.",
        splits=(OFFLINE, LOCAL),
        metrics=(
            MetricSpec(name="near_optimal", higher_is_better=True,
                       description=f"share of (series, horizon) cells with MSE within {NEAR_OPTIMAL_RTOL:.0%} of the optimum "
                                   f"plus {NEAR_OPTIMAL_GAP:.0%} of the naive forecast's excess over it"),
            MetricSpec(name="naive_floor", higher_is_better=True,
                       description="the same share for the last-value forecast on the same cells (the floor)"),
            MetricSpec(name="mse", higher_is_better=False, description="test MSE in the scaler's units"),
            MetricSpec(name="mae", higher_is_better=False, description="test MAE in the scaler's units"),
            MetricSpec(name="excess_mse", higher_is_better=False,
                       description="MSE minus the optimum (realised on the series' own test windows where known)"),
            MetricSpec(name="mse_ratio", higher_is_better=False, description="MSE / optimum, where the optimum is above 0"),
            MetricSpec(name="optimal_mse", higher_is_better=False, description="the analytic optimum (expectation)"),
            MetricSpec(name="naive_mse", higher_is_better=False, description="MSE of the last-value forecast (reference)"),
        ),
        main_metric="near_optimal", requires="forecaster",
    )
    display = DisplaySpec(reference=ReferenceSpec(method="naive", kind="floor"))

    def series(self, split: str, seed: int) -> list[Series]:
        self.spec.split(split)
        o = self.options
        if split == LOCAL.name:
            return [read_series(path, "local") for path in csv_files(o.data_dir)]
        return build_suite(o.length, seed, o.categories, o.snr_db, o.point_ratios, o.pulse_counts)

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        found = []
        o = self.options
        for series in self.series(split, seed):
            for horizon in self.horizons_for(series):
                prepared = prepare(series.values, o.input_len, horizon)
                found.append(Sample(id=f"{series.id}-h{horizon}", inputs={"prepared": prepared, "horizon": horizon},
                                    target=optima(series, prepared, o.input_len, horizon),
                                    meta={"series": series.id, "category": series.category, "pattern": series.pattern,
                                          "horizon": horizon}))
        return found[:limit] if limit else found

    def horizons_for(self, series: Series) -> list[int]:
        o = self.options
        return o.anomaly_horizons if series.category == "anomaly" else o.horizons

    def fit_forecaster(self, method: Forecaster, prepared, runtime: Runtime) -> None:
        """Fit on the training windows (validation for early stopping); the multichannel task fits all channels."""
        method.fit(prepared.train, prepared.val, runtime.seed, runtime.device)

    def forecast(self, method: Forecaster, inputs: np.ndarray, horizon: int) -> np.ndarray:
        return method.predict(inputs, horizon)

    def check(self, method: Forecaster, runtime: Runtime, samples: list[Sample]) -> None:
        for sample in samples:
            prepared = sample.inputs["prepared"]
            if min(len(prepared.train), len(prepared.test)) == 0:
                raise HarnessError(f"series {sample.meta['series']} is too short for input {self.options.input_len} + "
                                   f"horizon {sample.inputs['horizon']}: lower --task-arg horizons or input_len")

    def predict(self, sample: Sample, method: Forecaster, runtime: Runtime) -> dict[str, Any]:
        prepared, horizon = sample.inputs["prepared"], sample.inputs["horizon"]
        start = time.perf_counter()
        self.fit_forecaster(method, prepared, runtime)
        fit_seconds = time.perf_counter() - start
        forecast = self.forecast(method, prepared.test.inputs, horizon)
        error = forecast - prepared.test.targets
        return {"mse": float(np.mean(error**2)), "mae": float(np.mean(np.abs(error))), "n_windows": len(prepared.test),
                "fit_seconds": fit_seconds, "parameters": method.parameter_count(), **self.error_details(error)}

    def error_details(self, error: np.ndarray) -> dict[str, Any]:
        """Further outputs from the test errors (the multichannel task: MSE per channel). None here."""
        return {}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        scores = {"mse": output["mse"], "mae": output["mae"]}
        target = sample.target
        if target.get("naive_mse") is not None:
            scores["naive_mse"] = target["naive_mse"]
        reference = target.get("oracle_mse", target.get("optimal_mse"))
        if reference is None:
            reference = target.get("optimal_mse")
        if reference is not None:
            excess = output["mse"] - reference
            scores.update(excess_mse=excess, near_optimal=float(near_optimal(output["mse"], reference, target["naive_mse"])),
                          naive_floor=float(near_optimal(target["naive_mse"], reference, target["naive_mse"])))
            if target.get("optimal_mse") is not None:
                scores["optimal_mse"] = target["optimal_mse"]
            if reference > 0:
                scores["mse_ratio"] = output["mse"] / reference
        return scores

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """A per-cell metric's mean over the cells that have it (a series without an optimum has no near_optimal)."""
        rows = [r for r in log_rows if r["scores"].get(metric) is not None]
        if not rows:
            return None
        return UnitStatistic(units=[r["id"] for r in rows], statistic=weighted_mean([r["scores"][metric] for r in rows]))

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """The capability map: per category x horizon, and per series x horizon."""
        return {"by_category_horizon": metric_table(samples, rows, ("category", "horizon")),
                "by_series_horizon": metric_table(samples, rows, ("series", "horizon"))}

    def measure(self, method: Forecaster, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Latency of one forecast window (fitted on the first series), and batched windows per second."""
        prepared, horizon = samples[0].inputs["prepared"], samples[0].inputs["horizon"]
        self.fit_forecaster(method, prepared, runtime)
        inputs = prepared.test.inputs
        for i in range(meter.warmups):
            self.forecast(method, inputs[i:i + 1], horizon)
        clock = meter.clock()
        clock.mark()
        for i in range(TIMED_WINDOWS):
            self.forecast(method, inputs[i:i + 1], horizon)
            clock.mark()
        batch = meter.clock()
        batch.mark()
        self.forecast(method, inputs, horizon)
        batch.mark()
        return Measured(latency={"forecast_window": meter.latency(clock.intervals())},
                        throughput=Throughput(unit="windows_per_s", value=len(inputs) / batch.intervals()[0]),
                        parameter_bytes=4 * method.parameter_count())

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split == LOCAL.name:
            return str(self.options.data_dir), folder_sha256(csv_files(self.options.data_dir))
        return super().dataset_source(split)

    def protocol(self) -> dict[str, Any]:
        return {
            **shared_protocol(self.options.input_len, self.options.horizons),
            "optimum": "the optimal forecaster's MSE on the series' own test windows where its forecasts are known (the "
                       "clean signal under additive noise and anomalies; the conditional mean from the generator's "
                       "innovations for AR/ARMA and the random walk); otherwise the analytic expectation (0 for raw "
                       "files, sigma_n^2/Var_train for SNR files); series without a derivable optimum are left out of "
                       "near_optimal",
            "anomalies": "in the first 80% of the series (train and validation), as SynTSBench; the test part is clean",
            "near_optimal": NEAR_OPTIMAL_TEXT,
            "horizons": f"{self.options.horizons}; the anomaly sweep at {self.options.anomaly_horizons}",
        }


NEAR_OPTIMAL_TEXT = (f"MSE - optimum <= {NEAR_OPTIMAL_RTOL} x optimum + {NEAR_OPTIMAL_GAP} x max(naive MSE - optimum, 0); "
                     "naive_floor applies the same test to the last-value forecast")


def shared_protocol(input_len: int, horizons: list[int], channels: str = "univariate") -> dict[str, str]:
    """The protocol entries every SynTSBench board shares: split, scaling, windows, training."""
    return {
        "split": "70/10/20 train/validation/test by time; validation and test windows start input_len earlier",
        "scaling": "standard scaler fitted on the training part; errors are in its units",
        "windows": f"input {input_len}, horizons {horizons}, stride 1, {channels}",
        "training": "each method is fitted anew on every series (validation for early stopping)",
    }


TABLE_METRICS = ("near_optimal", "naive_floor", "mse", "excess_mse", "optimal_mse")


def metric_table(samples: list[Sample], rows: list[dict[str, float]], keys: tuple[str, ...],
                 metrics: tuple[str, ...] = TABLE_METRICS) -> list[dict[str, Any]]:
    """Mean of each metric per distinct value of the samples' meta `keys`, with the count n."""
    cells: dict[tuple[Any, Any], list[dict[str, float]]] = {}
    for sample, row in zip(samples, rows):
        cells.setdefault(tuple(sample.meta[k] for k in keys), []).append(row)
    table = []
    for key, group in sorted(cells.items()):
        entry: dict[str, Any] = dict(zip(keys, key))
        entry["n"] = len(group)
        for metric in metrics:
            values = [r[metric] for r in group if metric in r]
            if values:
                entry[metric] = float(np.mean(values))
        table.append(entry)
    return table


def near_optimal(mse: float, optimum: float, naive_mse: float) -> bool:
    """Within NEAR_OPTIMAL_RTOL of the optimum plus NEAR_OPTIMAL_GAP of the naive forecast's excess over it."""
    return mse - optimum <= NEAR_OPTIMAL_RTOL * optimum + NEAR_OPTIMAL_GAP * max(naive_mse - optimum, 0.0)


def optima(series: Series, prepared, input_len: int, horizon: int) -> dict[str, float | None]:
    """The series' references for one horizon, in the scaler's units: the analytic optimum (None when it cannot be
    derived), the optimal forecaster's MSE on these very test windows (None when its forecasts are unknown) and the
    last-value forecast's MSE."""
    test = prepared.test
    analytic = (optimal_mse(prepared.train_variance, horizon, series.noise_variance, series.process)
                if not math.isnan(series.noise_variance) else None)
    best = oracle_forecasts(series.values, prepared.test_start, input_len, horizon, series.clean, series.process,
                            series.innovations)
    realised = None
    if best is not None and len(best) == len(test):
        scaled = (best - prepared.train_mean) / math.sqrt(prepared.train_variance)
        realised = float(np.mean((scaled - test.targets) ** 2))
    naive = float(np.mean((test.inputs[:, -1:] - test.targets) ** 2)) if len(test) else None
    return {"optimal_mse": analytic, "oracle_mse": realised, "naive_mse": naive}
