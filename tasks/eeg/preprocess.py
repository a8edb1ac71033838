"""The paper's preprocessing: crop, microvolts, clip at 800 uV, resample to 100 Hz, common average reference; then
fixed-length windows. One implementation for simulated and real recordings alike."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly


@dataclass(frozen=True)
class Preprocessing:
    """Parameters of the pipeline (recorded with every result through the task options). The defaults are the
    paper's (APD_EEG's s1_data_preparation: crop tmin=60 s, tmax=360 s, so at most 5 minutes are kept)."""

    crop_start_s: float = 60.0  # skip the first minute (electrode settling, the technician's checks)
    crop_max_s: float = 300.0  # keep at most this much after the start
    clip_uv: float = 800.0
    sfreq: float = 100.0


def preprocess(data_volts: np.ndarray, sfreq: float, p: Preprocessing = Preprocessing()) -> np.ndarray:
    """[channels, n] volts at `sfreq` -> [channels, m] microvolts at p.sfreq, float32."""
    start = int(p.crop_start_s * sfreq)
    x = data_volts[:, start:start + int(p.crop_max_s * sfreq)].astype(np.float64) * 1e6
    if x.shape[1] == 0:
        raise ValueError(f"recording shorter than the {p.crop_start_s} s skipped at its start")
    x = np.clip(x, -p.clip_uv, p.clip_uv)
    ratio = Fraction(p.sfreq / sfreq).limit_denominator(1000)
    if ratio != 1:
        x = resample_poly(x, ratio.numerator, ratio.denominator, axis=1)
    return np.ascontiguousarray(x - x.mean(axis=0, keepdims=True), dtype=np.float32)


def window_starts(n: int, size: int, stride: int, cover_end: bool) -> np.ndarray:
    """Start samples of the windows of a length-n signal; `cover_end` adds one ending at the last sample (braindecode's
    drop_last_window=False)."""
    if n < size:
        return np.zeros(0, dtype=int)
    starts = np.arange(0, n - size + 1, stride)
    if cover_end and starts[-1] != n - size:
        starts = np.append(starts, n - size)
    return starts


def cut(signal: np.ndarray, size: int, stride: int, cover_end: bool = False) -> np.ndarray:
    """[channels, n] -> [windows, channels, size] (copies)."""
    starts = window_starts(signal.shape[1], size, stride, cover_end)
    return np.stack([signal[:, s:s + size] for s in starts]) if len(starts) else np.zeros((0, signal.shape[0], size), np.float32)
