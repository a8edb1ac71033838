"""Compressed samples logs (`harness compact`, read in both forms, the content sha256 kept) and `harness validate
--changed-since` (splits re-generated only for what a change touches; every other check on all records)."""

from __future__ import annotations

import json
import shutil
import subprocess

from harness.records.store import COMPRESSED_SUFFIX, SAMPLES_SUFFIX, SampleLog, samples_sha256
from tests.conftest import harness_cli
from tests.synthetic import write_passkey_record


def test_compact_keeps_each_records_hash_and_every_reader_takes_both_forms(tmp_path):
    out = tmp_path / "results"
    paths = [write_passkey_record(out, method, q, 1000, 0.1, run_index=i) for i, (method, q) in
             enumerate((("full", 0.9), ("streamingllm", 0.5)))]
    before = {p: json.loads(p.read_text()) for p in paths}
    plain_rows = {p: SampleLog(p.with_name(p.stem + SAMPLES_SUFFIX)).read() for p in paths}
    proc = harness_cli("compact", str(out))
    assert proc.returncode == 0 and "2 samples log(s) compressed" in proc.stdout, proc.stderr
    for path in paths:
        record = json.loads(path.read_text())
        log = path.with_name(record["artifacts"]["samples"])
        assert log.name.endswith(COMPRESSED_SUFFIX) and not path.with_name(path.stem + SAMPLES_SUFFIX).exists()
        assert record["artifacts"]["sha256"] == before[path]["artifacts"]["sha256"] == samples_sha256(log)
        assert {k: v for k, v in record.items() if k != "artifacts"} == {k: v for k, v in before[path].items() if k != "artifacts"}
        assert SampleLog(log).read() == plain_rows[path]
    assert harness_cli("validate", str(out)).returncode == 0
    assert harness_cli("compact", str(out)).stdout.startswith("0 samples log(s) compressed, 2 already compressed")
    assert harness_cli("show", paths[1].stem, "--results", str(out)).returncode == 0
    assert harness_cli("rescore", str(paths[1])).returncode == 0


def test_compact_leaves_a_log_that_does_not_match_its_record(tmp_path):
    out = tmp_path / "results"
    path = write_passkey_record(out, "full", 0.9, 1000, 0.1)
    log = path.with_name(path.stem + SAMPLES_SUFFIX)
    log.write_text(log.read_text().replace('"exact_match": 1.0', '"exact_match": 0.0', 1))
    proc = harness_cli("compact", str(out))
    assert proc.returncode == 1 and "does not match the recorded sha256; left as is" in proc.stderr
    assert log.exists() and not list(out.rglob(f"*{COMPRESSED_SUFFIX}"))


def git(folder, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=folder, check=True, capture_output=True)


def test_changed_since_regenerates_splits_only_for_what_a_change_touches(tmp_path):
    out = tmp_path / "results"
    old = write_passkey_record(out, "full", 0.9, 1000, 0.1)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "records")
    new = write_passkey_record(out, "streamingllm", 0.5, 500, 0.1, run_index=1)
    proc = harness_cli("validate", str(out), "--changed-since", "HEAD")
    assert proc.returncode == 0 and "2 record(s) checked (1 changed since HEAD re-scored against their split)" in proc.stdout
    # An old record whose meta no longer matches the split: only a deep check sees it, and a change that touches
    # its samples makes it deep.
    log = old.with_name(old.stem + SAMPLES_SUFFIX)
    rows = SampleLog(log).read()
    rows[0]["meta"] = {"forged": True}
    SampleLog(log).rewrite(rows)
    record = json.loads(old.read_text())
    record["artifacts"]["sha256"] = samples_sha256(log)
    old.write_text(json.dumps(record))
    proc = harness_cli("validate", str(out), "--changed-since", "HEAD")
    assert proc.returncode == 1 and "carry a meta that is not the split's" in proc.stderr
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "forged")
    assert harness_cli("validate", str(out), "--changed-since", "HEAD").returncode == 0  # not touched since HEAD
    assert harness_cli("validate", str(out)).returncode == 1  # a full validation still sees it
    assert new.exists()
    proc = harness_cli("validate", str(out), "--changed-since", "no-such-ref")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "git cannot tell what changed" in proc.stderr


def test_a_samples_log_that_is_neither_plain_nor_gzip_is_one_line(tmp_path):
    out = tmp_path / "results"
    path = write_passkey_record(out, "full", 0.9, 1000, 0.1)
    assert harness_cli("compact", str(out)).returncode == 0
    log = path.with_name(json.loads(path.read_text())["artifacts"]["samples"])
    shutil.copy(path, tmp_path / "kept.json")
    log.write_bytes(b"\x1f\x8b\x08garbage")
    for args in (("validate", str(out)), ("rescore", str(path)), ("verify", str(path))):
        proc = harness_cli(*args)
        assert proc.returncode in (1, 2) and "is not valid gzip" in proc.stderr and "Traceback" not in proc.stderr, args
    shown = harness_cli("show", path.stem, "--results", str(out))  # the record alone: it does not read the log
    assert shown.returncode == 0 and "Traceback" not in shown.stderr
    assert path.read_text() == (tmp_path / "kept.json").read_text()  # nothing rewritten
