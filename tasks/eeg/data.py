"""Windows of preprocessed recordings, grouped by recording, for one part of one site."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError
from tasks.eeg.preprocess import Preprocessing, preprocess
from tasks.eeg.simulator import Recording


@dataclass
class Part:
    """One part of a site (e.g. the target's training recordings): windows plus the recording each belongs to."""

    name: str
    ids: list[str]
    labels: np.ndarray  # [recordings]
    windows: np.ndarray  # [windows, channels, samples], microvolts
    owner: np.ndarray  # [windows] index of the recording

    @classmethod
    def from_recordings(cls, name: str, recordings: Iterable[Recording], p: Preprocessing) -> "Part":
        """Preprocess recordings one at a time (a generator keeps only one raw recording in memory)."""
        ids, labels, pieces = [], [], []
        for r in recordings:
            pieces.append(preprocess(r.data, r.sfreq, p))
            ids.append(r.id)
            labels.append(r.label)
        if not pieces:
            raise HarnessError(f"no recordings for {name}: check the data folder")
        return cls(name, ids, np.array(labels), np.concatenate(pieces), np.repeat(np.arange(len(pieces)), [len(w) for w in pieces]))

    def select(self, recordings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows and window labels of the chosen recordings (indices)."""
        mask = np.isin(self.owner, recordings)
        return self.windows[mask], self.labels[self.owner[mask]]

    def per_recording(self, window_values: np.ndarray) -> np.ndarray:
        """Average window values into one value per recording (the paper's recording-level prediction)."""
        sums = np.bincount(self.owner, weights=window_values, minlength=len(self.ids))
        return sums / np.bincount(self.owner, minlength=len(self.ids))


def stratified_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of `fraction` of the recordings of each class (at least one of each), seeded."""
    rng = np.random.default_rng([seed, round(fraction * 1_000_000)])
    chosen = []
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        chosen.extend(members[: max(1, round(fraction * len(members)))].tolist())
    return np.sort(np.array(chosen, dtype=int))
