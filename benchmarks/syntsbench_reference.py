"""Run SynTSBench's own generator notebooks beside ours and compare the series numerically.

Usage: python benchmarks/syntsbench_reference.py PATH/TO/SynTSBench/Data_generation

The complex univariate series and the multivariate sets draw from a RandomState in the notebooks' order, so those
are compared sample by sample: the reference's function on numpy's global RNG seeded with s against ours on
RandomState(s), the maximum absolute difference per series.

Only the notebooks' function definitions are executed (their saving and plotting are replaced by a capture), with
the notebooks' own seed 0; nothing of the reference is copied here. Noise and anomalies use numpy's global RNG in
the reference and seeded generators here, so those are compared by their statistics, not sample by sample.
"""

from __future__ import annotations

import ast
import builtins
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tasks.timeseries import generators as g  # noqa: E402
from tasks.timeseries.complex_generators import COMPLEX  # noqa: E402
from tasks.timeseries.multivariate_generators import MULTIVARIATE  # noqa: E402
from tasks.timeseries.suite import clean_signals  # noqa: E402

SKIP = ("statsmodels", "matplotlib", "seaborn")


class DropReseed(ast.NodeTransformer):
    """Removes `np.random.seed(seed)` from generate_garch_signal, which reseeds from OS entropy (seed=None)."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name == "generate_garch_signal":
            node.body = [n for n in node.body if ast.unparse(n) != "np.random.seed(seed)"]
        return node


def notebook_functions(path: Path, drop_reseed: bool = False) -> dict:
    cells = json.loads(path.read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    tree = ast.parse(source)
    if drop_reseed:
        tree = DropReseed().visit(tree)
    keep = [n for n in tree.body if isinstance(n, ast.FunctionDef)
            or (isinstance(n, (ast.Import, ast.ImportFrom)) and not any(m in ast.unparse(n) for m in SKIP))]
    namespace: dict = {}
    exec(compile(ast.Module(keep, []), str(path), "exec"), namespace)
    return namespace


def reference_series(folder: Path) -> dict[tuple[str, str], np.ndarray]:
    captured: dict[tuple[str, str], np.ndarray] = {}
    for name in ("trend", "period", "longdistance", "noise", "anomaly"):
        ns = notebook_functions(folder / f"data_generate_{name}.ipynb")
        ns["save_signal"] = lambda signal, folder, name, dataset_id=None, category=None, length=None, **_: \
            captured.__setitem__((name, category), np.asarray(signal, dtype=float))
        ns["plot_signals"] = lambda *a, **k: None
        quiet, builtins.print = builtins.print, (lambda *a, **k: None)
        try:
            ns["generate_and_save_datasets"](0, "/nonexistent", 1)
        finally:
            builtins.print = quiet
    return captured


def periodic_misses(x: np.ndarray, period: int = 20) -> tuple[int, float]:
    """Samples that differ from one period earlier, and a perfect period forecaster's MSE on the last 20% (train std)."""
    miss = np.abs(x[period:] - x[:-period]) > 1e-9
    scale = x[: int(0.7 * len(x))].std()
    return int(miss.sum()), float(np.mean(((x[period:] - x[:-period]) / scale)[-len(x) // 5:] ** 2))


def seeded(seed: int, make):
    """Run a reference function on numpy's global RNG seeded with `seed`, its prints silenced."""
    np.random.seed(seed)
    quiet, builtins.print = builtins.print, (lambda *a, **k: None)
    try:
        return make()
    finally:
        builtins.print = quiet


def reference_complex(folder: Path, seed: int, n: int = 5000) -> dict[str, np.ndarray]:
    """The complex univariate notebook's ten series, each from numpy's global RNG seeded with `seed` (the notebook
    draws them all from one stream; here each starts afresh so that every series can be compared on its own)."""
    ns = notebook_functions(folder / "data_generate_complex-univariate-multivariate.ipynb", drop_reseed=True)
    calls = {
        "Stock-Price": lambda: ns["generate_stock_price"](n, volatility=0.8),
        "Electricity-Consumption": lambda: ns["generate_electricity_consumption"](n, hourly_samples=24),
        "Industrial-Sensor": lambda: ns["generate_industrial_sensor"](n, failure_point=2500),
        "Industrial-Sensor-Normal": lambda: ns["generate_industrial_sensor"](n),
        "Network-Traffic": lambda: ns["generate_network_traffic"](n, hourly_samples=24),
        "Retail-Sales": lambda: ns["generate_retail_sales"](n, days_per_sample=1),
        "Economic-Indicator": lambda: ns["generate_linear_signal"](n, slope=0.005) + ns["generate_composite_sine"](
            n, [(2, 0.01, 0), (1, 0.05, 0.5)]) + 0.2 * ns["generate_random_walk"](n),
        "IoT-Sensor-Battery": lambda: 100 - (ns["generate_power_law_signal"](n, a=0.001, b=1.5) + 5 * ns[
            "generate_sine_wave"](n, amplitude=0.2, frequency=0.1) + ns["generate_white_noise"](n, std=0.3)),
        "Website-Traffic": lambda: ns["generate_composite_sine"](n, [(10, 1 / 24, 0), (5, 1 / (24 * 7), np.pi / 2), (
            3, 1 / (24 * 30), np.pi / 4)]) + ns["generate_step_signal"](n, t0=n // 2, c=0, d=5) + ns[
            "generate_white_noise"](n, std=1.5),
        "Temperature-Sensor": lambda: 25 + 10 * ns["generate_sine_wave"](n, amplitude=1, frequency=1 / (24 * 365)) + 3 * ns[
            "generate_sine_wave"](n, amplitude=1, frequency=1 / 24) + ns["generate_white_noise"](n, std=0.8),
    }
    return {name: np.asarray(seeded(seed, make), dtype=float) for name, make in calls.items()}


def reference_multivariate(folder: Path, seed: int, n: int = 5000) -> dict[str, np.ndarray]:
    """The multivariate sets [C, n] from the two notebooks, each from numpy's global RNG seeded with `seed`."""
    rel = notebook_functions(folder / "data_generate_multivariate-relationship.ipynb")
    ns = notebook_functions(folder / "data_generate_complex-univariate-multivariate.ipynb")
    ns["save_causal_data"] = lambda *a, **k: None

    def lotka_volterra():
        params = {"alpha": 1.0 + 0.2 * (np.random.random() - 0.5), "beta": 0.1 + 0.02 * (np.random.random() - 0.5),
                  "delta": 0.075 + 0.015 * (np.random.random() - 0.5), "gamma": 1.5 + 0.3 * (np.random.random() - 0.5)}
        return ns["generate_lotka_volterra"](n=n, params=params, noise_level=0.02)[1:]

    def sir():
        params = {"beta": 0.3 + 0.06 * (np.random.random() - 0.5), "gamma": 0.1 + 0.02 * (np.random.random() - 0.5), "N": 1000}
        return ns["generate_sir_model"](n=n, params=params, noise_level=0.01)[1:]

    def frame(name, drop=()):
        return lambda: ns[name](n, "/nonexistent").drop(columns=["date", *drop]).to_numpy().T

    calls = {**{f"Lag{lag}": (lambda lag: lambda: rel["generate_lagged_features"](n, lag_window=lag))(lag) for lag in (5, 10, 24, 48)},
             "SinNoiseComposite": lambda: rel["generate_sin_noise_composite"](n, 0.05, 1, 0),
             "Lotka-Volterra": lotka_volterra, "SIR-Model": sir,
             "Weather-Sales": frame("generate_weather_sales_data"),
             "Ad-Sales": frame("generate_ad_sales_data", ("base_sales",)),
             "Macro-Economy": frame("generate_macro_economy_data"),
             "Supply-Demand-Price": frame("generate_supply_demand_price_data", ("supply_shock", "demand_shock")),
             "Intervention-Effect": frame("generate_intervention_effect_data", ("intervention",))}
    return {name: np.asarray(seeded(seed, make), dtype=float) for name, make in calls.items()}


def compare_complex_and_multivariate(folder: Path, seed: int = 0) -> None:
    """Same seed on both sides (the reference's global RNG, our RandomState): max |reference - ours| per series."""
    ref = reference_complex(folder, seed)
    for name, make in COMPLEX.items():
        diff = float(np.max(np.abs(ref[name] - make(5000, np.random.RandomState(seed)).values)))
        print(f"{name:28s} max |reference - ours| = {diff:.3g}")
    ref = reference_multivariate(folder, seed)
    for name, make in MULTIVARIATE.items():
        ours = make(5000, np.random.RandomState(seed)).values
        diff = float(np.max(np.abs(ref[name] - ours))) if ref[name].shape == ours.shape else float("nan")
        print(f"{name:28s} max |reference - ours| = {diff:.3g} (channels {ours.shape[0]}, reference {ref[name].shape[0]})")
    garch = notebook_functions(folder / "data_generate_complex-univariate-multivariate.ipynb")["generate_garch_signal"]
    runs = [seeded(seed, lambda: garch(100, omega=0.1, alpha=0.15, beta=0.8))[0] for _ in range(2)]
    print(f"reference GARCH as published, two runs on seed {seed} equal: {bool(np.array_equal(*runs))} "
          "(it calls np.random.seed(None); compared above without that call)")


def main(folder: str) -> None:
    compare_complex_and_multivariate(Path(folder))
    ref = reference_series(Path(folder))
    ours = clean_signals(5000)
    for (name, category), values in sorted(ref.items()):
        if category == "raw" and name in ours:
            diff = float(np.max(np.abs(values - ours[name]())))
            print(f"{name:28s} max |reference - ours| = {diff:.3g}")
    for name in ("Sawtooth-Wave", "Square-Wave"):
        r, o = periodic_misses(ref[(name, "raw")]), periodic_misses(ours[name]())
        print(f"{name}: samples off the period-20 pattern / perfect periodic forecaster MSE: reference {r[0]} / "
              f"{r[1]:.3g}, ours {o[0]} / {o[1]:.3g}")
    for (name, category), values in sorted(ref.items()):
        if category.startswith("SNR") and name in ours:
            clean = ours[name]()
            snr = float(category[3:-2])
            print(f"{name} {category}: noise variance reference {np.var(values - clean):.4g}, "
                  f"formula {g.noise_variance_for_snr(clean, snr):.4g}")


if __name__ == "__main__":
    main(sys.argv[1])
