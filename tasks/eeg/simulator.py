"""A seeded simulator of clinical EEG from two recording sites, normal and pathological.

Every recording mixes a 1/f background across scalp positions, a posterior alpha rhythm and eye blinks.
Abnormal recordings carry one pathology: alpha slowing, diffuse theta, focal delta or sparse spikes. Some
normal recordings are drowsy (alpha fades, mild diffuse theta: a benign look-alike), and a share of labels
is flipped, as clinical labels are noisy. The site then adds its own line noise, channel gains, reference
and hardware filter, and records in volts at its own sampling rate, as an EDF file would hold.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from tasks.eeg.montage import CHANNELS, EARS, FRONTOPOLAR, POSTERIOR, focus_weights, spatial_mixing, weights

PATHOLOGIES = ("alpha_slowing", "diffuse_theta", "focal_delta", "spikes")
FOCI = ("T3", "T4", "F7", "F8", "T5", "T6", "C3", "C4")


@dataclass(frozen=True)
class Site:
    """How one hospital records: rate, mains frequency, reference, filter, gain spread, class balance."""

    name: str
    sfreq: float
    line_freq: float
    reference: str  # "common" (recorded against one reference electrode) or "linked_ears"
    bandpass: tuple[float, float] | None
    gain_sd: float  # log-normal spread of per-channel amplifier gains
    line_uv: tuple[float, float]  # range of the mains interference amplitude
    abnormal_train: float  # share of abnormal recordings in the training part


TUAB_LIKE = Site("tuab_like", 250.0, 60.0, "common", None, 0.08, (1.0, 5.0), 0.5)
NMT_LIKE = Site("nmt_like", 200.0, 50.0, "linked_ears", (2.0, 33.0), 0.3, (3.0, 15.0), 0.15)


@dataclass(frozen=True)
class SimulationConfig:
    """Sizes and difficulty of the offline simulation."""

    duration_s: float = 32.0
    label_noise: float = 0.08
    drowsy_share: float = 0.25


@dataclass
class Recording:
    """One simulated recording: [21, n] volts at the site's rate, its (possibly noisy) label and ground truth."""

    id: str
    site: str
    sfreq: float
    data: np.ndarray
    label: int  # 1 = abnormal, as annotated (label noise included)
    pathology: str  # "none", "drowsy" or one of PATHOLOGIES (the truth behind the label)


def band_noise(rng: np.random.Generator, sources: int, n: int, sfreq: float, lo: float, hi: float,
               exponent: float = 0.0) -> np.ndarray:
    """Unit-RMS noise with power ~ 1/f^exponent between lo and hi Hz (FFT synthesis), [sources, n]."""
    freqs = np.fft.rfftfreq(n, 1 / sfreq)
    spectrum = rng.normal(size=(sources, len(freqs))) + 1j * rng.normal(size=(sources, len(freqs)))
    shape = np.where((freqs >= lo) & (freqs <= hi), 1.0, 0.0) / np.maximum(freqs, lo) ** (exponent / 2)
    signal = np.fft.irfft(spectrum * shape, n=n)
    return signal / signal.std(axis=1, keepdims=True)


def rhythm(rng: np.random.Generator, n: int, sfreq: float, freq: float) -> np.ndarray:
    """An oscillation near `freq` with a drifting phase and a waxing-waning envelope, unit RMS, [n]."""
    t = np.arange(n) / sfreq
    drift = np.cumsum(rng.normal(0, 0.02, n)) / np.sqrt(sfreq)  # slow frequency wander
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 2 * np.pi))
    wave = envelope * np.sin(2 * np.pi * freq * t + drift * 2 * np.pi + rng.uniform(0, 2 * np.pi))
    return wave / wave.std()


def transients(rng: np.random.Generator, n: int, sfreq: float, rate: float, shape) -> np.ndarray:
    """Events at Poisson times, each drawn by `shape(rng, sfreq)` (a short waveform), summed into [n]."""
    out = np.zeros(n)
    for start in np.flatnonzero(rng.random(n) < rate / sfreq):
        wave = shape(rng, sfreq)
        end = min(n, start + len(wave))
        out[start:end] += wave[: end - start]
    return out


def blink(rng: np.random.Generator, sfreq: float) -> np.ndarray:
    t = np.arange(int(0.6 * sfreq)) / sfreq
    return rng.uniform(80, 150) * np.exp(-0.5 * ((t - 0.3) / rng.uniform(0.05, 0.09)) ** 2)


def spike(rng: np.random.Generator, sfreq: float) -> np.ndarray:
    """A sharp biphasic spike (~70 ms) followed by a slow after-going wave (~200 ms), in microvolts."""
    t = np.arange(int(0.35 * sfreq)) / sfreq
    sharp = -np.exp(-0.5 * ((t - 0.04) / 0.012) ** 2) + 0.4 * np.exp(-0.5 * ((t - 0.075) / 0.015) ** 2)
    slow = 0.35 * np.exp(-0.5 * ((t - 0.18) / 0.05) ** 2)
    return rng.uniform(80, 150) * (sharp + slow)


def brain(rng: np.random.Generator, n: int, sfreq: float, pathology: str) -> np.ndarray:
    """The scalp signal in microvolts, [21, n], before any site effect."""
    mixing = spatial_mixing()
    background = rng.uniform(10, 16) * (mixing @ band_noise(rng, len(CHANNELS), n, sfreq, 0.5, 45, rng.uniform(1.5, 2.0)))
    alpha_freq = rng.uniform(6.5, 8.0) if pathology == "alpha_slowing" else rng.normal(10.0, 0.5)
    alpha_uv = rng.uniform(12, 22) * (0.3 if pathology == "drowsy" else 1.0)
    posterior = mixing @ weights(POSTERIOR)
    x = background + alpha_uv * np.outer(posterior / posterior.max(), rhythm(rng, n, sfreq, alpha_freq))
    x += np.outer(weights(FRONTOPOLAR), transients(rng, n, sfreq, rng.uniform(0.1, 0.3), blink))
    if pathology in ("diffuse_theta", "drowsy"):
        theta_uv = rng.uniform(12, 20) if pathology == "diffuse_theta" else rng.uniform(6, 12)
        x += theta_uv * (mixing @ band_noise(rng, len(CHANNELS), n, sfreq, 4, 7.5)) / np.sqrt(len(CHANNELS)) * 2
    elif pathology == "focal_delta":
        focus = focus_weights(rng.choice(FOCI))
        x += rng.uniform(30, 50) * np.outer(focus, band_noise(rng, 1, n, sfreq, 0.8, 3.0)[0])
    elif pathology == "spikes":
        focus = focus_weights(rng.choice(FOCI), width=0.35)
        x += np.outer(focus, transients(rng, n, sfreq, rng.uniform(0.15, 0.4), spike))
    return x


def record(rng: np.random.Generator, site: Site, scalp_uv: np.ndarray) -> np.ndarray:
    """What the site's amplifier stores: gains, mains interference, reference and filter; volts."""
    n = scalp_uv.shape[1]
    t = np.arange(n) / site.sfreq
    x = scalp_uv * np.exp(rng.normal(0, site.gain_sd, (len(CHANNELS), 1)))
    line = rng.uniform(*site.line_uv) * rng.uniform(0.3, 1.0, (len(CHANNELS), 1))
    x = x + line * np.sin(2 * np.pi * site.line_freq * t + rng.uniform(0, 2 * np.pi))
    if site.reference == "linked_ears":
        ears = [CHANNELS.index(e) for e in EARS]
        x = x - x[ears].mean(0)
    if site.bandpass:
        x = sosfiltfilt(butter(4, site.bandpass, btype="bandpass", fs=site.sfreq, output="sos"), x, axis=1)
    return (x * 1e-6).astype(np.float32)


def simulate(site: Site, count: int, abnormal_share: float, seed: int, prefix: str,
             config: SimulationConfig = SimulationConfig()) -> list[Recording]:
    """`count` recordings of one site, round(count * abnormal_share) of them truly abnormal, seeded."""
    rng = np.random.default_rng([seed, zlib.crc32(f"{site.name}:{prefix}".encode())])
    n = int(config.duration_s * site.sfreq)
    abnormal = np.zeros(count, dtype=bool)
    abnormal[rng.permutation(count)[: round(count * abnormal_share)]] = True
    out = []
    for i, sick in enumerate(abnormal):
        pathology = rng.choice(PATHOLOGIES) if sick else ("drowsy" if rng.random() < config.drowsy_share else "none")
        label = int(sick) ^ int(rng.random() < config.label_noise)
        data = record(rng, site, brain(rng, n, site.sfreq, str(pathology)))
        out.append(Recording(f"{prefix}-{i:04d}", site.name, site.sfreq, data, label, str(pathology)))
    return out
