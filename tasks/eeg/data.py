"""Preprocessed recordings of one part of one site, and the windows cut from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError
from tasks.eeg.preprocess import Preprocessing, cut, preprocess
from tasks.eeg.simulator import Recording


@dataclass
class Windows:
    """Windows of a part plus the recording each belongs to."""

    windows: np.ndarray  # [windows, channels, samples], microvolts
    owner: np.ndarray  # [windows] index of the recording
    labels: np.ndarray  # [recordings]

    def select(self, recordings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows and window labels of the chosen recordings (indices)."""
        mask = np.isin(self.owner, recordings)
        return self.windows[mask], self.labels[self.owner[mask]]

    def per_recording(self, window_values: np.ndarray) -> np.ndarray:
        """Average window values into one value per recording (as braindecode's TUH example does; the paper's notebooks
        validate per window)."""
        sums = np.bincount(self.owner, weights=window_values, minlength=len(self.labels))
        return sums / np.bincount(self.owner, minlength=len(self.labels))


@dataclass
class Part:
    """One part of a site (e.g. the target's training recordings): preprocessed signals, ids and labels."""

    name: str
    ids: list[str]
    labels: np.ndarray  # [recordings]
    signals: list[np.ndarray]  # each [channels, samples] microvolts at 100 Hz

    @classmethod
    def from_recordings(cls, name: str, recordings: Iterable[Recording], p: Preprocessing) -> "Part":
        """Preprocess recordings one at a time (a generator keeps only one raw recording in memory)."""
        ids, labels, signals = [], [], []
        for r in recordings:
            try:
                signals.append(preprocess(r.data, r.sfreq, p))
            except ValueError as exc:
                raise HarnessError(f"{name} recording {r.id}: {exc}; lower --task-arg crop_start_s") from None
            ids.append(r.id)
            labels.append(r.label)
        if not signals:
            raise HarnessError(f"no recordings for {name}: check the data folder")
        return cls(name, ids, np.array(labels), signals)

    def windows(self, size: int, stride: int, cover_end: bool) -> Windows:
        """Cut every recording into windows of `size` samples every `stride`; refuse a recording too short for one."""
        pieces = [cut(s, size, stride, cover_end) for s in self.signals]
        short = [i for i, w in zip(self.ids, pieces) if len(w) == 0]
        if short:
            raise HarnessError(f"{self.name} recording {short[0]} is shorter than one {size}-sample window after "
                               f"cropping: use shorter windows (--method-arg window_s=...) or longer recordings")
        return Windows(np.concatenate(pieces), np.repeat(np.arange(len(pieces)), [len(w) for w in pieces]), self.labels)


def stratified_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of `fraction` of the recordings of each class (at least one of each), seeded."""
    rng = np.random.default_rng([seed, round(fraction * 1_000_000)])
    chosen = []
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        chosen.extend(members[: max(1, round(fraction * len(members)))].tolist())
    return np.sort(np.array(chosen, dtype=int))
