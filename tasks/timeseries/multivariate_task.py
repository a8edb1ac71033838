"""syntsbench_multivariate: SynTSBench's multivariate sets, all channels in and out (features M), its own board."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from harness.contracts.runtime import Runtime
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import MetricSpec, Sample, SplitSpec, TaskSpec
from harness.errors import HarnessError
from tasks.timeseries.forecaster import Forecaster
from tasks.timeseries.multivariate_generators import MULTIVARIATE, SIR_DRAWS, MultiGenerated
from tasks.timeseries.task import (
    NEAR_OPTIMAL_TEXT,
    Horizons,
    SeriesOptions,
    SynTSBench,
    metric_table,
    near_optimal,
    shared_protocol,
)
from tasks.timeseries.windows import PreparedChannels, prepare_channels

REFERENCE_HORIZONS = [24, 48, 96, 192]
OFFLINE = SplitSpec(name="offline", source="generated: SynTSBench's multivariate generators, seeded",
                    description="lagged relations 5/10/24/48, sine-noise composite, Lotka-Volterra, SIR and five causal "
                                "sets, length 5000, 2 to 5 channels")
FAMILY = {**{f"Lag{lag}": "lagged" for lag in (5, 10, 24, 48)}, "SinNoiseComposite": "composite",
          "Lotka-Volterra": "dynamical", "SIR-Model": "dynamical"}


class MultivariateOptions(SeriesOptions):
    """Task options for syntsbench_multivariate (set with --task-arg KEY=VALUE)."""

    horizons: Horizons = Field([96], description=f"forecast horizons (default 96; the reference's: {REFERENCE_HORIZONS})")
    sets: list[str] = Field(list(MULTIVARIATE), description="which multivariate sets to generate")

    @field_validator("sets")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(MULTIVARIATE))
        if unknown or not value:
            raise ValueError(f"unknown sets {unknown or value}; choose from {list(MULTIVARIATE)}")
        return value


@dataclass
class MultiSeries:
    """One generated multivariate set."""

    id: str
    family: str
    generated: MultiGenerated


def rng_for(seed: int, set_id: str) -> np.random.RandomState:
    return np.random.RandomState([seed, zlib.crc32(set_id.encode())])


class SynTSBenchMultivariate(SynTSBench):
    """SynTSBench's multivariate sets: every channel forecast from every channel's past, scored per channel."""

    Options = MultivariateOptions
    default_plan: ClassVar[bool] = False  # its own board: run with --task (`harness run --method X` stays syntsbench)
    spec = TaskSpec(
        name="syntsbench_multivariate", family="timeseries", version="1", paper="https://github.com/TanQitai/SynTSBench",
        description="Forecast SynTSBench's multivariate sets (lagged relations, sine-noise composite, Lotka-Volterra, "
                    "SIR, causal sets) with all channels in and out; MSE over channels in scaled units against the "
                    "optimal forecaster where one can be derived.",
        splits=(OFFLINE,),
        metrics=(
            MetricSpec(name="near_optimal", higher_is_better=True,
                       description="share of (set, horizon) cells whose MSE over all channels is near the optimal "
                                   "forecaster's (the syntsbench rule); sets without a derivable optimum are left out"),
            MetricSpec(name="naive_floor", higher_is_better=True,
                       description="the same share for the last-value forecast on the same cells (the floor)"),
            MetricSpec(name="mse", higher_is_better=False, description="test MSE over all channels, scaled units"),
            MetricSpec(name="mae", higher_is_better=False, description="test MAE over all channels, scaled units"),
            MetricSpec(name="excess_mse", higher_is_better=False, description="MSE minus the optimal forecaster's MSE"),
            MetricSpec(name="mse_ratio", higher_is_better=False, description="MSE / the optimal forecaster's MSE"),
            MetricSpec(name="oracle_mse", higher_is_better=False,
                       description="the optimal forecaster's MSE on the same test windows"),
            MetricSpec(name="naive_mse", higher_is_better=False, description="MSE of the last-value forecast (reference)"),
        ),
        main_metric="near_optimal", requires="forecaster",
    )
    display = DisplaySpec(reference=ReferenceSpec(method="naive", kind="floor"))

    def series(self, split: str, seed: int) -> list[MultiSeries]:
        self.spec.split(split)
        return [MultiSeries(name, FAMILY.get(name, "causal"), MULTIVARIATE[name](self.options.length, rng_for(seed, name)))
                for name in self.options.sets]

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        found = []
        o = self.options
        for series in self.series(split, seed):
            for horizon in o.horizons:
                prepared = prepare_channels(series.generated.values, o.input_len, horizon)
                found.append(Sample(id=f"{series.id}-h{horizon}", inputs={"prepared": prepared, "horizon": horizon},
                                    target=channel_optima(series.generated, prepared, o.input_len, horizon),
                                    meta={"series": series.id, "category": series.family, "horizon": horizon,
                                          "channels": list(series.generated.channels)}))
        return found[:limit] if limit else found

    def fit_forecaster(self, method: Forecaster, prepared, runtime: Runtime) -> None:
        method.fit_channels(prepared.train, prepared.val, runtime.seed, runtime.device)

    def forecast(self, method: Forecaster, inputs: np.ndarray, horizon: int) -> np.ndarray:
        forecasts = method.predict_channels(inputs, horizon)
        if forecasts.shape != (*inputs.shape[:2], horizon):
            raise HarnessError(f"{method.name} returned forecasts of shape {forecasts.shape} for inputs {inputs.shape}: "
                               f"a forecaster must map [N, C, input_len] to [N, C, {horizon}]")
        return forecasts

    def error_details(self, error: np.ndarray) -> dict[str, Any]:
        return {"channel_mse": np.mean(error**2, axis=(0, 2)).tolist()}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        target = sample.target
        scores = {"mse": output["mse"], "mae": output["mae"], "naive_mse": target["naive_mse"]}
        scores.update({f"mse_channel_{c}": float(v) for c, v in enumerate(output["channel_mse"])})
        oracle = target["oracle_mse"]
        if oracle is not None:
            scores.update(oracle_mse=oracle, excess_mse=output["mse"] - oracle,
                          near_optimal=float(near_optimal(output["mse"], oracle, target["naive_mse"])),
                          naive_floor=float(near_optimal(target["naive_mse"], oracle, target["naive_mse"])))
            if oracle > 0:
                scores["mse_ratio"] = output["mse"] / oracle
        return scores

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """Per family x horizon, per set x horizon, and per channel x horizon (the reference's per-variable metrics;
        a channel is named "set: column")."""
        metrics = ("near_optimal", "naive_floor", "mse", "excess_mse", "oracle_mse", "naive_mse")
        channels = []
        for sample, row in zip(samples, rows):
            for c, name in enumerate(sample.meta["channels"]):
                entry = {"channel": f"{sample.meta['series']}: {name}", "horizon": sample.meta["horizon"],
                         "mse": row[f"mse_channel_{c}"], "naive_mse": sample.target["naive_channel_mse"][c]}
                if sample.target["oracle_channel_mse"] is not None:
                    entry["oracle_mse"] = sample.target["oracle_channel_mse"][c]
                channels.append(entry)
        return {"by_category_horizon": metric_table(samples, rows, ("category", "horizon"), metrics),
                "by_series_horizon": metric_table(samples, rows, ("series", "horizon"), metrics),
                "by_series_channel": channels}

    def protocol(self) -> dict[str, Any]:
        without = {name: why for name, why in WITHOUT_OPTIMUM.items() if name in self.options.sets}
        return {
            **shared_protocol(self.options.input_len, self.options.horizons, "all channels in and out (features M)"),
            "scaling": "one standard scaler per channel fitted on the training part; errors are in its units (the "
                       "reference reports raw units with --inverse, where the largest channel dominates)",
            "channels": "every channel is scored; mse is the mean over channels, steps and windows; per-channel MSE "
                        "in the by_series_channel breakdown",
            "forecasters": "channel-independent forecasters (the default) see one channel at a time with weights shared "
                           "across channels, as the reference's models; channel-mixing ones (mlp, var) see all channels",
            "optimum": "the optimal forecaster's MSE on the same test windows: for Lag k, A ahead is 0 and B ahead is A "
                       "k steps earlier while that lies in the input; SinNoiseComposite: sine, 0, sine; Lotka-Volterra: "
                       "E[max(trajectory + noise, 0.01)] (closed form); SIR: the mean of its floored, renormalised "
                       f"noisy trajectory (Monte Carlo, {SIR_DRAWS} draws per step); Weather-Sales and Intervention-Effect: each "
                       "channel's mean at each step (their noise is independent over time)",
            "without_optimum": without,
            "near_optimal": NEAR_OPTIMAL_TEXT + f"; sets without an optimum are left out: {list(without) or 'none'}",
            "horizons": f"{self.options.horizons} (the reference's: {REFERENCE_HORIZONS}, --task-arg horizons=...)",
        }


WITHOUT_OPTIMUM = {
    "Ad-Sales": "campaigns start at random times, which the optimal forecast would have to weigh",
    "Macro-Economy": "the interest rate's level is hidden under noise and its moves are clipped",
    "Supply-Demand-Price": "random shocks and floors inside a feedback loop",
}


def channel_optima(generated: MultiGenerated, prepared: PreparedChannels, input_len: int, horizon: int) -> dict[str, Any]:
    """The optimal forecaster's and the last-value forecast's MSE on the test windows, over channels and per channel
    (scaled units); the optimal ones None where the set has no derivable optimum."""
    test = prepared.test
    naive = (test.inputs[..., -1:] - test.targets) ** 2
    out: dict[str, Any] = {"naive_mse": float(naive.mean()), "naive_channel_mse": naive.mean(axis=(0, 2)).tolist(),
                           "oracle_mse": None, "oracle_channel_mse": None}
    if generated.oracle is not None:
        best = generated.oracle.forecasts(generated.values, prepared.test_start + input_len, horizon)
        scaled = (best - prepared.train_mean[None, :, None]) / np.sqrt(prepared.train_variance)[None, :, None]
        error = (scaled - test.targets) ** 2
        out.update(oracle_mse=float(error.mean()), oracle_channel_mse=error.mean(axis=(0, 2)).tolist())
    return out
