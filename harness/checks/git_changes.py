"""Which files a change adds or modifies, from git: what `harness validate --changed-since REF` checks in depth."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.errors import HarnessError
from harness.records.store import log_names


def _git(folder: Path, *args: str) -> list[str]:
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise HarnessError("--changed-since needs git on the PATH: install git, or validate without it") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git failed"])[0]
        raise HarnessError(f"git cannot tell what changed ({first}): pass a revision this checkout has, e.g. origin/main")
    return [line for line in done.stdout.splitlines() if line]


def changed_files(ref: str, roots: list[Path]) -> set[Path]:
    """Files under `roots` that differ from revision `ref` (committed or not) or that git does not track yet,
    as resolved paths."""
    found: set[Path] = set()
    for root in roots:
        folder = root if root.is_dir() else root.parent
        top = Path(_git(folder, "rev-parse", "--show-toplevel")[0])
        _git(folder, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        names = _git(folder, "diff", "--name-only", "--no-renames", ref, "--", str(root.resolve()))
        names += _git(folder, "ls-files", "--others", "--exclude-standard", "--full-name", "--", str(root.resolve()))
        found |= {(top / name).resolve() for name in names}
    return found


def touched(record: Path, changed: set[Path]) -> bool:
    """Whether a change (changed_files) adds or modifies a record, or the samples log beside it under its name."""
    return any(file.resolve() in changed for file in (record, *log_names(record)))
