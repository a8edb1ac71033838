"""What `harness validate --receipt FILE` passed, so that `harness site --validated FILE` need not check it again.

A receipt names each record that passed by its resolved path, with the sha256 of the record file's bytes and of its
samples log's bytes, under a fingerprint of the checking code (every Python file of harness and of the packages that
register tasks and methods).
The site trusts a record only when all of these still match; any other record (edited since, moved, new, or a receipt
from another installation or machine) is checked in full. A receipt is a build output (build/, git-ignored): CI writes
it in the same job that reads it, so a receipt committed by a pull request is overwritten before the site reads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from harness import __version__
from harness.contracts.registry import METHODS, TASKS
from harness.errors import HarnessError
from harness.records.store import load_record, samples_path

RECEIPT_FORMAT = 1
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint() -> str:
    """This installation's checking code: every Python file of harness and of each package that registers a task or
    a method (built-in or plugin), read without importing any of them."""
    packages = {"harness"} | {registry.entry(name).target.split(".", 1)[0].split(":", 1)[0]
                              for registry in (TASKS, METHODS) for name in registry.names()}
    digest = hashlib.sha256(__version__.encode())
    for package in sorted(packages):
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(folder).rglob("*.py")):
                digest.update(f"\n{package}/{path.relative_to(folder).as_posix()}\n".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def entry(path: Path) -> dict[str, str | None]:
    """The bytes a record's check covered: the record file and the samples log it names (None when it names none)."""
    log = samples_path(load_record(path), path)
    return {"record": file_sha256(path), "samples": file_sha256(log) if log is not None and log.is_file() else None}


def write_receipt(receipt: Path, passed: list[Path]) -> None:
    """Writes the receipt for the records that passed (replacing any older one)."""
    body = {"format": RECEIPT_FORMAT, "fingerprint": fingerprint(),
            "records": {str(path.resolve()): entry(path) for path in passed}}
    try:
        receipt.parent.mkdir(parents=True, exist_ok=True)
        receipt.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise HarnessError(f"cannot write the receipt {receipt} ({exc.strerror}): choose a writable --receipt path") from None


def read_receipt(receipt: Path) -> dict[str, dict[str, str | None]]:
    """The receipt's records when it was written by this installation; empty when it was not (all checked again)."""
    try:
        body = json.loads(receipt.read_text())
    except FileNotFoundError:
        raise HarnessError(f"--validated {receipt}: no such receipt: write it with `harness validate RESULTS --receipt "
                           f"{receipt}`, or leave --validated out to check every record") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HarnessError(f"--validated {receipt} is not a receipt ({type(exc).__name__}): write it again with "
                           f"`harness validate RESULTS --receipt {receipt}`") from None
    if not isinstance(body, dict) or body.get("format") != RECEIPT_FORMAT or not isinstance(body.get("records"), dict):
        raise HarnessError(f"--validated {receipt} is not a receipt of this harness: write it again with "
                           f"`harness validate RESULTS --receipt {receipt}`")
    return body["records"] if body.get("fingerprint") == fingerprint() else {}


def trusted(receipt: Path, paths: list[Path]) -> set[Path]:
    """The records among `paths` that the receipt passed with the very bytes they have now."""
    records = read_receipt(receipt)
    found = set()
    for path in paths:
        passed = records.get(str(path.resolve()))
        if not isinstance(passed, dict) or passed.get("record") != file_sha256(path):
            continue  # the record changed: no need to read it
        try:
            if entry(path) == passed:
                found.add(path)
        except HarnessError:
            continue
    return found
