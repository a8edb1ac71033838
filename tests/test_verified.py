"""A record's standing on the site: verified while a verification receipt names its present bytes, else as
submitted; a receipt that is not one is a single line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checks.verification_receipt import AS_SUBMITTED, add_verified, read_verified, standing, verified_entry
from harness.errors import HarnessError
from tests.conftest import harness_cli
from tests.synthetic import write_passkey_record


def test_standing_follows_the_record_bytes_the_receipt_names(tmp_path: Path):
    path = write_passkey_record(tmp_path / "results", "full", 0.9, 100_000_000, 2.0, run_index=1)
    other = write_passkey_record(tmp_path / "results", "snapkv", 0.5, 50_000_000, 1.5, run_index=2)
    receipt = tmp_path / "verified.json"
    add_verified(receipt, {path.stem: verified_entry(path, 3, 3, "cpu-2c-ci")})
    add_verified(receipt, {})  # adding nothing keeps what the file holds
    found = read_verified(receipt)
    assert standing(path.stem, path, found).startswith("verified: 3 sample(s) re-run on cpu-2c-ci, 3 scored the same")
    assert standing(other.stem, other, found) == AS_SUBMITTED  # not named
    body = json.loads(path.read_text())
    body["metrics"]["exact_match"]["value"] = 1.0
    path.write_text(json.dumps(body))
    assert standing(path.stem, path, found) == AS_SUBMITTED  # edited after it was verified


@pytest.mark.parametrize("text", ["not json", "[]", '{"format": 1, "records": {"x": 3}}', '{"format": 9, "records": {}}'])
def test_a_file_that_is_not_a_verification_receipt_is_one_line(tmp_path: Path, text: str):
    receipt = tmp_path / "verified.json"
    receipt.write_text(text)
    with pytest.raises(HarnessError, match="is not a verification receipt"):
        read_verified(receipt)
    results = tmp_path / "results"
    write_passkey_record(results, "full", 0.9, 100_000_000, 2.0, run_index=1)
    proc = harness_cli("site", "--results", str(results), "--out", str(tmp_path / "site"), "--verified", str(receipt))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "is not a verification receipt" in proc.stderr
    assert not (tmp_path / "site").exists()


def test_ci_verifies_what_a_change_brings_and_names_what_it_cannot_rerun(tmp_path: Path):
    from tests.test_compact_and_changes import git

    results = tmp_path / "results"
    write_passkey_record(results, "full", 0.9, 100_000_000, 2.0, run_index=1)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "records")
    receipt = tmp_path / "build" / "verified.json"
    proc = harness_cli("verify", "--changed-since", "HEAD", "--results", str(results), "--receipt", str(receipt))
    assert proc.returncode == 0 and "nothing to verify" in proc.stdout, proc.stderr
    assert read_verified(receipt) == {}  # written all the same, so the site build that follows can read it

    added = write_passkey_record(results, "snapkv", 0.5, 50_000_000, 1.5, run_index=2)  # its model is nowhere here
    proc = harness_cli("verify", "--changed-since", "HEAD", "--results", str(results), "--receipt", str(receipt))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f"warning: {added} cannot be verified here, so it stays as submitted" in " ".join(proc.stderr.split())
    assert read_verified(receipt) == {}
    proc = harness_cli("verify", str(added))  # named by the user: the reason is the answer, one line
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
