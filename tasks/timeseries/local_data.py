"""The real-data path: SynTSBench's generated CSV files (date, Feature1) from a local folder, read with `datasets`.

The optimum is known from the file name where SynTSBench's naming says it: `_raw_` files are noise-free
(optimum 0) and `_SNR{x}dB_` files carry white noise whose variance follows from the series' variance
(Var(noisy) = Var(signal) (1 + 10^(-SNR/10))). Other files get MSE and MAE only.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from harness.contracts.real_data import read_table
from harness.errors import HarnessError
from tasks.timeseries.suite import Series

SNR = re.compile(r"_SNR(-?\d+(?:\.\d+)?)dB")


def csv_files(folder: str | None) -> list[Path]:
    if not folder:
        raise HarnessError("the local split needs a folder: add --task-arg data_dir=/path/to/SynTSBench/csvs")
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise HarnessError(f"data folder {root} does not exist: pass a folder of SynTSBench CSV files with --task-arg data_dir=...")
    files = sorted(root.rglob("*.csv"))
    if not files:
        raise HarnessError(f"no .csv files under {root}: SynTSBench writes one CSV per series (columns date, Feature1)")
    return files


def read_series(path: Path, category: str) -> Series:
    """One SynTSBench CSV through `datasets` (harness.contracts.real_data): its last column is the series."""
    table = read_table(str(path))
    try:
        column = list(table.rows[0])[-1]
        values = np.array([row[column] for row in table.rows], dtype=np.float64)
    except (IndexError, TypeError, ValueError) as exc:
        raise HarnessError(f"{path} is not a SynTSBench CSV ({exc}): expected columns date, Feature1") from None
    if len(values) < 500 or not np.isfinite(values).all():
        raise HarnessError(f"{path} has {len(values)} values or non-finite ones: each series needs at least 500 finite values")
    snr = SNR.search(path.stem)
    noise = float(np.var(values) / (10 ** (float(snr.group(1)) / 10) + 1)) if snr else 0.0
    known = snr is not None or "_raw" in path.stem
    return Series(path.stem, category, path.stem, values, noise_variance=noise if known else float("nan"),
                  clean=values if snr is None and "_raw" in path.stem else None)


def folder_sha256(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
