"""`harness merge`: join results folders (shards of a grid, other machines' runs) into one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.records.store import (
    ensure_dir,
    read_record,
    result_files,
    samples_path,
    samples_sha256,
    within_tree,
    write_text_atomic,
)


@dataclass
class MergeReport:
    """What a merge wrote and what it found already there."""

    copied: int
    identical: int
    records: int
    skipped: list[str]  # files of the sources that are neither a record nor its samples log (not copied)


def merge_inputs(source: Path) -> tuple[dict[str, Path], list[str]]:
    """A source's records and the samples logs they name, by relative path, and the other files' relative paths;
    a symlink anywhere in the source is refused (merge copies regular files, never what a link points at)."""
    files = result_files(source)
    for path in sorted(source.rglob("*")):
        if path.is_symlink():
            raise HarnessError(f"{path} is a symlink: merge copies regular files only; replace it with the file itself")
    wanted = {rel: path for rel, path in files.items() if rel.endswith(".json")}
    for path in list(wanted.values()):
        log = samples_path(read_record(path)[0], path)
        if log is not None and log.is_file():
            wanted[log.relative_to(source).as_posix()] = log
    return dict(sorted(wanted.items())), sorted(set(files) - set(wanted))


def inside(into: Path, rel: str) -> Path:
    """Where `rel` goes under `into`, refused when a symlink on the way would lead the write out of it."""
    return within_tree(into, into / rel, "remove the link, then merge")


def merge(sources: list[Path], into: Path) -> MergeReport:
    """Copy every record and samples log of `sources` into `into` (nothing else: other files are listed as skipped).
    Checked before anything is written: no symlink in a source, each record valid and matching its samples, and a
    path that two folders (or `into`) hold with different bytes is a conflict, one line, nothing written. Identical
    duplicates are merged once; no write leaves `into`."""
    chosen: dict[str, tuple[bytes, Path]] = {}
    existing = result_files(into) if into.exists() else {}
    run_ids: dict[str, tuple[str, Path]] = {}
    skipped: list[str] = []
    for source in sources:
        wanted, others = merge_inputs(source)
        skipped += [str(source / rel) for rel in others]
        for rel, path in wanted.items():
            data = path.read_bytes()
            if rel.endswith(".json"):
                record, _ = read_record(path)
                samples = samples_path(record, path)
                if samples is not None and (not samples.exists() or samples_sha256(samples) != record.artifacts.sha256):
                    raise HarnessError(f"{path} does not match its samples log {samples.name} (missing or changed "
                                       "since the record was written): merge only intact records")
                where = run_ids.setdefault(record.run_id, (rel, path))
                if where[0] != rel:
                    raise HarnessError(f"run {record.run_id} is at two places ({where[1]} and {path}): remove one")
            earlier = chosen.get(rel)
            if earlier is not None and earlier[0] != data:
                raise HarnessError(f"conflicting duplicates: {earlier[1]} and {path} differ; keep one of them, then merge")
            if rel in existing and existing[rel].read_bytes() != data:
                raise HarnessError(f"conflicting duplicates: {existing[rel]} already exists and differs from {path}; "
                                   "merge into an empty folder or remove one")
            chosen.setdefault(rel, (data, path))
    targets = {rel: inside(into, rel) for rel in chosen if rel not in existing}  # every one checked before any write
    for rel, target in targets.items():
        ensure_dir(target.parent)
        write_text_atomic(target, chosen[rel][0])
    copied = len(targets)
    records = sum(1 for rel in chosen if rel.endswith(".json"))
    return MergeReport(copied=copied, identical=len(chosen) - copied, records=records, skipped=skipped)
