"""A seeded simulator of clinical EEG from two recording sites, normal and pathological.

Every recording mixes a 1/f background across scalp positions, a posterior alpha rhythm whose frequency falls
with age, and eye blinks. Abnormal recordings carry one pathology drawn from the site's own mix: alpha slowing,
diffuse theta, focal delta, sparse spikes or excess beta (the sedative effect of benzodiazepines and barbiturates,
common in inpatients: diffuse 14-25 Hz activity, alpha damped). Some normal recordings are drowsy (alpha fades,
mild diffuse theta: a benign look-alike); a site may record many of its normal patients in light sleep (alpha
fades, diffuse 3-7.5 Hz slow waves, vertex waves: slow activity that is normal); and a share of labels is flipped,
as clinical labels are noisy. The site then adds what
its patients and its equipment bring: the age of its patients, muscle-artefact and blink rates, an amplitude
calibration, per-channel gains and electrode impedance (some channels noisy), a sensor-noise spectrum, line
noise, its reference and hardware filter, and records in volts at its own sampling rate, as an EDF would hold.
The reference and the mains do not survive the preprocessing (common average reference, resampling to 100 Hz);
age, pathology mix, artefact rates, amplitude, impedance noise and the filter do.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter, sosfiltfilt

from tasks.eeg.montage import CHANNELS, EARS, FRONTOPOLAR, POSTERIOR, TEMPORAL, focus_weights, spatial_mixing, weights

# beta_excess is last, and no site but the negative scenario's source draws it: a zero weight at the end of the
# mix leaves every other site's draws as they were
PATHOLOGIES = ("alpha_slowing", "diffuse_theta", "focal_delta", "spikes", "beta_excess")
FOCI = ("T3", "T4", "F7", "F8", "T5", "T6", "C3", "C4")
EVEN_MIX = {name: 1.0 for name in PATHOLOGIES[:4]}


@dataclass(frozen=True)
class Site:
    """How one hospital records, and whom: equipment (rate, mains, reference, filter, gains, amplitude calibration,
    impedance, sensor noise) and patients (age, pathology mix, artefact rates, class balance)."""

    name: str
    sfreq: float
    line_freq: float
    reference: str  # "common" (recorded against one reference electrode) or "linked_ears"
    bandpass: tuple[float, float] | None
    gain_sd: float  # log-normal spread of per-channel amplifier gains
    line_uv: tuple[float, float]  # range of the mains interference amplitude
    abnormal_train: float  # share of abnormal recordings in the training part
    amplitude: float = 1.0  # calibration: the site's microvolts are this many true microvolts
    noise_uv: float = 1.0  # sensor noise floor (RMS, microvolts) of a good electrode
    noise_exponent: float = 1.0  # its spectrum ~ 1/f^exponent (0: white, up to the anti-alias filter)
    bad_channels: float = 0.05  # chance that an electrode has a high impedance: 4-8x the noise plus slow drift
    age: tuple[float, float] = (45.0, 15.0)  # mean and spread of the patients' age in years
    blinks_per_s: tuple[float, float] = (0.1, 0.3)
    emg_per_min: float = 2.0  # muscle bursts (20-45 Hz on temporal channels) per minute, normal recordings
    emg_per_min_abnormal: float | None = None  # ... in abnormal recordings (None: as the normal ones)
    sleep_share: float = 0.0  # share of the normal recordings made in light sleep (slow waves, vertex waves)
    pathology_mix: dict[str, float] = field(default_factory=lambda: dict(EVEN_MIX))


TUAB_LIKE = Site("tuab_like", 250.0, 60.0, "common", None, 0.08, (1.0, 5.0), 0.5,
                 amplitude=1.0, noise_uv=1.0, noise_exponent=1.5, bad_channels=0.03, age=(50.0, 17.0),
                 blinks_per_s=(0.1, 0.3), emg_per_min=2.0,
                 pathology_mix={"alpha_slowing": 1.0, "diffuse_theta": 1.0, "focal_delta": 1.0, "spikes": 0.5})
NMT_LIKE = Site("nmt_like", 200.0, 50.0, "linked_ears", (2.0, 33.0), 0.3, (3.0, 15.0), 0.15,
                amplitude=1.6, noise_uv=4.0, noise_exponent=0.0, bad_channels=0.15, age=(28.0, 14.0),
                blinks_per_s=(0.3, 0.6), emg_per_min=8.0,
                pathology_mix={"alpha_slowing": 0.5, "diffuse_theta": 0.5, "focal_delta": 1.0, "spikes": 1.5})
# The negative-transfer case: a source whose labels ride on cues the target lacks and one it reverses. Its abnormal
# recordings are sedated, restless inpatients (excess beta, many muscle artefacts), which the target's patients are
# not; its normal recordings are mostly outpatients recorded in light sleep, so slow activity marks the normal
# class there, while at the target slowing (focal delta above all) marks the abnormal one.
TUAB_CONFOUNDED = Site("tuab_confounded", 250.0, 60.0, "common", None, 0.08, (1.0, 5.0), 0.5,
                       amplitude=1.0, noise_uv=1.0, noise_exponent=1.5, bad_channels=0.03, age=(62.0, 12.0),
                       blinks_per_s=(0.1, 0.3), emg_per_min=0.5, emg_per_min_abnormal=20.0, sleep_share=0.8,
                       pathology_mix={"alpha_slowing": 0.3, "diffuse_theta": 0.0, "focal_delta": 0.0, "spikes": 0.0,
                                      "beta_excess": 1.0})
SCENARIOS = {"shift": (TUAB_LIKE, NMT_LIKE), "negative": (TUAB_CONFOUNDED, NMT_LIKE)}


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
    pathology: str  # "none", "drowsy", "light_sleep" or one of PATHOLOGIES (the truth behind the label)
    age: float = 40.0  # years

    @property
    def abnormal(self) -> bool:
        """The truth behind the (noisy) label: the recording carries a pathology."""
        return self.pathology in PATHOLOGIES


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


def muscle(rng: np.random.Generator, sfreq: float) -> np.ndarray:
    """A muscle-artefact burst: 20-45 Hz noise under a 0.5-2 s envelope, in microvolts."""
    n = int(rng.uniform(0.5, 2.0) * sfreq)
    burst = band_noise(rng, 1, max(n, 8), sfreq, 20, min(45, 0.45 * sfreq))[0][:n]
    return rng.uniform(20, 40) * np.hanning(n) * burst


def vertex_wave(rng: np.random.Generator, sfreq: float) -> np.ndarray:
    """A vertex sharp wave of light sleep: a negative peak (~150 ms) with a smaller positive after it, microvolts."""
    t = np.arange(int(0.4 * sfreq)) / sfreq
    return rng.uniform(60, 120) * (-np.exp(-0.5 * ((t - 0.1) / 0.035) ** 2) + 0.35 * np.exp(-0.5 * ((t - 0.22) / 0.05) ** 2))


def diffuse(rng: np.random.Generator, mixing: np.ndarray, n: int, sfreq: float, lo: float, hi: float,
            uv: float) -> np.ndarray:
    """A scalp-wide rhythm between lo and hi Hz, `uv` microvolts per source before mixing, [21, n]."""
    return uv * (mixing @ band_noise(rng, len(CHANNELS), n, sfreq, lo, hi)) / np.sqrt(len(CHANNELS)) * 2


def alpha_frequency(rng: np.random.Generator, age: float) -> float:
    """The posterior dominant rhythm of a healthy adult: near 10 Hz, a little slower with age past 40."""
    return float(np.clip(rng.normal(10.0 - 0.025 * (age - 40.0), 0.5), 8.5, 11.5))


def brain(rng: np.random.Generator, n: int, sfreq: float, pathology: str, age: float = 40.0,
          blinks_per_s: tuple[float, float] = (0.1, 0.3)) -> np.ndarray:
    """The scalp signal in microvolts, [21, n], before any site effect."""
    mixing = spatial_mixing()
    youth = float(np.clip(1 + 0.01 * (40.0 - age), 0.8, 1.4))  # younger brains show larger background
    background = youth * rng.uniform(10, 16) * (mixing @ band_noise(rng, len(CHANNELS), n, sfreq, 0.5, 45, rng.uniform(1.5, 2.0)))
    alpha_freq = rng.uniform(6.5, 8.0) if pathology == "alpha_slowing" else alpha_frequency(rng, age)
    alpha_uv = rng.uniform(12, 22) * {"drowsy": 0.3, "light_sleep": 0.3, "beta_excess": 0.3}.get(pathology, 1.0)
    posterior = mixing @ weights(POSTERIOR)
    x = background + alpha_uv * np.outer(posterior / posterior.max(), rhythm(rng, n, sfreq, alpha_freq))
    x += np.outer(weights(FRONTOPOLAR), transients(rng, n, sfreq, rng.uniform(*blinks_per_s), blink))
    if pathology in ("diffuse_theta", "drowsy"):
        x += diffuse(rng, mixing, n, sfreq, 4, 7.5, rng.uniform(12, 20) if pathology == "diffuse_theta" else rng.uniform(6, 12))
    elif pathology == "light_sleep":
        x += diffuse(rng, mixing, n, sfreq, 3.0, 7.5, rng.uniform(20, 30))
        x += np.outer(focus_weights("CZ", width=0.5), transients(rng, n, sfreq, rng.uniform(0.1, 0.3), vertex_wave))
    elif pathology == "beta_excess":
        x += diffuse(rng, mixing, n, sfreq, 14, 25, rng.uniform(5, 9))
    elif pathology == "focal_delta":
        focus = focus_weights(rng.choice(FOCI))
        x += rng.uniform(30, 50) * np.outer(focus, band_noise(rng, 1, n, sfreq, 0.8, 3.0)[0])
    elif pathology == "spikes":
        focus = focus_weights(rng.choice(FOCI), width=0.35)
        x += np.outer(focus, transients(rng, n, sfreq, rng.uniform(0.15, 0.4), spike))
    return x


def record(rng: np.random.Generator, site: Site, scalp_uv: np.ndarray, emg_per_min: float | None = None) -> np.ndarray:
    """What the site's amplifier stores: muscle artefacts, calibration, gains, electrode noise, mains, reference and
    filter; volts."""
    n = scalp_uv.shape[1]
    t = np.arange(n) / site.sfreq
    rate = site.emg_per_min if emg_per_min is None else emg_per_min
    x = scalp_uv + np.outer(weights(TEMPORAL), transients(rng, n, site.sfreq, rate / 60.0, muscle))
    x = site.amplitude * x * np.exp(rng.normal(0, site.gain_sd, (len(CHANNELS), 1)))
    bad = rng.random((len(CHANNELS), 1)) < site.bad_channels
    noise_uv = site.noise_uv * np.where(bad, rng.uniform(4, 8, (len(CHANNELS), 1)), 1.0)
    x = x + noise_uv * band_noise(rng, len(CHANNELS), n, site.sfreq, 0.3, 0.5 * site.sfreq, site.noise_exponent)
    x = x + bad * rng.uniform(20, 60, (len(CHANNELS), 1)) * band_noise(rng, len(CHANNELS), n, site.sfreq, 0.05, 0.5)
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
    mix = np.array([site.pathology_mix.get(name, 0.0) for name in PATHOLOGIES])
    for i, sick in enumerate(abnormal):
        if sick:
            pathology = str(rng.choice(PATHOLOGIES, p=mix / mix.sum()))
        elif site.sleep_share and rng.random() < site.sleep_share:  # no draw where no one sleeps: other sites unchanged
            pathology = "light_sleep"
        else:
            pathology = "drowsy" if rng.random() < config.drowsy_share else "none"
        label = int(sick) ^ int(rng.random() < config.label_noise)
        age = float(np.clip(rng.normal(*site.age), 2, 95))
        emg = site.emg_per_min_abnormal if sick and site.emg_per_min_abnormal is not None else site.emg_per_min
        data = record(rng, site, brain(rng, n, site.sfreq, pathology, age, site.blinks_per_s), emg)
        out.append(Recording(f"{prefix}-{i:04d}", site.name, site.sfreq, data, label, pathology, age))
    return out
