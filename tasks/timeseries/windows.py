"""SynTSBench's protocol: 70/10/20 split, a standard scaler fitted on train, sliding input/horizon windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

TRAIN_FRACTION, TEST_FRACTION = 0.7, 0.2


@dataclass
class Windows:
    """Inputs [N, input_len] and targets [N, horizon], in scaled units."""

    inputs: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.inputs)


@dataclass
class Prepared:
    """One series cut for one horizon: train/val/test windows and the scaler's training variance."""

    train: Windows
    val: Windows
    test: Windows
    train_variance: float
    train_mean: float = 0.0
    test_start: int = 0  # index into the series where the first test window starts


def windows(x: np.ndarray, input_len: int, horizon: int) -> Windows:
    if len(x) < input_len + horizon:
        return Windows(np.empty((0, input_len)), np.empty((0, horizon)))
    view = sliding_window_view(x, input_len + horizon)
    return Windows(np.ascontiguousarray(view[:, :input_len]), np.ascontiguousarray(view[:, input_len:]))


def prepare(values: np.ndarray, input_len: int, horizon: int) -> Prepared:
    """Borders as Time-Series-Library's Dataset_Custom: val and test windows start input_len before their part."""
    n = len(values)
    num_train, num_test = int(n * TRAIN_FRACTION), int(n * TEST_FRACTION)
    num_val = n - num_train - num_test
    train_raw = values[:num_train]
    std = float(train_raw.std()) or 1.0
    scaled = (values - train_raw.mean()) / std
    return Prepared(
        train=windows(scaled[:num_train], input_len, horizon),
        val=windows(scaled[num_train - input_len:num_train + num_val], input_len, horizon),
        test=windows(scaled[n - num_test - input_len:], input_len, horizon),
        train_variance=std**2, train_mean=float(train_raw.mean()), test_start=n - num_test - input_len,
    )
