"""What `harness verify --receipt FILE` re-ran and found reproducing, for `harness site --verified FILE` to show.

A record's *standing* on the site is "verified" when a verification receipt names its run id with the sha256 of the
record file's present bytes (so any later edit drops it back), and "as submitted" otherwise. The receipt is a CI
output, never part of a pull request: `.ci/run` writes it afresh for the records a change brings, and the Pages
workflow keeps its own copy between deployments in the Actions cache of main, adding the records each push brings.
New entries are added to those already in the file.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from harness.checks.validation_receipt import file_sha256
from harness.errors import HarnessError

VERIFIED_FORMAT = 1
AS_SUBMITTED = "as submitted"


def verified_entry(path: Path, samples_rerun: int, equal_scores: int, hardware: str) -> dict[str, Any]:
    """What a receipt keeps of one record that reproduced: its bytes, how many samples were re-run (and scored the
    same), where, and when."""
    return {"record": file_sha256(path), "samples_rerun": samples_rerun, "equal_scores": equal_scores,
            "hardware": hardware, "verified_on": date.today().isoformat()}


def read_verified(receipt: Path) -> dict[str, dict[str, Any]]:
    """The receipt's entries by run id (HarnessError, one line, when the file is not a verification receipt)."""
    try:
        body = json.loads(receipt.read_text())
    except FileNotFoundError:
        raise HarnessError(f"--verified {receipt}: no such receipt: write it with `harness verify RECORD... --receipt "
                           f"{receipt}`, or leave --verified out (every record then shows as submitted)") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HarnessError(f"{receipt} is not a verification receipt ({type(exc).__name__}): remove it and verify again") from None
    if (not isinstance(body, dict) or body.get("format") != VERIFIED_FORMAT or not isinstance(body.get("records"), dict)
            or not all(isinstance(e, dict) for e in body["records"].values())):
        raise HarnessError(f"{receipt} is not a verification receipt of this harness: remove it and verify again")
    return body["records"]


def add_verified(receipt: Path, found: dict[str, dict[str, Any]]) -> None:
    """Adds (or replaces) entries by run id, keeping the others the file holds."""
    records = read_verified(receipt) if receipt.exists() else {}
    records.update(found)
    try:
        receipt.parent.mkdir(parents=True, exist_ok=True)
        receipt.write_text(json.dumps({"format": VERIFIED_FORMAT, "records": records}, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise HarnessError(f"cannot write the receipt {receipt} ({exc.strerror}): choose a writable --receipt path") from None


def standing(run_id: str, path: Path, verified: dict[str, dict[str, Any]]) -> str:
    """'verified: N samples re-run on HARDWARE, DATE' for a record the receipt names with its present bytes, else
    'as submitted'."""
    entry = verified.get(run_id)
    if entry is None or entry.get("record") != file_sha256(path):
        return AS_SUBMITTED
    return (f"verified: {entry.get('samples_rerun')} sample(s) re-run on {entry.get('hardware')}, "
            f"{entry.get('equal_scores')} scored the same, {entry.get('verified_on')}")
