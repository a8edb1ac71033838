"""The paper's preprocessing: crop, microvolts, clip at 800 uV, resample to 100 Hz, common average reference,
fixed-length windows. One implementation for simulated and real recordings alike."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly


@dataclass(frozen=True)
class Preprocessing:
    """Parameters of the pipeline (recorded with every result through the task options)."""

    crop_start_s: float = 2.0  # skip the first seconds (electrode settling)
    crop_max_s: float = 30.0  # keep at most this much after the start
    clip_uv: float = 800.0
    sfreq: float = 100.0
    window_s: float = 5.0


def preprocess(data_volts: np.ndarray, sfreq: float, p: Preprocessing = Preprocessing()) -> np.ndarray:
    """[channels, n] volts at `sfreq` -> [windows, channels, window samples] microvolts at p.sfreq, float32."""
    start = int(p.crop_start_s * sfreq)
    x = data_volts[:, start:start + int(p.crop_max_s * sfreq)].astype(np.float64) * 1e6
    x = np.clip(x, -p.clip_uv, p.clip_uv)
    ratio = Fraction(p.sfreq / sfreq).limit_denominator(1000)
    if ratio != 1:
        x = resample_poly(x, ratio.numerator, ratio.denominator, axis=1)
    x = x - x.mean(axis=0, keepdims=True)
    size = int(p.window_s * p.sfreq)
    count = x.shape[1] // size
    if count == 0:
        raise ValueError(f"recording shorter than one {p.window_s} s window after cropping")
    return np.ascontiguousarray(x[:, : count * size].reshape(x.shape[0], count, size).transpose(1, 0, 2), dtype=np.float32)
