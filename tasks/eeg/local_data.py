"""The real-data path: TUH Abnormal as the source (braindecode's loader) and NMT as the target (its Labels.csv).

TUAB: the folder braindecode's `TUHAbnormal` reads (v3 layout: edf/{train,eval}/{normal,abnormal}/01_tcp_ar/*.edf);
its train recordings are the source. NMT: a folder with `Labels.csv` (columns recordname, label = normal|abnormal,
loc = train|eval) and the EDF files anywhere below it. Channels are matched by their 10-20 name, whatever the
reference suffix ("EEG FP1-REF", "FP1-LE").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from tasks.eeg.data import Part
from tasks.eeg.montage import CHANNELS
from tasks.eeg.preprocess import Preprocessing
from tasks.eeg.simulator import Recording


def channel_key(name: str) -> str:
    """'EEG FP1-REF' -> 'FP1'."""
    return name.upper().removeprefix("EEG ").split("-")[0].strip()


def standard_channels(raw, source: str) -> np.ndarray:
    """The 21 standard channels of an mne Raw, in volts and CHANNELS order."""
    found = {channel_key(n): n for n in raw.ch_names}
    missing = [c for c in CHANNELS if c not in found]
    if missing:
        raise HarnessError(f"{source} lacks channels {missing}: harness needs the 21 10-20 channels with A1/A2")
    return raw.get_data(picks=[found[c] for c in CHANNELS])


def _folder(path: str | None, what: str, option: str) -> Path:
    if not path:
        raise HarnessError(f"the local split needs the {what} folder: add --task-arg {option}=/path/to/it")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise HarnessError(f"{what} folder {folder} does not exist: pass it with --task-arg {option}=...")
    return folder


def tuab_train(folder: Path) -> Iterator[Recording]:
    from braindecode.datasets import TUHAbnormal

    try:
        dataset = TUHAbnormal(str(folder), target_name="pathological", preload=False)
    except (AssertionError, ValueError, IndexError, KeyError) as exc:
        raise HarnessError(f"{folder} is not a TUH Abnormal folder braindecode can read ({exc or type(exc).__name__})") from None
    for base in dataset.datasets:
        description = base.description
        if bool(description["train"]):
            yield Recording(Path(description["path"]).stem, "tuab", base.raw.info["sfreq"],
                            standard_channels(base.raw, description["path"]), int(bool(description["pathological"])), "unknown")


def nmt_part(folder: Path, labels: pd.DataFrame, loc: str) -> Iterator[Recording]:
    import mne

    files = {p.name: p for p in folder.rglob("*.edf")}
    for row in labels[labels["loc"] == loc].itertuples():
        path = files.get(str(row.recordname))
        if path is None:
            raise HarnessError(f"{folder}/Labels.csv names {row.recordname} but no such EDF file is below {folder}")
        raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
        yield Recording(path.stem, "nmt", raw.info["sfreq"], standard_channels(raw, str(path)), int(row.label == "abnormal"), "unknown")


def nmt_labels(folder: Path) -> pd.DataFrame:
    table = folder / "Labels.csv"
    if not table.is_file():
        raise HarnessError(f"{folder} has no Labels.csv: point target_dir at the NMT folder (recordname, label, loc)")
    labels = pd.read_csv(table)
    missing = {"recordname", "label", "loc"} - set(labels.columns)
    if missing:
        raise HarnessError(f"{table} lacks the columns {sorted(missing)}: NMT's Labels.csv has recordname, label and loc")
    return labels


def local_parts(source_dir: str | None, target_dir: str | None, p: Preprocessing) -> dict[str, Part]:
    source = _folder(source_dir, "TUH Abnormal", "source_dir")
    target = _folder(target_dir, "NMT", "target_dir")
    labels = nmt_labels(target)
    return {"source_train": Part.from_recordings("source_train", tuab_train(source), p),
            "target_train": Part.from_recordings("target_train", nmt_part(target, labels, "train"), p),
            "target_eval": Part.from_recordings("target_eval", nmt_part(target, labels, "eval"), p)}
