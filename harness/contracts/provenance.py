"""Where a plugin method comes from: its distribution's name, version and, when pip recorded it or the install is an
editable git checkout, its commit (PEP 610's direct_url.json). Never a local path: records are published."""

from __future__ import annotations

import functools
import json
import subprocess
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from harness.contracts.record import Provider
from harness.contracts.registry import METHODS

GIT_TIMEOUT_S = 10


def public_url(url: str) -> str | None:
    """A VCS URL without user, password or token; None for a local one (file://, a path)."""
    parts = urlsplit(url.removeprefix("git+"))
    if parts.scheme not in ("https", "ssh") or not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def git_head(folder: Path) -> tuple[str | None, bool | None]:
    """The checkout's HEAD commit and whether tracked files differ from it; (None, None) when it is not a git checkout."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S)
        if head.returncode != 0:
            return None, None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    return head.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None


@functools.lru_cache(maxsize=64)
def distribution_provider(name: str) -> Provider | None:
    """The installed distribution `name` as a Provider (None when it is not installed)."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return None
    commit = dirty = source = None
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except (json.JSONDecodeError, OSError):
        direct = {}
    if not isinstance(direct, dict):
        direct = {}
    vcs = direct.get("vcs_info")
    url = direct.get("url")
    if isinstance(vcs, dict) and isinstance(vcs.get("commit_id"), str):
        commit, source = vcs["commit_id"], public_url(url) if isinstance(url, str) else None
    elif isinstance(url, str) and url.startswith("file://"):
        commit, dirty = git_head(Path(unquote(urlsplit(url).path)))
    return Provider(distribution=dist.metadata["Name"] or name, version=dist.version, commit=commit, dirty=dirty,
                    source=source)


def method_provider(name: str) -> Provider | None:
    """The Provider of a registered method: None for a built-in one (or a name not registered here)."""
    dist = METHODS.entries[name].distribution if name in METHODS.entries else None
    return distribution_provider(dist) if dist else None
