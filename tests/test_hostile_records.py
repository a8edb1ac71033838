"""Records edited as a hostile contributor would: each is refused by `harness validate` in one line naming the field,
the honest records beside it still pass, and the site leaves the forgery out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import harness_cli
from tests.synthetic import write_passkey_record

FUTURE = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
EDITS = {  # name: (the edit to the record's JSON, what the refusal says)
    "negative limit": (lambda r: r["config"].update(limit=-1), "config.limit -1 is negative"),
    "dated in the future": (lambda r: r.update(created_at=FUTURE), "is in the future"),
    "negative latency": (lambda r: r["performance"]["latency"]["time_to_first_token"].update(p50=-2.0),
                         "latency time_to_first_token p50 is -2.0"),
    "zero latency": (lambda r: r["performance"]["latency"]["time_per_output_token"].update(p50=0.0),
                     "latency time_per_output_token p50 is 0.0"),
    "NaN latency": (lambda r: r["performance"]["latency"]["time_to_first_token"].update(p90=float("nan")),
                    "latency time_to_first_token p90 is nan"),
    "infinite raw latency": (lambda r: r["performance"]["latency"]["time_to_first_token"]["raw"].append(float("inf")),
                             "latency time_to_first_token raw is inf"),
    "negative KV bytes": (lambda r: r["performance"]["memory"]["kv_cache"].update(decode_bytes=-5),
                          "memory kv_cache decode_bytes is -5"),
    "zero peak memory": (lambda r: r["performance"]["memory"].update(peak_bytes=0), "memory peak_bytes is 0"),
    "hand-picked samples": (lambda r: r["config"].update(sample_ids=["0000", "0001"]), "config.sample_ids picks 2 sample(s)"),
    "method not installed": (lambda r: r["method"].update(name="ghost_press"), "method 'ghost_press' is not installed"),
    "task not installed": (lambda r: r["task"].update(name="ghost_task"), "task 'ghost_task' is not installed"),
}


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("honest")
    write_passkey_record(out, "full", 0.9, 100_000_000, 2.0, run_index=1)
    write_passkey_record(out, "snapkv", 0.6, 50_000_000, 1.5, run_index=2)
    return out


def forged(honest: Path, tmp_path: Path, edit) -> tuple[Path, Path]:
    """A copy of the honest tree whose snapkv record has had `edit` applied (written as a forger would: plain JSON)."""
    import shutil

    tree = tmp_path / "results"
    shutil.copytree(honest, tree)
    [path] = tree.glob("passkey/snapkv/*/*/*.json")
    body = json.loads(path.read_text())
    edit(body)
    path.write_text(json.dumps(body, indent=2))
    return tree, path


@pytest.mark.parametrize("name", sorted(EDITS))
def test_a_claim_no_log_can_confirm_is_held_to_what_is_possible(honest, tmp_path, name):
    edit, says = EDITS[name]
    tree, path = forged(honest, tmp_path, edit)
    proc = harness_cli("validate", str(tree))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and path.name in errors[0] and says in errors[0], proc.stderr
    assert "2 record(s) checked, 1 problem(s)" in proc.stdout  # the honest record beside it still passes


def test_the_site_leaves_a_forged_cost_out_and_ranks_the_rest(honest, tmp_path):
    tree, path = forged(honest, tmp_path, EDITS["negative latency"][0])
    proc = harness_cli("site", "--results", str(tree), "--out", str(tmp_path / "site"))
    assert proc.returncode == 0, proc.stderr
    assert "left out" in proc.stderr and path.name in proc.stderr and "1 left out" in proc.stdout
    assert not (tmp_path / "site" / "runs" / f"{path.stem}.html").exists()
    rejected = (tmp_path / "site" / "rejected.html").read_text()
    assert path.name in rejected and "p50 is -2.0" in rejected and str(tmp_path) not in rejected  # no absolute path


def test_rescore_writes_only_inside_its_results_tree(honest, tmp_path):
    import shutil

    outside = tmp_path / "outside"
    shutil.copytree(honest, outside)
    [record] = outside.glob("passkey/snapkv/*/*/*.json")
    before = record.read_bytes()
    tree = tmp_path / "results"
    tree.mkdir()
    (tree / "passkey").symlink_to(outside / "passkey", target_is_directory=True)  # a write under passkey/ lands outside
    linked = next(tree.glob("passkey/snapkv/*/*/*.json"))
    proc = harness_cli("rescore", str(linked), "--results", str(tree), "--write")
    assert proc.returncode == 2 and "leads out of" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proc = harness_cli("rescore", record.stem, "--results", str(tree), "--write")  # a run id: looked up without links
    assert proc.returncode == 2 and "no run" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert record.read_bytes() == before


def test_names_from_a_record_reach_the_terminal_literally(tmp_path):
    from harness.records.terminal import literal

    name = "[bold red]snap\x1b[2Jkv[/]"
    path = write_passkey_record(tmp_path / "results", name, 0.6, 50_000_000, 1.5, run_index=2)
    proc = harness_cli("show", path.stem, "--results", str(tmp_path / "results"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "\x1b" not in proc.stdout and literal(name) in proc.stdout  # markup kept as text, the escape shown as \x1b
    assert literal(name) == "[bold red]snap\\x1b[2Jkv[/]" and literal("a\nb\tc") == "a\nb\tc"


def test_merge_copies_records_and_their_logs_only_and_never_follows_a_link(honest, tmp_path):
    import shutil

    source = tmp_path / "source"
    shutil.copytree(honest, source)
    (source / "passkey" / "evil.sh").write_text("#!/bin/sh\necho pwned\n")
    proc = harness_cli("merge", str(source), "--into", str(tmp_path / "merged"))
    assert proc.returncode == 0 and "2 record(s), 4 file(s) copied" in " ".join(proc.stdout.split()), proc.stdout + proc.stderr
    assert "not copied" in proc.stderr and "evil.sh" in proc.stderr and not list((tmp_path / "merged").rglob("evil.sh"))

    linked = tmp_path / "linked"
    shutil.copytree(honest, linked)
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (linked / "passkey" / "link.json").symlink_to(outside)
    proc = harness_cli("merge", str(linked), "--into", str(tmp_path / "merged2"))
    assert proc.returncode == 2 and "is a symlink" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "merged2").exists() or not any((tmp_path / "merged2").rglob("*.json"))

    escape = tmp_path / "escape"
    escape.mkdir()
    into = tmp_path / "into"
    into.mkdir()
    (into / "passkey").symlink_to(escape, target_is_directory=True)  # a write under passkey/ would land outside
    proc = harness_cli("merge", str(source), "--into", str(into))
    assert proc.returncode == 2 and "leads out of" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(escape.rglob("*"))


def test_a_stale_record_stays_unranked_and_a_change_cannot_bring_one(honest, tmp_path):
    from harness.site.board_table import records_frame, vetted
    from harness.site.paired_ranks import with_ranks
    from tests.test_compact_and_changes import git

    tree, path = forged(honest, tmp_path, lambda r: r["method"].update(version="0"))
    proc = harness_cli("validate", str(tree))
    assert proc.returncode == 0, proc.stderr  # a stale record may stay in the repository...
    assert f"stale: {path}: method snapkv version 0, installed 2 (kept, never ranked)" in proc.stderr
    assert "2 record(s) checked, 1 stale (never ranked), 0 problem(s)" in proc.stdout
    items = vetted(tree).items
    frame = with_ranks(records_frame(items), {i.record.run_id: i for i in items}).set_index("method")
    assert frame.loc["snapkv", "stale"] and frame.loc["snapkv", "rank"] is pd.NA  # ...and is never ranked
    assert frame.loc["full", "rank"] == 1

    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "records")
    body = json.loads(path.read_text())
    body["task"]["spec_hash"] = "0" * 64  # a spec the installed task does not declare equivalent
    path.write_text(json.dumps(body, indent=2))
    proc = harness_cli("validate", str(tree), "--changed-since", "HEAD")
    assert proc.returncode == 1 and "made by other code than is installed" in proc.stderr, proc.stderr
    assert "spec 000000000000, installed" in proc.stderr and "rerun it with the installed code" in proc.stderr


def test_an_equivalent_spec_hash_keeps_a_record_current(honest, tmp_path):
    from harness.checks.installed import stale_reasons
    from harness.records.store import load_record
    from tasks.long_context.passkey import Passkey

    [old_hash] = Passkey.spec.equivalent_specs
    tree, path = forged(honest, tmp_path, lambda r: r["task"].update(spec_hash=old_hash))
    assert stale_reasons(load_record(path)) == []
    tree, path = forged(honest, tmp_path / "again", lambda r: r["task"].update(spec_hash="f" * 64))
    assert stale_reasons(load_record(path)) and "spec ffffffffffff" in stale_reasons(load_record(path))[0]
