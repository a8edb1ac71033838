"""syntsbench_complex: SynTSBench's complex univariate series under the syntsbench protocol, its own board."""

from __future__ import annotations

import zlib
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import SplitSpec, TaskSpec
from tasks.timeseries.complex_generators import COMPLEX
from tasks.timeseries.optimum import Process
from tasks.timeseries.suite import Series
from tasks.timeseries.task import NEAR_OPTIMAL_TEXT, Horizons, SeriesOptions, SynTSBench, shared_protocol
from tasks.timeseries.windows import borders

REFERENCE_HORIZONS = [24, 48, 96, 192]
OFFLINE = SplitSpec(name="offline", source="generated: SynTSBench's complex univariate generators, seeded",
                    description="ten composite series of length 5000 (stock price ... temperature sensor)")


class ComplexOptions(SeriesOptions):
    """Task options for syntsbench_complex (set with --task-arg KEY=VALUE)."""

    horizons: Horizons = Field([96], description=f"forecast horizons (default 96; the reference's: {REFERENCE_HORIZONS})")
    series: list[str] = Field(list(COMPLEX), description="which complex series to generate")

    @field_validator("series")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(COMPLEX))
        if unknown or not value:
            raise ValueError(f"unknown series {unknown or value}; choose from {list(COMPLEX)}")
        return value


def rng_for(seed: int, series_id: str) -> np.random.RandomState:
    """The series' own legacy generator (the notebooks draw from numpy's global RandomState)."""
    return np.random.RandomState([seed, zlib.crc32(series_id.encode())])


def build_complex(n: int, seed: int, names: list[str]) -> list[Series]:
    """The chosen complex series; those whose optimum cannot be derived get a NaN noise variance and no oracle."""
    found = []
    for name in names:
        made = COMPLEX[name](n, rng_for(seed, name))
        variance = made.noise_variance
        if isinstance(variance, np.ndarray):  # heteroscedastic noise: its mean over the test part
            variance = float(np.mean(variance[n - borders(n)[2]:]))
        if made.walk is not None:
            found.append(Series(name, "with_optimum", name, made.values, noise_variance=0.0,
                                process=Process("random_walk", 0.04), innovations=made.walk))
        else:
            found.append(Series(name, "with_optimum" if made.clean is not None else "without_optimum", name, made.values,
                                noise_variance=float(variance), clean=made.clean))
    return found


class SynTSBenchComplex(SynTSBench):
    """SynTSBench's ten complex univariate series; near_optimal only where the optimum can be derived."""

    Options = ComplexOptions
    default_plan: ClassVar[bool] = False  # its own board: run with --task (`harness run --method X` stays syntsbench)
    spec = TaskSpec(
        name="syntsbench_complex", family="timeseries", version="1", paper="https://github.com/TanQitai/SynTSBench",
        description="Forecast SynTSBench's ten complex univariate series (stock price, electricity, industrial sensor "
                    "and its normal variant, network traffic, retail sales, economic indicator, IoT battery, website "
                    "traffic, temperature sensor) after training per series; near_optimal on the six with an optimum.",
        splits=(OFFLINE,),
        metrics=SynTSBench.spec.metrics, main_metric="near_optimal", requires="forecaster",
    )
    display = DisplaySpec(reference=ReferenceSpec(method="naive", kind="floor"))

    def series(self, split: str, seed: int) -> list[Series]:
        self.spec.split(split)
        return build_complex(self.options.length, seed, self.options.series)

    def horizons_for(self, series: Series) -> list[int]:
        return self.options.horizons

    def protocol(self) -> dict[str, Any]:
        without = [s for s in self.options.series if s in WITHOUT_OPTIMUM]
        return {
            **shared_protocol(self.options.input_len, self.options.horizons),
            "optimum": "the optimal forecaster's MSE on the series' own test windows: the deterministic part where the "
                       "rest is independent noise (industrial sensors, IoT battery, website traffic, temperature "
                       "sensor; the failing sensor's random warning spikes lie before its failure, in the training "
                       "part), the deterministic part ahead plus the walk's last value for the economic indicator",
            "without_optimum": {name: WITHOUT_OPTIMUM[name] for name in without},
            "near_optimal": NEAR_OPTIMAL_TEXT + f"; series without an optimum are left out: {without or 'none'}",
            "horizons": f"{self.options.horizons} (the reference's: {REFERENCE_HORIZONS}, --task-arg horizons=...)",
            "generators": "the notebook's functions and parameters, each series from its own seeded RandomState",
        }


WITHOUT_OPTIMUM = {
    "Stock-Price": "a random walk plus GARCH noise under a floor: the walk cannot be separated from the observed sum",
    "Electricity-Consumption": "demand spikes of random start, width and height",
    "Network-Traffic": "bursts and downtimes of random start",
    "Retail-Sales": "promotions of random start, width and height",
}
