"""The 21 standard 10-20 electrodes (TUAB's set, with the ear references A1/A2), in alphabetical order, and their
scalp positions."""

from __future__ import annotations

import numpy as np

# Unit-circle positions (x: left -> right, y: back -> front), the usual 10-20 layout; the ears sit outside it.
POSITIONS = {
    "FP1": (-0.31, 0.95), "FP2": (0.31, 0.95), "F7": (-0.81, 0.59), "F3": (-0.41, 0.54), "FZ": (0.0, 0.5),
    "F4": (0.41, 0.54), "F8": (0.81, 0.59), "T3": (-1.0, 0.0), "C3": (-0.5, 0.0), "CZ": (0.0, 0.0),
    "C4": (0.5, 0.0), "T4": (1.0, 0.0), "T5": (-0.81, -0.59), "P3": (-0.41, -0.54), "PZ": (0.0, -0.5),
    "P4": (0.41, -0.54), "T6": (0.81, -0.59), "O1": (-0.31, -0.95), "O2": (0.31, -0.95),
    "A1": (-1.25, -0.1), "A2": (1.25, -0.1),
}
CHANNELS = tuple(sorted(POSITIONS))  # the paper's order (APD_EEG sorts the 21 names), so its weights could load
EARS = ("A1", "A2")
TEMPORAL = {"T3": 1.0, "T4": 1.0, "F7": 0.6, "F8": 0.6, "T5": 0.6, "T6": 0.6}  # where chewing and jaw muscles show
POSTERIOR = ("O1", "O2", "P3", "P4", "PZ", "T5", "T6")
FRONTOPOLAR = {"FP1": 1.0, "FP2": 1.0, "F7": 0.35, "F8": 0.35, "F3": 0.3, "F4": 0.3, "FZ": 0.3}


def coordinates() -> np.ndarray:
    """[21, 2] electrode positions in CHANNELS order."""
    return np.array([POSITIONS[c] for c in CHANNELS])


def spatial_mixing(width: float = 0.45) -> np.ndarray:
    """Row-normalised Gaussian mixing over scalp distance: neighbouring electrodes share their background."""
    xy = coordinates()
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    mix = np.exp(-d2 / (2 * width**2))
    return mix / np.sqrt((mix**2).sum(1, keepdims=True))


def weights(names: dict[str, float] | tuple[str, ...]) -> np.ndarray:
    """A [21] weight vector that is nonzero on the named electrodes."""
    w = np.zeros(len(CHANNELS))
    items = names.items() if isinstance(names, dict) else ((n, 1.0) for n in names)
    for name, value in items:
        w[CHANNELS.index(name)] = value
    return w


def focus_weights(center: str, width: float = 0.45) -> np.ndarray:
    """A [21] weight vector falling off with distance from one electrode (a focal generator)."""
    xy = coordinates()
    d2 = ((xy - xy[CHANNELS.index(center)]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * width**2))
