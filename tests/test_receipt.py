"""A validation receipt lets the site skip checks `harness validate` just ran, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import harness_cli
from tests.synthetic import write_passkey_record


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    out = tmp_path / "results"
    write_passkey_record(out, "full", 0.9, 100_000_000, 2.0, run_index=1)
    write_passkey_record(out, "snapkv", 0.6, 50_000_000, 1.5, run_index=2)
    write_passkey_record(out, "lacache", 0.5, 40_000_000, 1.2, run_index=3)
    return out


def built(results: Path, out: Path, *extra: str, says: str = "") -> dict[str, str]:
    """Build the site and return its task pages' downloads (CSV text by file name)."""
    proc = harness_cli("site", "--results", str(results), "--out", str(out), *extra)
    assert proc.returncode == 0 and says in proc.stdout, proc.stdout + proc.stderr
    return {p.name: p.read_text() for p in sorted((out / "tasks").glob("*.csv"))}


def test_site_with_a_receipt_builds_the_same_site_and_still_checks_what_changed(results, tmp_path):
    from harness.checks.validation_receipt import read_receipt

    receipt = tmp_path / "build" / "validated.json"
    proc = harness_cli("validate", str(results), "--receipt", str(receipt))
    assert proc.returncode == 0, proc.stderr
    assert len(read_receipt(receipt)) == 3 and "receipt of those that passed" in proc.stdout
    with_receipt = built(results, tmp_path / "with", "--validated", str(receipt), says="(3 taken from the receipt unchecked)")
    assert with_receipt == built(results, tmp_path / "without")
    assert (tmp_path / "with" / "runs").is_dir() and len(list((tmp_path / "with" / "runs").glob("*.html"))) == 3

    # a record edited after the receipt is checked again and left out, though the receipt named it
    [lacache] = results.glob("passkey/lacache/*/*/*.json")
    body = json.loads(lacache.read_text())
    body["metrics"]["exact_match"]["value"] = 0.99
    lacache.write_text(json.dumps(body, indent=2))
    proc = harness_cli("site", "--results", str(results), "--out", str(tmp_path / "edited"), "--validated", str(receipt))
    assert proc.returncode == 0, proc.stderr
    assert "left out" in proc.stderr and lacache.name in proc.stderr and "exact_match" in proc.stderr
    assert "1 left out" in proc.stdout and "(2 taken from the receipt unchecked)" in proc.stdout


def test_a_receipt_from_another_installation_checks_everything(results, tmp_path, monkeypatch):
    import harness.checks.validation_receipt as receipt_module
    from harness.records.store import record_paths

    receipt = tmp_path / "validated.json"
    paths = list(record_paths(results))
    receipt_module.write_receipt(receipt, paths)
    assert receipt_module.trusted(receipt, paths) == set(paths)
    monkeypatch.setattr(receipt_module, "fingerprint", lambda: "another harness")
    assert receipt_module.trusted(receipt, paths) == set()  # written by other checking code: trusted for nothing


@pytest.mark.parametrize("content, says", [(None, "no such receipt"), ("{not json", "is not a receipt"),
                                           ('{"format": 99, "records": {}}', "not a receipt of this harness")])
def test_a_missing_or_broken_receipt_is_one_line(results, tmp_path, content, says):
    receipt = tmp_path / "validated.json"
    if content is not None:
        receipt.write_text(content)
    out = tmp_path / "site"
    proc = harness_cli("site", "--results", str(results), "--out", str(out), "--validated", str(receipt))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert says in line and "harness validate" in line
    assert not out.exists()  # nothing built, nothing replaced
