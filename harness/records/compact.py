"""`harness compact`: store the samples logs of complete runs gzip-compressed, as `harness run` now does itself.

A record is rewritten only to name its `.gz` log: the sha256 it pins is that of the JSONL content and stays the
same. A log that does not match its record is left as it is and reported, so compacting never hides a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.records.store import COMPRESSED_SUFFIX, load_record, record_paths, samples_sha256, store_compressed


@dataclass
class CompactReport:
    """How many logs were compressed, how many were already, and one line per record left alone."""

    compressed: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)


def compact(root: Path) -> CompactReport:
    report = CompactReport()
    for path in record_paths(root):
        try:
            record = load_record(path)
            if record.status != "complete" or record.artifacts is None:
                continue
            log = path.parent / record.artifacts.samples
            if log.name.endswith(COMPRESSED_SUFFIX):
                report.already += 1
            elif log.parent != path.parent or not log.is_file() or log.is_symlink():
                report.problems.append(f"{path}: samples log {record.artifacts.samples} is not a file beside it; left as is")
            elif samples_sha256(log) != record.artifacts.sha256:
                report.problems.append(f"{path}: samples log {log.name} does not match the recorded sha256; left as is")
            else:
                store_compressed(record, path, log)
                report.compressed += 1
        except HarnessError as exc:
            report.problems.append(str(exc))
    return report
