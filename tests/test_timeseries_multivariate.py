"""SynTSBench's complex univariate series and multivariate sets: generators, optima, channel protocols, end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from harness.contracts.registry import METHODS, TASKS
from harness.contracts.runtime import Runtime
from tasks.timeseries.complex_generators import COMPLEX
from tasks.timeseries.multivariate_generators import MULTIVARIATE
from tasks.timeseries.optimum import oracle_forecasts
from tasks.timeseries.windows import prepare_channels
from tests.conftest import harness_cli

N = 1000
CPU = Runtime(device=torch.device("cpu"), seed=0)


@pytest.mark.parametrize("name", list(COMPLEX))
def test_complex_generators_are_deterministic_per_seed(name):
    first, again, other = (COMPLEX[name](N, np.random.RandomState(s)) for s in (3, 3, 4))
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.array_equal(first.values, other.values) and np.isfinite(first.values).all()


def test_complex_generators_follow_their_definitions():
    rng = np.random.RandomState(0)
    site = COMPLEX["Website-Traffic"](5000, rng)
    assert np.std(site.values - site.clean) == pytest.approx(1.5, rel=0.05) and site.noise_variance == 2.25
    assert np.mean(site.clean[2500:]) - np.mean(site.clean[:2500]) == pytest.approx(5, abs=0.5)
    walk = COMPLEX["Economic-Indicator"](5000, np.random.RandomState(0))
    rest = walk.values - np.cumsum(walk.walk)  # the deterministic part: trend + two cycles
    np.testing.assert_allclose(rest, 0.005 * np.arange(5000) + 2 * np.sin(2 * np.pi * 0.01 * np.arange(5000))
                               + np.sin(2 * np.pi * 0.05 * np.arange(5000) + 0.5), atol=1e-9)
    sensor = COMPLEX["Industrial-Sensor"](5000, np.random.RandomState(0))
    spikes = sensor.values - sensor.clean
    assert np.abs(spikes[2500:]).max() < 6 * np.sqrt(sensor.noise_variance[2500:]).max()  # only noise after failure
    assert np.abs(spikes[2000:2500]).max() > 3  # warning spikes of 3 to 8 before it
    assert COMPLEX["Stock-Price"](5000, np.random.RandomState(0)).values.min() >= 10  # the floor
    assert COMPLEX["Retail-Sales"](5000, np.random.RandomState(0)).clean is None  # no optimum for random promotions


def test_multivariate_generators_follow_their_definitions():
    for name, make in MULTIVARIATE.items():
        first, again = make(N, np.random.RandomState(1)), make(N, np.random.RandomState(1))
        np.testing.assert_array_equal(first.values, again.values)
        assert first.values.shape == (len(first.channels), N) and np.isfinite(first.values).all(), name
    lag = MULTIVARIATE["Lag24"](N, np.random.RandomState(0)).values
    np.testing.assert_array_equal(lag[1, 24:], lag[0, :-24])
    a, b, c = MULTIVARIATE["SinNoiseComposite"](N, np.random.RandomState(0)).values
    np.testing.assert_allclose(c, a + b)
    np.testing.assert_allclose(a, np.sin(2 * np.pi * 0.05 * np.arange(N)))
    assert np.var(b) == pytest.approx(np.var(a), rel=0.1)  # 0 dB
    sir = MULTIVARIATE["SIR-Model"](N, np.random.RandomState(0))
    np.testing.assert_allclose(sir.values.sum(axis=0), 1000)
    assert np.abs(sir.oracle.mean - sir.values).mean() < 0.02 * 1000
    lv = MULTIVARIATE["Lotka-Volterra"](N, np.random.RandomState(0))
    noise = lv.values - lv.oracle.mean
    assert noise.mean(axis=1) == pytest.approx([0, 0], abs=0.1)
    np.testing.assert_allclose(noise.std(axis=1), 0.02 * np.ptp(lv.oracle.mean, axis=1), rtol=0.1)
    intervention = MULTIVARIATE["Intervention-Effect"](5000, np.random.RandomState(0))
    np.testing.assert_allclose((intervention.values - intervention.oracle.mean).std(axis=1), [1, 0.5, 2, 3], rtol=0.05)
    assert MULTIVARIATE["Macro-Economy"](N, np.random.RandomState(0)).oracle is None


def test_the_oracle_reaches_its_optimum_and_naive_fails_where_it_cannot_forecast():
    complex_task = TASKS.get("syntsbench_complex")({"length": 2000, "horizons": [24]})
    series = {s.id: s for s in complex_task.series("offline", 0)}
    for sample in complex_task.samples("offline", None, 0):
        source, prepared = series[sample.meta["series"]], sample.inputs["prepared"]
        best = oracle_forecasts(source.values, prepared.test_start, 96, 24, source.clean, source.process, source.innovations)
        if best is None:
            assert sample.meta["category"] == "without_optimum"
            assert "near_optimal" not in complex_task.score(sample, {"mse": 1.0, "mae": 1.0})
            continue
        mse = float(np.mean(((best - prepared.train_mean) / np.sqrt(prepared.train_variance) - prepared.test.targets) ** 2))
        scores = complex_task.score(sample, {"mse": mse, "mae": 0.0})
        assert scores["near_optimal"] == 1.0 and scores["naive_floor"] == 0.0, sample.id
    assert {s.id for s in series.values() if s.category == "without_optimum"} == {
        "Stock-Price", "Electricity-Consumption", "Network-Traffic", "Retail-Sales"}

    task = TASKS.get("syntsbench_multivariate")({"length": 2000, "horizons": [24]})
    sets = {s.id: s for s in task.series("offline", 0)}
    for sample in task.samples("offline", None, 0):
        generated, prepared = sets[sample.meta["series"]].generated, sample.inputs["prepared"]
        if generated.oracle is None:
            assert sample.target["oracle_mse"] is None and "near_optimal" not in task.score(sample, {"mse": 1, "mae": 1, "channel_mse": [1] * len(generated.channels)})
            continue
        best = generated.oracle.forecasts(generated.values, prepared.test_start + 96, 24)
        scaled = (best - prepared.train_mean[None, :, None]) / np.sqrt(prepared.train_variance)[None, :, None]
        error = scaled - prepared.test.targets
        scores = task.score(sample, {"mse": float(np.mean(error**2)), "mae": 0.0, "channel_mse": list(np.mean(error**2, axis=(0, 2)))})
        assert scores["near_optimal"] == 1.0 and scores["naive_floor"] == 0.0, sample.id
        assert scores["oracle_mse"] < sample.target["naive_mse"]
    # Lag k at horizon 24: B is known from the input for its first k steps, so its optimum is about (24 - k) / 24
    for lag in (5, 10):
        target = next(s.target for s in task.samples("offline", None, 0) if s.id == f"Lag{lag}-h24")
        assert target["oracle_channel_mse"][1] == pytest.approx((24 - lag) / 24, rel=0.15)
    with_optimum = {s.id for s in sets.values() if s.generated.oracle is not None}
    assert with_optimum == set(MULTIVARIATE) - {"Ad-Sales", "Macro-Economy", "Supply-Demand-Price"}


def test_channel_protocols_and_shapes():
    prepared = prepare_channels(MULTIVARIATE["Weather-Sales"](N, np.random.RandomState(0)).values, 32, 8)
    assert prepared.train.inputs.shape[1:] == (5, 32) and prepared.test.targets.shape[1:] == (5, 8)
    np.testing.assert_allclose(prepared.train.inputs[:, :, 0].std(axis=0), 1, rtol=0.05)  # a scaler per channel
    fast = {"epochs": 1}
    for name, params in {"naive": {}, "seasonal_naive": {}, "nlinear": fast, "dlinear": fast, "mlp": fast,
                         "patchtst": fast, "var": {}}.items():
        method = METHODS.get(name)(params)
        method.fit_channels(prepared.train, prepared.val, 0, torch.device("cpu"))
        forecast = method.predict_channels(prepared.test.inputs, 8)
        assert forecast.shape == prepared.test.targets.shape and np.isfinite(forecast).all(), name
        changed = prepared.test.inputs.copy()
        changed[:, 1, :10] += 1.0  # the start of another channel's window (not a shift: mlp works relative to the last value)
        moved = np.abs(method.predict_channels(changed, 8)[:, 0] - forecast[:, 0]).max()
        assert (moved > 1e-6) == (name in ("mlp", "var")), name  # only channel-mixing forecasters use it
    dlinear = METHODS.get("dlinear")(fast)
    dlinear.fit_channels(prepared.train, prepared.val, 0, torch.device("cpu"))
    alone = dlinear.predict(prepared.test.inputs[:, 2], 8)  # one model, shared by all channels
    np.testing.assert_allclose(dlinear.predict_channels(prepared.test.inputs, 8)[:, 2], alone, rtol=1e-6)


def test_var_beats_channel_independent_dlinear_on_a_lagged_relation():
    task = TASKS.get("syntsbench_multivariate")({"length": 1500, "input_len": 32, "horizons": [24], "sets": ["Lag10"]})
    [sample] = task.samples("offline", None, 0)
    var = task.score(sample, task.predict(sample, METHODS.get("var")(), CPU))
    dlinear = task.score(sample, task.predict(sample, METHODS.get("dlinear")({"epochs": 3}), CPU))
    assert var["mse"] < dlinear["mse"] - 0.1 and var["near_optimal"] == 1.0 and dlinear["near_optimal"] == 0.0
    assert var["mse_channel_1"] < 0.7 < dlinear["mse_channel_1"]  # B's first 10 steps are A's past


def test_runs_record_channels_and_leave_sets_without_optimum_out(tmp_path):
    proc = harness_cli("run", "--task", "syntsbench_multivariate", "--method", "var", "--task-arg", 'sets=["Lag5","Ad-Sales"]',
                       "--task-arg", "length=1000", "--task-arg", "horizons=[24]", "--out", str(tmp_path), "--repeats", "1")
    assert proc.returncode == 0, proc.stderr
    [path] = list(tmp_path.rglob("*.json"))
    record = json.loads(path.read_text())
    assert record["metrics"]["near_optimal"]["n"] == 1 and record["metrics"]["mse"]["n"] == 2  # Ad-Sales: no optimum
    channels = record["breakdowns"]["by_series_channel"]
    assert [r["channel"] for r in channels] == ["Lag5: FeatureA_WhiteNoise", "Lag5: FeatureB_Lag5", "Ad-Sales: ad_spend",
                                                "Ad-Sales: sales"]
    assert "oracle_mse" in channels[0] and "oracle_mse" not in channels[2]
    assert "Ad-Sales" in record["task"]["protocol"]["without_optimum"]
    proc = harness_cli("run", "--task", "syntsbench_complex", "--method", "naive", "--task-arg", 'series=["Website-Traffic","Retail-Sales"]',
                       "--task-arg", "length=1000", "--task-arg", "horizons=[24]", "--out", str(tmp_path), "--repeats", "1")
    assert proc.returncode == 0, proc.stderr
    assert harness_cli("validate", str(tmp_path)).returncode == 0


@pytest.mark.parametrize("task, arg, message", [
    ("syntsbench_multivariate", 'sets=["Lag7"]', "unknown sets ['Lag7']"),
    ("syntsbench_complex", 'series=["Stock"]', "unknown series ['Stock']"),
    ("syntsbench_multivariate", "horizons=[0]", "horizons must be a non-empty list"),
])
def test_bad_options_are_one_line(tmp_path, task, arg, message):
    proc = harness_cli("run", "--task", task, "--method", "naive", "--task-arg", arg, "--out", str(tmp_path))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
