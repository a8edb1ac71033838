"""`harness merge`: join results folders (shards of a grid, other machines' runs) into one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.store import ensure_dir, read_record, result_files, samples_path, samples_sha256, write_text_atomic


@dataclass
class MergeReport:
    """What a merge wrote and what it found already there."""

    copied: int
    identical: int
    records: int


def merge(sources: list[Path], into: Path) -> MergeReport:
    """Copy every record and samples log of `sources` into `into`. Checked before anything is written: each record
    must be valid and match its samples, and a path that two folders (or `into`) hold with different bytes is a
    conflict, one line, nothing written. Identical duplicates are merged once."""
    chosen: dict[str, tuple[bytes, Path]] = {}
    existing = result_files(into) if into.exists() else {}
    run_ids: dict[str, tuple[str, Path]] = {}
    for source in sources:
        for rel, path in result_files(source).items():
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
    copied = 0
    for rel, (data, _) in chosen.items():
        if rel in existing:
            continue
        ensure_dir((into / rel).parent)
        write_text_atomic(into / rel, data)
        copied += 1
    records = sum(1 for rel in chosen if rel.endswith(".json"))
    return MergeReport(copied=copied, identical=len(chosen) - copied, records=records)
