"""SynTSBench's protocol: 70/10/20 split, a standard scaler fitted on train, sliding input/horizon windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

TRAIN_FRACTION, TEST_FRACTION = 0.7, 0.2


@dataclass
class Windows:
    """Inputs [N, input_len] and targets [N, horizon] (or [N, C, ...] for several channels), in scaled units."""

    inputs: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.inputs)

    def channels_as_samples(self) -> "Windows":
        """[N, C, L] -> [N * C, L]: every channel of every window as one univariate window (channel-independent)."""
        return Windows(self.inputs.reshape(-1, self.inputs.shape[-1]), self.targets.reshape(-1, self.targets.shape[-1]))


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


def borders(n: int) -> tuple[int, int, int]:
    """Train, validation and test lengths of a series of n steps (70/10/20, Time-Series-Library's rounding)."""
    num_train, num_test = int(n * TRAIN_FRACTION), int(n * TEST_FRACTION)
    return num_train, n - num_train - num_test, num_test


def prepare(values: np.ndarray, input_len: int, horizon: int) -> Prepared:
    """Borders as Time-Series-Library's Dataset_Custom: val and test windows start input_len before their part."""
    n = len(values)
    num_train, num_val, num_test = borders(n)
    train_raw = values[:num_train]
    std = float(train_raw.std()) or 1.0
    scaled = (values - train_raw.mean()) / std
    return Prepared(
        train=windows(scaled[:num_train], input_len, horizon),
        val=windows(scaled[num_train - input_len:num_train + num_val], input_len, horizon),
        test=windows(scaled[n - num_test - input_len:], input_len, horizon),
        train_variance=std**2, train_mean=float(train_raw.mean()), test_start=n - num_test - input_len,
    )


@dataclass
class PreparedChannels:
    """A multichannel series cut for one horizon: windows [N, C, input_len] -> [N, C, horizon] and the per-channel
    scaler (mean, variance [C]) fitted on the training part."""

    train: Windows
    val: Windows
    test: Windows
    train_variance: np.ndarray
    train_mean: np.ndarray
    test_start: int


def channel_windows(x: np.ndarray, input_len: int, horizon: int) -> Windows:
    """Windows of every channel at once: x [C, T] -> inputs [N, C, input_len], targets [N, C, horizon]."""
    if x.shape[1] < input_len + horizon:
        return Windows(np.empty((0, len(x), input_len)), np.empty((0, len(x), horizon)))
    view = sliding_window_view(x, input_len + horizon, axis=1).transpose(1, 0, 2)
    return Windows(np.ascontiguousarray(view[..., :input_len]), np.ascontiguousarray(view[..., input_len:]))


def prepare_channels(values: np.ndarray, input_len: int, horizon: int) -> PreparedChannels:
    """`prepare` for channels [C, n]: the same borders, one standard scaler per channel (Time-Series-Library's
    StandardScaler over the columns of features M)."""
    n = values.shape[1]
    num_train, num_val, num_test = borders(n)
    train_raw = values[:, :num_train]
    std = train_raw.std(axis=1)
    std[std == 0] = 1.0
    mean = train_raw.mean(axis=1)
    scaled = (values - mean[:, None]) / std[:, None]
    return PreparedChannels(
        train=channel_windows(scaled[:, :num_train], input_len, horizon),
        val=channel_windows(scaled[:, num_train - input_len:num_train + num_val], input_len, horizon),
        test=channel_windows(scaled[:, n - num_test - input_len:], input_len, horizon),
        train_variance=std**2, train_mean=mean, test_start=n - num_test - input_len,
    )
