"""Content digests a task records as its data's identity: one file's sha256, or a manifest of big folders."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_sha256(folders: list[str | None], suffixes: tuple[str, ...]) -> str:
    """A manifest hash of big local datasets: every matching file's relative path and size, folder by folder."""
    digest = hashlib.sha256()
    for folder in folders:
        root = Path(str(folder)).expanduser()
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes):
            digest.update(f"{path.relative_to(root)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()
