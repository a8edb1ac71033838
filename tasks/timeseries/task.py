"""SynTSBench's forecasting task: train each forecaster per series, score test MSE/MAE against the optimum."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.errors import HarnessError
from harness.meter import Meter
from harness.record import Throughput
from harness.runtime import Runtime
from harness.task import Measured, MetricSpec, Sample, SplitSpec, Task, TaskSpec
from tasks.timeseries.forecaster import Forecaster
from tasks.timeseries.local_data import csv_files, folder_sha256, read_series
from tasks.timeseries.optimum import optimal_mse
from tasks.timeseries.suite import CATEGORIES, Series, build_suite
from tasks.timeseries.windows import prepare

NEAR_OPTIMAL_RTOL, NEAR_OPTIMAL_ATOL = 0.1, 0.01  # within 10% of the optimum plus 0.01 (scaled units)
TIMED_WINDOWS = 30
OFFLINE = SplitSpec(name="offline", source="generated: SynTSBench's generators, seeded",
                    description="trend, periodic, long-period, noise, anomaly and stochastic series of length 5000")
LOCAL = SplitSpec(name="local", source="a local folder of SynTSBench CSV files (--task-arg data_dir=...)",
                  description="one series per CSV (date, Feature1); the folder is pinned by sha256")


class SynTSOptions(BaseModel):
    """Task options for syntsbench (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    length: int = Field(5000, ge=1000, description="series length")
    input_len: int = Field(96, ge=8, description="input window")
    horizons: list[int] = Field([96], description="forecast horizons (the paper: 24, 96, 192)")
    categories: list[str] = Field(list(CATEGORIES), description="pattern categories to generate")
    snr_db: list[float] = Field([30, 20, 10, 0, -10], description="noise levels of the noise category")
    point_ratios: list[float] = Field([0.05], description="point-anomaly ratios (the paper: 0.005 to 0.2)")
    pulse_counts: list[int] = Field([3], description="pulse-anomaly counts (the paper: 1 to 20)")
    data_dir: str | None = Field(None, description="split 'local': a folder of SynTSBench CSV files")

    @field_validator("categories")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {list(CATEGORIES)}")
        return value

    @field_validator("horizons")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if not value or min(value) < 1:
            raise ValueError("horizons must be a non-empty list of positive integers")
        return value


class SynTSBench(Task):
    """Which temporal patterns can a forecaster learn? Error against the theoretical optimum, per pattern."""

    Options = SynTSOptions
    spec = TaskSpec(
        name="syntsbench", family="timeseries", version="1", paper="https://github.com/TanQitai/SynTSBench",
        description="Forecast 62 synthetic series (SynTSBench's patterns) after training per series; "
                    "MSE and MAE in scaled units against each series' theoretical optimum.",
        splits=(OFFLINE, LOCAL),
        metrics=(
            MetricSpec(name="near_optimal", higher_is_better=True,
                       description=f"share of series with MSE within {NEAR_OPTIMAL_RTOL:.0%} of the optimum + {NEAR_OPTIMAL_ATOL}"),
            MetricSpec(name="mse", higher_is_better=False, description="test MSE in the scaler's units"),
            MetricSpec(name="mae", higher_is_better=False, description="test MAE in the scaler's units"),
            MetricSpec(name="excess_mse", higher_is_better=False, description="MSE minus the theoretical optimum"),
            MetricSpec(name="mse_ratio", higher_is_better=False, description="MSE / optimum, where the optimum is above 0"),
            MetricSpec(name="optimal_mse", higher_is_better=False, description="the theoretical optimum (reference)"),
        ),
        main_metric="near_optimal", requires="forecaster",
    )

    def series(self, split: str, seed: int) -> list[Series]:
        self.spec.split(split)
        o = self.options
        if split == LOCAL.name:
            return [read_series(path, "local") for path in csv_files(o.data_dir)]
        return build_suite(o.length, seed, o.categories, o.snr_db, o.point_ratios, o.pulse_counts)

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        found = []
        for series in self.series(split, seed):
            for horizon in self.options.horizons:
                prepared = prepare(series.values, self.options.input_len, horizon)
                optimum = (optimal_mse(prepared.train_variance, horizon, series.noise_variance, series.process)
                           if not math.isnan(series.noise_variance) else None)
                found.append(Sample(id=f"{series.id}-h{horizon}", inputs={"prepared": prepared, "horizon": horizon},
                                    target={"optimal_mse": optimum},
                                    meta={"series": series.id, "category": series.category, "pattern": series.pattern,
                                          "horizon": horizon}))
        return found[:limit] if limit else found

    def check(self, method: Forecaster, runtime: Runtime, samples: list[Sample]) -> None:
        for sample in samples:
            prepared = sample.inputs["prepared"]
            if min(len(prepared.train), len(prepared.test)) == 0:
                raise HarnessError(f"series {sample.meta['series']} is too short for input {self.options.input_len} + "
                                   f"horizon {sample.inputs['horizon']}: lower --task-arg horizons or input_len")

    def predict(self, sample: Sample, method: Forecaster, runtime: Runtime) -> dict[str, Any]:
        prepared, horizon = sample.inputs["prepared"], sample.inputs["horizon"]
        start = time.perf_counter()
        method.fit(prepared.train, prepared.val, runtime.seed, runtime.device)
        fit_seconds = time.perf_counter() - start
        forecast = method.predict(prepared.test.inputs, horizon)
        error = forecast - prepared.test.targets
        return {"mse": float(np.mean(error**2)), "mae": float(np.mean(np.abs(error))), "n_windows": len(prepared.test),
                "fit_seconds": fit_seconds, "parameters": method.parameter_count()}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        scores = {"mse": output["mse"], "mae": output["mae"]}
        optimum = sample.target["optimal_mse"]
        if optimum is not None:
            excess = output["mse"] - optimum
            scores.update(optimal_mse=optimum, excess_mse=excess,
                          near_optimal=float(excess <= NEAR_OPTIMAL_RTOL * optimum + NEAR_OPTIMAL_ATOL))
            if optimum > 0:
                scores["mse_ratio"] = output["mse"] / optimum
        return scores

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """The capability map: per category x horizon, and per series x horizon."""
        return {"by_category_horizon": _table(samples, rows, ("category", "horizon")),
                "by_series_horizon": _table(samples, rows, ("series", "horizon"))}

    def measure(self, method: Forecaster, runtime: Runtime, samples: list[Sample], meter: Meter) -> Measured:
        """Latency of one forecast window (fitted on the first series), and batched windows per second."""
        prepared, horizon = samples[0].inputs["prepared"], samples[0].inputs["horizon"]
        method.fit(prepared.train, prepared.val, runtime.seed, runtime.device)
        inputs = prepared.test.inputs
        for i in range(meter.warmups):
            method.predict(inputs[i:i + 1], horizon)
        clock = meter.clock()
        clock.mark()
        for i in range(TIMED_WINDOWS):
            method.predict(inputs[i:i + 1], horizon)
            clock.mark()
        batch = meter.clock()
        batch.mark()
        method.predict(inputs, horizon)
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
            "split": "70/10/20 train/validation/test by time; validation and test windows start input_len earlier",
            "scaling": "standard scaler fitted on the training part; errors are in its units",
            "windows": f"input {self.options.input_len}, horizons {self.options.horizons}, stride 1, univariate",
            "training": "each method is fitted anew on every series (validation for early stopping)",
            "optimum": "0 for noise-free signals; sigma_n^2/Var_train for additive noise; the analytic h-step error "
                       "averaged over the horizon for AR/ARMA (sigma^2 sum psi_j^2) and a random walk (h sigma^2)",
            "anomalies": "in the first 80% of the series (train and validation), as SynTSBench; the test part is clean",
            "near_optimal": f"MSE <= optimum x {1 + NEAR_OPTIMAL_RTOL} + {NEAR_OPTIMAL_ATOL}",
        }


def _table(samples: list[Sample], rows: list[dict[str, float]], keys: tuple[str, str]) -> list[dict[str, Any]]:
    cells: dict[tuple[Any, Any], list[dict[str, float]]] = {}
    for sample, row in zip(samples, rows):
        cells.setdefault(tuple(sample.meta[k] for k in keys), []).append(row)
    table = []
    for key, group in sorted(cells.items()):
        entry: dict[str, Any] = dict(zip(keys, key))
        entry["n"] = len(group)
        for metric in ("near_optimal", "mse", "excess_mse", "optimal_mse"):
            values = [r[metric] for r in group if metric in r]
            if values:
                entry[metric] = float(np.mean(values))
        table.append(entry)
    return table
