"""Run SynTSBench's own generator notebooks beside ours and compare the series numerically.

Usage: python benchmarks/syntsbench_reference.py PATH/TO/SynTSBench/Data_generation

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
from tasks.timeseries.suite import clean_signals  # noqa: E402

SKIP = ("statsmodels", "matplotlib", "seaborn")


def notebook_functions(path: Path) -> dict:
    cells = json.loads(path.read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    tree = ast.parse(source)
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


def main(folder: str) -> None:
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
