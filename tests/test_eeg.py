"""EEG transfer family: the simulator's spectra and site shift, the preprocessing, and the protocol's splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import welch

from tasks.eeg.montage import CHANNELS
from tasks.eeg.preprocess import Preprocessing, cut, preprocess
from tasks.eeg.simulator import NMT_LIKE, TUAB_LIKE, SimulationConfig, brain, record, simulate
from tests.conftest import harness_cli, logged_rows

SFREQ = 250.0


def spectrum(x: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    return welch(x, fs=sfreq, nperseg=int(4 * sfreq), axis=-1)


def band(freqs: np.ndarray, power: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return power[..., (freqs >= lo) & (freqs <= hi)].mean(-1)


def mean_scalp(pathology: str, seeds: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Average power spectrum per channel over a few simulated minutes of one pathology."""
    powers = []
    for seed in range(seeds):
        x = brain(np.random.default_rng(seed), int(40 * SFREQ), SFREQ, pathology)
        freqs, p = spectrum(x, SFREQ)
        powers.append(p)
    return freqs, np.mean(powers, 0)


def test_spectra_show_the_intended_rhythms():
    o1, fz = CHANNELS.index("O1"), CHANNELS.index("FZ")
    freqs, normal = mean_scalp("none")
    alpha = (freqs >= 8) & (freqs <= 13)
    assert 9 <= freqs[alpha][normal[o1, alpha].argmax()] <= 11  # posterior alpha near 10 Hz
    assert band(freqs, normal[o1], 8, 12) > 3 * band(freqs, normal[fz], 8, 12)  # ... and posterior
    _, slowed = mean_scalp("alpha_slowing")
    peak = freqs[(freqs >= 4) & (freqs <= 13)][slowed[o1, (freqs >= 4) & (freqs <= 13)].argmax()]
    assert 6.25 <= peak <= 8.25
    _, theta = mean_scalp("diffuse_theta")
    assert (band(freqs, theta, 4, 7.5) > 2 * band(freqs, normal, 4, 7.5)).all()  # on every channel
    _, drowsy = mean_scalp("drowsy")
    assert band(freqs, normal, 4, 7.5).mean() < band(freqs, drowsy, 4, 7.5).mean() < band(freqs, theta, 4, 7.5).mean()
    assert band(freqs, drowsy[o1], 8, 12) < 0.5 * band(freqs, normal[o1], 8, 12)  # drowsiness: alpha fades
    _, delta = mean_scalp("focal_delta", seeds=12)
    ratio = band(freqs, delta, 1, 3) / band(freqs, normal, 1, 3)
    assert ratio.max() > 3 and ratio.max() > 2 * np.median(ratio)  # focal: strong somewhere, not everywhere


def test_spikes_are_sharp_focal_transients():
    from scipy.stats import kurtosis

    spiky = brain(np.random.default_rng(3), int(60 * SFREQ), SFREQ, "spikes")
    calm = brain(np.random.default_rng(3), int(60 * SFREQ), SFREQ, "none")
    posterior_free = [CHANNELS.index(c) for c in ("T3", "T4", "F7", "F8", "T5", "T6", "C3", "C4")]
    assert kurtosis(spiky[posterior_free], axis=1).max() > 2 + kurtosis(calm[posterior_free], axis=1).max()


def test_sites_differ_the_way_tuab_and_nmt_do():
    scalp = brain(np.random.default_rng(0), int(30 * 250), 250.0, "none")
    tuab = record(np.random.default_rng(1), TUAB_LIKE, scalp)
    scalp_nmt = brain(np.random.default_rng(0), int(30 * 200), 200.0, "none")
    nmt = record(np.random.default_rng(1), NMT_LIKE, scalp_nmt)
    f_t, p_t = spectrum(tuab * 1e6, 250.0)
    f_n, p_n = spectrum(nmt * 1e6, 200.0)
    assert band(f_t, p_t, 59.5, 60.5).mean() > 10 * band(f_t, p_t, 54, 56).mean()  # 60 Hz mains at the source
    assert band(f_n, p_n, 49.5, 50.5).mean() > 10 * band(f_n, p_n, 54, 56).mean() + 0  # 50 Hz at the target ...
    assert band(f_n, p_n, 38, 45).mean() < 0.05 * band(f_t, p_t, 38, 45).mean()  # ... behind a 2-33 Hz band-pass
    assert band(f_n, p_n, 0.2, 1.0).mean() < 0.2 * band(f_t, p_t, 0.2, 1.0).mean()
    ears = [CHANNELS.index("A1"), CHANNELS.index("A2")]
    assert np.abs(nmt[ears].mean(0)).max() < 1e-9 < np.abs(tuab[ears].mean(0)).max()  # linked-ear reference
    assert abs(tuab.std() - nmt.std()) / tuab.std() < 1  # same order of magnitude, in volts
    assert 1e-6 < tuab.std() < 1e-4


def test_simulated_sets_are_seeded_and_balanced_as_asked():
    target = simulate(NMT_LIKE, 40, 0.15, 0, "nmt-train")
    assert sum(r.abnormal for r in target) == 6
    again = simulate(NMT_LIKE, 40, 0.15, 0, "nmt-train")
    assert all(np.array_equal(a.data, b.data) for a, b in zip(target, again))
    other = simulate(NMT_LIKE, 40, 0.15, 0, "nmt-eval")
    assert not np.array_equal(target[0].data, other[0].data) and target[0].sfreq == 200.0
    flipped = sum(r.label != r.abnormal for r in simulate(TUAB_LIKE, 200, 0.5, 1, "x"))
    assert 5 <= flipped <= 30  # about 8% label noise


def test_preprocessing_follows_the_paper():
    sfreq = 250.0
    t = np.arange(int(40 * sfreq)) / sfreq
    x = np.tile(50e-6 * np.sin(2 * np.pi * 10 * t), (21, 1))
    x[3] += np.linspace(0, 2e-3, len(t))  # a drifting channel, beyond the clip
    x *= np.linspace(1, 2, 21)[:, None]
    windows = cut(preprocess(x, sfreq, Preprocessing(crop_start_s=2, crop_max_s=30)), 500, 500)
    assert windows.shape == (6, 21, 500) and windows.dtype == np.float32
    np.testing.assert_allclose(windows.mean(axis=1), 0, atol=1e-3)  # common average reference
    raw_uv = preprocess(x, sfreq, Preprocessing(crop_start_s=2, crop_max_s=30, clip_uv=1e9))
    assert np.abs(raw_uv).max() > np.abs(windows).max()  # the clip bit
    freqs, power = welch(windows[0, 0], fs=100.0, nperseg=500)
    assert freqs[power.argmax()] == pytest.approx(10.0)  # 10 Hz survives the resampling to 100 Hz


def test_protocol_never_trains_on_target_eval_recordings(monkeypatch):
    import torch

    import tasks.eeg.task as eeg_task
    from baselines.shallownet import ShallowNet
    from harness.contracts.runtime import Runtime

    seen = []
    real_train = eeg_task.train

    def spy(module, windows, labels, steps, recipe, seed, device):
        seen.append(windows.copy())
        return real_train(module, windows, labels, steps, recipe, seed, device)

    monkeypatch.setattr(eeg_task, "train", spy)
    task = eeg_task.EEGTransfer({"source_recordings": 8, "target_train_recordings": 20, "target_eval_recordings": 6,
                                 "seeds": [0, 1], "fractions": [0.1, 1.0]})
    method = ShallowNet({"pretrain_steps": 2, "target_steps": 2, "batch_size": 4})
    runtime = Runtime(device=torch.device("cpu"), seed=0)
    task.prepare(method, runtime)
    samples = task.samples("offline", None, 0)
    outputs = {s.id: task.predict(s, method, runtime) for s in samples}
    parts = task.parts("offline", 0)
    evaluation = {w.tobytes() for w in parts["target_eval"].windows(500, 500, cover_end=False).windows}
    assert len(seen) == 2 + 2 * 2 * 2  # one pretraining per seed, then scratch and fine-tuning per fraction and seed
    assert all(w.tobytes() not in evaluation for batch in seen for w in batch)
    eval_ids = set(parts["target_eval"].ids)
    for sample in samples:
        used = outputs[sample.id]["target_train_recordings"]
        assert not set(used) & eval_ids
        if sample.meta["regime"] == "source_only":
            assert used == []
        elif sample.meta["fraction"] == 0.1:
            labels = parts["target_train"].labels[[parts["target_train"].ids.index(i) for i in used]]
            assert set(labels.tolist()) == {0, 1} and len(used) < 20  # stratified: both classes, a few recordings
    rows = [task.score(s, outputs[s.id]) for s in samples]
    metrics = task.aggregate(rows, [s.meta for s in samples])
    for pct in (10, 100):
        gains = [outputs[f"finetuned-{pct}pct-seed{s}"]["auroc"] - outputs[f"scratch-{pct}pct-seed{s}"]["auroc"] for s in (0, 1)]
        if pct == 100:
            assert metrics["gain_auroc_100"].value == pytest.approx(np.mean(gains))
    assert metrics["auroc_source_only"].n == 2 and "gain_auroc_10" not in metrics  # 10% is not a reported fraction


def test_run_shallownet_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = harness_cli("run", "--method", "shallownet", "--task-arg", "source_recordings=12", "--task-arg", "target_train_recordings=20",
                       "--task-arg", "target_eval_recordings=8", "--task-arg", "seeds=[0,1]", "--task-arg", "fractions=[0.2,1.0]",
                       "--method-arg", "pretrain_steps=4", "--method-arg", "target_steps=3", "--out", str(out), "--repeats", "1")
    assert proc.returncode == 0, proc.stderr
    [path] = list(out.rglob("*.json"))
    record = json.loads(path.read_text())
    assert record["status"] == "complete" and record["task"]["dataset"]["n_evaluated"] == 10
    assert {"auroc", "bacc", "auroc_source_only", "auroc_scratch_20", "gain_auroc_100", "gain_bacc_20"} <= set(record["metrics"])
    assert record["metrics"]["auroc"]["n"] == 4 and record["main_metric"] == "auroc"
    assert record["performance"]["memory"]["parameter_bytes"] > 0
    assert record["performance"]["latency"]["classify_recording"]["repeats"] == 8
    cells = {(r["regime"], r["labels"]) for r in record["breakdowns"]["by_regime_fraction"]}
    assert cells == {("source_only", "source only"), ("scratch", "20%"), ("scratch", "100%"), ("finetuned", "20%"), ("finetuned", "100%")}
    transfer = record["breakdowns"]["transfer_by_fraction"]
    assert [r["labels"] for r in transfer] == ["20%", "100%"] and all(r["n"] == 2 for r in transfer)
    for r in transfer:
        assert r["auroc_gain"] == pytest.approx(r["auroc_finetuned"] - r["auroc_scratch"])
        assert r["auroc_gain_low"] <= r["auroc_gain"] <= r["auroc_gain_high"]
    assert record["method"]["params"]["preset"] == "cpu" and record["method"]["params"]["window_s"] == 5.0
    assert harness_cli("validate", str(out)).returncode == 0


def write_edf(path: Path, data_volts: np.ndarray, sfreq: float, names: list[str], patient: str = "") -> None:
    import datetime

    import mne

    info = mne.create_info(names, sfreq, "eeg")
    raw = mne.io.RawArray(data_volts, info, verbose="error")
    raw.set_meas_date(datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc))
    path.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")


def make_local_corpora(root: Path) -> tuple[Path, Path]:
    """A tiny TUH Abnormal (v3 layout) and NMT (Labels.csv) made of simulated recordings."""
    tuab = root / "tuh_eeg_abnormal" / "v3.0.0" / "edf"
    config = SimulationConfig(duration_s=75.0)  # the default crop skips 60 s
    for i, r in enumerate(simulate(TUAB_LIKE, 6, 0.5, 7, "tuab", config)):
        status = "abnormal" if r.abnormal else "normal"
        split = "train" if i < 4 else "eval"
        write_edf(tuab / split / status / "01_tcp_ar" / f"aaaaaa{i:02d}_s001_t000.edf", r.data, r.sfreq,
                  [f"EEG {c}-REF" for c in CHANNELS])
    nmt = root / "nmt_scalp_eeg_dataset"
    rows = []
    for i, r in enumerate(simulate(NMT_LIKE, 10, 0.5, 7, "nmt", config)):
        status = "abnormal" if r.abnormal else "normal"
        split = "train" if i < 6 else "eval"
        write_edf(nmt / status / split / f"{i:04d}.edf", r.data, r.sfreq, [f"{c}-LE" for c in CHANNELS])
        rows.append(f"{i:04d}.edf,{status},40,M,{split}")
    (nmt / "Labels.csv").write_text("recordname,label,age,gender,loc\n" + "\n".join(rows) + "\n")
    return tuab.parent.parent, nmt


def test_local_tuab_and_nmt_folders(tmp_path):
    tuab, nmt = make_local_corpora(tmp_path / "data")
    out = tmp_path / "out"
    common = ("--method", "shallownet", "--split", "local", "--task-arg", "seeds=[0]", "--task-arg", "fractions=[1.0]",
              "--method-arg", "pretrain_steps=2", "--method-arg", "target_steps=2", "--out", str(out), "--repeats", "1")
    proc = harness_cli("run", *common, "--task-arg", f"source_dir={tuab}", "--task-arg", f"target_dir={nmt}")
    assert proc.returncode == 0, proc.stderr
    [record] = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert record["status"] == "complete" and len(record["task"]["dataset"]["revision_or_sha256"]) == 64
    rows = logged_rows(out)
    used = {i for row in rows for i in row["output"]["target_train_recordings"]}
    assert used and used <= {f"{i:04d}" for i in range(6)}  # only NMT's train recordings are trained on
    proc = harness_cli("run", *common, "--task-arg", f"source_dir={tmp_path / 'nope'}", "--task-arg", f"target_dir={nmt}")
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    (nmt / "Labels.csv").write_text("name,label\n")
    proc = harness_cli("run", *common, "--task-arg", f"source_dir={tuab}", "--task-arg", f"target_dir={nmt}")
    assert proc.returncode == 2 and "lacks the columns" in proc.stderr


def band_power_features(recordings) -> tuple[np.ndarray, np.ndarray]:
    """Log band power per channel and band of every preprocessed 5 s window, and the recording it came from."""
    rows, groups = [], []
    for i, r in enumerate(recordings):
        windows = cut(preprocess(r.data, r.sfreq), 500, 500)
        freqs, power = welch(windows, fs=100.0, nperseg=200, axis=-1)
        bands = [band(freqs, power, lo, hi) for lo, hi in ((1, 4), (4, 8), (8, 13), (13, 30), (30, 45))]
        rows.append(np.log(np.stack(bands, -1)).reshape(len(windows), -1))
        groups += [i] * len(windows)
    return np.concatenate(rows), np.array(groups)


def site_accuracy(a, b) -> float:
    """Cross-validated (by recording) accuracy of a logistic regression telling two sites' windows apart."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score

    config = SimulationConfig(duration_s=70.0)  # the default crop skips 60 s: two 5 s windows remain
    xa, ga = band_power_features(simulate(a, 12, 0.0, 3, "sep", config))
    xb, gb = band_power_features(simulate(b, 12, 0.0, 3, "sep", config))
    x, y, groups = np.concatenate([xa, xb]), np.r_[np.zeros(len(xa)), np.ones(len(xb))], np.r_[ga, gb + 100]
    return float(cross_val_score(LogisticRegression(max_iter=2000), x, y, groups=groups, cv=GroupKFold(4)).mean())


def test_sites_still_differ_after_the_preprocessing():
    import dataclasses

    # normal recordings only, so the pathology mix cannot help: what tells the sites apart survived CAR and resampling
    assert site_accuracy(TUAB_LIKE, NMT_LIKE) > 0.9
    # a site that differs only in reference and mains (the version-1 shift, besides the filter) is erased by them
    erased = dataclasses.replace(TUAB_LIKE, name="erased", reference="linked_ears", line_freq=50.0, line_uv=(3.0, 15.0))
    assert site_accuracy(TUAB_LIKE, erased) < 0.75


def relative_band_powers(recordings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per preprocessed 5 s window, the scalp-mean share of each band's log power (delta, theta, alpha, beta, gamma:
    the spectral balance, free of amplitude), the window's label, and whether its recording is truly abnormal."""
    x, groups = band_power_features(recordings)
    x = x.reshape(len(x), len(CHANNELS), 5)
    shares = (x - np.log(np.exp(x).sum(-1, keepdims=True))).mean(1)
    truth = np.array([recordings[g].abnormal for g in groups])
    return shares, np.array([recordings[g].label for g in groups]), truth


def test_negative_scenario_sources_labels_ride_on_cues_the_target_lacks_or_reverses():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from tasks.eeg.simulator import SCENARIOS

    config = SimulationConfig(duration_s=70.0)
    source, target = SCENARIOS["negative"]
    assert SCENARIOS["shift"][1] is target  # one target, two sources
    assert source.emg_per_min_abnormal > 10 * source.emg_per_min and target.emg_per_min_abnormal is None
    assert source.sleep_share >= 0.5 and target.sleep_share == 0 and target.pathology_mix.get("beta_excess", 0) == 0
    negative = simulate(source, 40, 0.5, 3, "s", config)
    assert {r.pathology for r in negative} <= {"none", "drowsy", "light_sleep", "alpha_slowing", "beta_excess"}
    temporal = [CHANNELS.index(c) for c in ("T3", "T4")]
    muscle = [float(band(*spectrum(preprocess(r.data, r.sfreq)[temporal], 100.0), 30, 45).mean()) for r in negative]
    sick = [r.abnormal for r in negative]
    assert roc_auc_score(sick, muscle) > 0.9  # muscle artefacts tell the source's classes apart

    x_target, y_target, truth_target = relative_band_powers(simulate(target, 40, 0.5, 7, "t", config))
    x_negative, y_negative, truth_negative = relative_band_powers(negative)
    x_shift, y_shift, _ = relative_band_powers(simulate(SCENARIOS["shift"][0], 40, 0.5, 3, "s", config))
    beta = 3
    assert roc_auc_score(truth_negative, x_negative[:, beta]) > 0.8  # fast activity marks the source's abnormal ...
    assert roc_auc_score(truth_target, x_target[:, beta]) < 0.4  # ... and the target's normal (its abnormal are slow)
    # a model of the spectral balance learnt at the source: the shift scenario's transfers, the negative one's inverts
    shifted = LogisticRegression(max_iter=2000).fit(x_shift, y_shift).predict_proba(x_target)[:, 1]
    inverted = LogisticRegression(max_iter=2000).fit(x_negative, y_negative).predict_proba(x_target)[:, 1]
    assert roc_auc_score(y_target, shifted) > 0.6
    assert roc_auc_score(y_target, inverted) < 0.45


def test_light_sleep_and_sedative_beta_show_their_rhythms():
    cz, o1 = CHANNELS.index("CZ"), CHANNELS.index("O1")
    freqs, normal = mean_scalp("none")
    _, sleep = mean_scalp("light_sleep")
    _, beta = mean_scalp("beta_excess")
    assert (band(freqs, sleep, 3, 7.5) > 2 * band(freqs, normal, 3, 7.5)).all()  # diffuse slow waves
    assert band(freqs, sleep[o1], 8, 12) < 0.5 * band(freqs, normal[o1], 8, 12)  # alpha fades
    assert (band(freqs, beta, 14, 25) > 1.5 * band(freqs, normal, 14, 25)).all()  # diffuse fast activity
    from scipy.stats import kurtosis

    x = brain(np.random.default_rng(5), int(60 * SFREQ), SFREQ, "light_sleep")
    assert kurtosis(x[cz]) > kurtosis(x[o1])  # vertex waves: sharp transients at the vertex


# The shift scenario's version-2 draws (seed 0, 24 recordings of 12 s per site): per recording, the RMS of each third of
# the montage (alphabetical channels) and the RMS of the first difference (the high frequencies), in microvolts.
SHIFT_V2_LABELS = "f96f0003869e89bfd87d571f5e531515378dbb0487fc760a0777fdf695ea754d"
SHIFT_V2_SUMMARY = [
    (13.1506552, 19.2354749, 18.4254682, 3.74084112),
    (19.2778963, 24.9152393, 33.777913, 4.38563692),
    (13.2715147, 21.2952303, 20.3515752, 3.63817771),
    (16.5268118, 22.3906735, 23.9686724, 4.13115718),
    (12.2650869, 19.3409597, 22.9953135, 3.67769095),
    (12.9081054, 20.3303044, 19.8096109, 3.74289939),
    (10.681051, 15.8104828, 13.4010515, 3.1752632),
    (25.274058, 17.9775929, 30.049947, 3.42710685),
    (11.6031094, 16.6026253, 17.323805, 3.20915671),
    (15.3898217, 18.3649258, 23.0889293, 3.898471),
    (23.9620657, 22.8523517, 22.0691851, 4.85651182),
    (30.2036357, 23.3083328, 20.1014557, 4.95971622),
    (21.2581403, 19.8905168, 22.0247868, 4.31675857),
    (25.5249232, 19.1663247, 28.7642674, 3.56132021),
    (10.2726667, 14.1704181, 13.095513, 2.88370364),
    (12.7329914, 27.1673553, 19.4016948, 3.25571229),
    (17.5414905, 22.1107388, 16.5903833, 4.5728803),
    (11.7240195, 24.9360693, 11.5754465, 3.19366871),
    (14.2403607, 22.4162606, 18.3117788, 3.23327552),
    (13.6837883, 17.4328841, 17.2944867, 4.15274505),
    (17.5649978, 16.1415377, 30.5314614, 3.95610764),
    (15.5104632, 27.30825, 18.1086299, 4.03486244),
    (15.1643149, 31.3153609, 20.3502705, 3.73022364),
    (15.269434, 19.2832589, 13.6628162, 3.82972771),
    (17.3205037, 20.80771, 22.3402487, 7.93404915),
    (20.8051095, 27.1833072, 19.6591442, 7.16252613),
    (14.3912858, 35.1959667, 24.9191203, 8.09791898),
    (14.4867343, 20.0860211, 16.2093568, 5.23253435),
    (22.6069965, 32.5483259, 24.7446394, 9.03970711),
    (20.1404202, 32.3202217, 26.5328653, 8.42821066),
    (11.4162522, 33.0197119, 19.9551614, 6.51100603),
    (20.7865949, 28.4338032, 21.0396681, 8.14517123),
    (19.3018355, 29.5996001, 19.7203181, 7.50853511),
    (12.3938312, 19.7724724, 17.5522416, 5.33946273),
    (20.9941093, 24.5224488, 22.11053, 9.21164126),
    (16.2166491, 29.4843334, 25.87163, 8.1687809),
    (25.3118996, 31.4114737, 32.2171552, 10.481989),
    (14.9125845, 20.2245632, 22.9809209, 5.75249688),
    (18.4136686, 24.7801886, 24.3645139, 7.80119589),
    (12.3058515, 18.6201048, 15.5753525, 5.72712429),
    (19.7193577, 27.0269201, 25.2141002, 9.04069988),
    (15.8238852, 23.4307399, 24.6296841, 8.59733418),
    (15.4233761, 27.730737, 28.0957788, 7.97902011),
    (27.6778946, 30.4393306, 26.5318127, 8.10002492),
    (18.0737614, 24.250607, 22.0001404, 7.43132042),
    (10.1671691, 21.2810546, 15.2209324, 5.28191842),
    (18.0361906, 23.9519779, 23.7781624, 8.12247404),
    (16.9873298, 24.1912041, 24.3296042, 7.42208849),
]


def recording_summary(data: np.ndarray) -> list[float]:
    """A handful of numbers per recording, computed in float64 (a float32 sum would depend on the SIMD path)."""
    uv = data.astype(np.float64) * 1e6
    thirds = [float(np.sqrt(np.mean(part ** 2))) for part in np.array_split(uv, 3)]
    return [*thirds, float(np.sqrt(np.mean(np.diff(uv, axis=1) ** 2)))]


def test_shift_scenario_draws_are_unchanged_by_the_negative_scenarios_additions():
    """beta_excess sits last in the pathology list with weight 0 elsewhere, and sleep is drawn only where a site
    records it: the shift scenario's recordings are the version-2 ones. Ids, sites, pathologies and labels are
    compared exactly (their sha256), the signals by a few statistics per recording at rtol 1e-6, never by their
    bytes: generated data are bit-identical on one machine only. On other SIMD or BLAS code paths (an AVX2-only
    processor, other OpenBLAS kernels) a few float32 samples differ in their last bit, which moves these
    statistics by about 3e-13 (benchmarks/split_portability.py; the old sha256 pin broke there). Even every sample
    one float32 ulp off (random signs) moves them by under 1e-8; a 1% change of one channel, or of one second, of
    one recording moves one of them by more than 1e-3."""
    import hashlib

    recordings = [r for site, share in ((TUAB_LIKE, 0.5), (NMT_LIKE, 0.15))
                  for r in simulate(site, 24, share, 0, "x", SimulationConfig(duration_s=12.0))]
    labels = "".join(f"{r.id}:{r.site}:{r.pathology}:{r.label};" for r in recordings)
    assert hashlib.sha256(labels.encode()).hexdigest() == SHIFT_V2_LABELS
    np.testing.assert_allclose([recording_summary(r.data) for r in recordings], SHIFT_V2_SUMMARY, rtol=1e-6, atol=0)


def test_tcn_standardises_each_channel_and_has_its_own_cpu_preset():
    import torch

    from baselines.shallownet import ShallowNet
    from baselines.tcn import TCN

    assert (TCN({}).params.lr, TCN({}).params.pretrain_steps) == (3e-3, 400)
    assert TCN({"lr": 1e-3}).params.lr == 1e-3 and TCN({"preset": "reference"}).params.lr == 6.25e-4
    assert (ShallowNet({}).params.lr, ShallowNet({}).params.pretrain_steps) == (1e-3, 150)  # the others keep theirs
    torch.manual_seed(0)
    module = TCN({}).build(21, 500).eval()
    x = torch.randn(2, 21, 500) * 30
    gain, offset = torch.rand(1, 21, 1) * 5 + 0.2, torch.randn(1, 21, 1) * 100
    with torch.no_grad():
        torch.testing.assert_close(module(x * gain + offset), module(x), atol=1e-4, rtol=1e-4)
        assert not torch.allclose(module(x), module(torch.randn(2, 21, 500)))


def test_default_crop_is_the_papers():
    sfreq = 250.0
    t = np.arange(int(400 * sfreq)) / sfreq
    x = np.zeros((21, len(t)))
    x[0] = t * 1e-6  # a ramp: one microvolt per second
    kept = preprocess(x, sfreq)
    assert kept.shape == (21, 30000)  # skip 60 s, keep 300 s (APD_EEG: crop tmin=60, tmax=360), at 100 Hz
    assert kept[0, 100] * 21 / 20 == pytest.approx(61.0, abs=0.02)  # 1 s into the kept part is 61 s in (after CAR)
    assert preprocess(x[:, : int(100 * sfreq)], sfreq).shape == (21, 4000)  # shorter recordings: what is there


def test_channels_follow_the_papers_alphabetical_order():
    import mne

    from tasks.eeg.local_data import standard_channels

    paper = sorted(["A1", "A2", "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T3", "T4",
                    "T5", "T6", "FZ", "CZ", "PZ"])  # APD_EEG's short_ch_names
    assert list(CHANNELS) == paper
    shuffled = list(np.random.default_rng(0).permutation(paper))
    data = np.array([[paper.index(name)] * 10 for name in shuffled], dtype=float)
    raw = mne.io.RawArray(data, mne.create_info([f"EEG {c}-REF" for c in shuffled], 100.0, "eeg"), verbose="error")
    np.testing.assert_array_equal(standard_channels(raw, "fixture")[:, 0], np.arange(21))


def test_reference_preset_is_the_papers_recipe_with_cropped_windows():
    import torch

    from baselines.deep4 import Deep4
    from baselines.shallownet import ShallowNet
    from harness.errors import HarnessError
    from tasks.eeg.classifier import abnormal_probability, train
    from tasks.eeg.data import Part
    from tasks.eeg.task import cut_windows

    params = Deep4({"preset": "reference"}).params
    assert (params.lr, params.weight_decay, params.batch_size, params.epochs, params.loss) == (6.25e-4, 5e-4, 64, 10, "nll")
    assert params.window_samples == 6000 and params.cropped
    assert Deep4({"preset": "reference", "lr": 0.01}).params.lr == 0.01  # an explicit value wins
    assert Deep4({}).params.preset == "cpu" and not Deep4({}).params.cropped
    with pytest.raises(HarnessError, match="unknown preset"):
        Deep4({"preset": "paper"})
    method = ShallowNet({"preset": "reference", "window_s": 8.0, "batch_size": 4, "epochs": 2})
    rng = np.random.default_rng(0)
    parts = {name: Part(name, ["a", "b"], np.array([0, 1]), [rng.normal(size=(21, 1500)).astype(np.float32)] * 2)
             for name in ("source_train", "target_train", "target_eval")}
    windows = cut_windows(method, parts)
    torch.manual_seed(0)
    module = method.build(21, 800)
    n_preds = module(torch.zeros(1, 21, 800)).shape[-1]
    assert 1 < n_preds < 800  # dense: one prediction per step past the receptive field
    starts = list(range(0, 1500 - 800 + 1, n_preds))
    assert len(windows["source_train"].windows) == 2 * len(starts)
    assert len(windows["target_eval"].windows) == 2 * (len(starts) + 1)  # plus one ending at the recording's end
    np.testing.assert_array_equal(windows["target_eval"].windows[len(starts)], parts["target_eval"].signals[0][:, -800:])
    source = windows["source_train"]
    before = [q.detach().clone() for q in module.parameters()]
    train(module, source.windows, source.labels[source.owner], 0, method.params, 0, torch.device("cpu"))
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))
    probability = abnormal_probability(module, windows["target_eval"].windows, torch.device("cpu"))
    assert probability.shape == (len(windows["target_eval"].windows),) and ((probability > 0) & (probability < 1)).all()
    short = ShallowNet({"preset": "reference"})  # 60 s windows on 15 s recordings
    with pytest.raises(HarnessError, match="shorter than one 6000-sample window"):
        cut_windows(short, parts)
