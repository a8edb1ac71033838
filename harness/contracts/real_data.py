"""Real-data tables read with Hugging Face `datasets`, offline: a file, a `save_to_disk` folder or a cached Hub id.

`read_table` is what every real-data split that reads text or tables goes through. It returns plain rows with
columns renamed by a mapping (task column -> source column) and a pin of exactly what was read: the file's
sha256, or the dataset's fingerprint (and, for a Hub dataset, the cached revision).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contracts.digests import sha256_file
from harness.errors import HarnessError

BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".txt": "text"}


@dataclass
class Table:
    """Rows read from one source, and what pins them."""

    rows: list[dict[str, Any]]
    source: str
    pinned: str


def forbid_downloads() -> None:
    """Put the Hugging Face hub and datasets in offline mode for this process (both read it when imported)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"


def _datasets():
    forbid_downloads()
    try:
        import datasets
    except ImportError:
        raise HarnessError("reading this data needs `datasets`: pip install -e '.[data]' (scripts/setup.sh installs it)") from None
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def _pick_split(loaded, split: str | None, source: str):
    if not hasattr(loaded, "keys"):  # already one Dataset
        return loaded
    names = list(loaded.keys())
    chosen = split or ("test" if "test" in names else names[0] if len(names) == 1 else None)
    if chosen not in names:
        raise HarnessError(f"{source} has splits {', '.join(names)}: choose one with --task-arg data_split=NAME")
    return loaded[chosen]


def _fingerprint(dataset) -> str:
    pin = f"fingerprint:{dataset._fingerprint}"
    files = getattr(dataset, "cache_files", None) or []
    if files:  # a Hub dataset's cache lives under .../<revision>/
        revision = Path(files[0]["filename"]).parent.name
        pin += f"@{revision}"
    return pin


def read_table(source: str, columns: dict[str, str] | None = None, split: str | None = None,
               option: str = "the data option") -> Table:
    """Rows of a JSONL / JSON / CSV / TSV / parquet / text file, a `save_to_disk` folder, or a Hub id in the local cache.

    `option` names the task option that gave `source`, for the line that says a path does not exist."""
    datasets = _datasets()
    path = Path(source).expanduser()
    if path.is_file():
        builder = BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise HarnessError(f"{path}: unknown table format {path.suffix!r}: use one of {', '.join(sorted(BUILDERS))}")
        kwargs = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
        try:
            dataset = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HarnessError(f"{path} could not be read as {builder} ({type(exc).__name__}: {first[:200]}): check the file") from None
        pinned = sha256_file(path)
    elif path.is_dir():
        try:
            dataset = _pick_split(datasets.load_from_disk(str(path)), split, str(path))
        except FileNotFoundError:
            raise HarnessError(f"{path} is not a folder written by datasets' save_to_disk: pass a file, such a folder, "
                               f"or a Hub id in the local cache") from None
        pinned = _fingerprint(dataset)
    else:
        if source.startswith((".", "/", "~")) or source.count("/") > 1 or path.suffix.lower() in BUILDERS:
            raise HarnessError(f"data source {source} does not exist: pass an existing file or folder, or a Hub dataset "
                               f"id, with {option}")
        try:
            dataset = _pick_split(datasets.load_dataset(source, split=split), split, source)
        except HarnessError:
            raise
        except Exception as exc:
            raise HarnessError(f"dataset {source} is not a local file, folder or dataset in the local HF cache "
                               f"({type(exc).__name__}): fetch it where there is internet with "
                               f"`python -c \"import datasets; datasets.load_dataset('{source}')\"` and copy "
                               f"~/.cache/huggingface here") from None
        pinned = _fingerprint(dataset)
    rows = dataset.to_list()
    if columns:
        missing = sorted({theirs for theirs in columns.values()} - set(dataset.column_names))
        if missing:
            raise HarnessError(f"{source} has no column {missing[0]!r} (it has {', '.join(dataset.column_names)}): fix --task-arg columns")
        rows = [{**row, **{ours: row[theirs] for ours, theirs in columns.items()}} for row in rows]
    return Table(rows=rows, source=str(source), pinned=pinned)
