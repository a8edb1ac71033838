"""One board key for pairing, the site's boards, grid resume and validate: options are compared in canonical form,
so a record made before an option was added (with a default that keeps behaviour) stays on its board."""

from __future__ import annotations

import json

from harness.contracts.registry import TASKS
from harness.records.board_key import canonical_options, distinct_options
from harness.running.cell import CellSpec
from harness.site.board_table import load_all, records_frame
from harness.site.versus_reference import with_versus
from tests.conftest import harness_cli
from tests.test_cli import records

ADDED_LATER = ("columns", "data_split")  # passkey's real-data options, added after its committed records were made


def test_canonical_options_complete_and_reduce_by_the_installed_defaults():
    defaults = TASKS.get("passkey").Options().model_dump(mode="json")
    older = {k: v for k, v in defaults.items() if k not in ADDED_LATER}
    assert set(ADDED_LATER) <= set(defaults) and older != defaults
    assert canonical_options("passkey", older) == canonical_options("passkey", defaults) == defaults
    assert distinct_options("passkey", older) == distinct_options("passkey", defaults) == {}
    changed = {**older, "lengths": [256]}
    assert distinct_options("passkey", changed) == {"lengths": [256]}
    assert canonical_options("passkey", {"gone": 1}) == {**defaults, "gone": 1}  # an option the task lost stays apart
    assert canonical_options("no_such_task", {"a": 1}) == {"a": 1}  # not installed: compared as written


def test_a_configuration_hash_survives_an_added_option_at_its_default():
    defaults = TASKS.get("passkey").Options().model_dump(mode="json")
    older = {k: v for k, v in defaults.items() if k not in ADDED_LATER}
    today, before = (CellSpec(task="passkey", task_options=o, method="full") for o in (defaults, older))
    assert today.config_hash() == before.config_hash()
    assert CellSpec(task="passkey", task_options={**defaults, "lengths": [256]}, method="full").config_hash() != today.config_hash()


def test_a_new_run_lands_on_the_board_of_a_reference_made_before_an_option_was_added(tiny_model_dir, tmp_path):
    out = tmp_path / "results"
    small = ["--task", "passkey", "--task-arg", "lengths=[256]", "--task-arg", "depths=[0.0,1.0]", "--repeats", "1",
             "--warmups", "0", "--model", str(tiny_model_dir), "--out", str(out)]
    assert harness_cli("run", "--method", "full", *small).returncode == 0
    [full_path] = records(out)
    older = json.loads(full_path.read_text())
    assert set(ADDED_LATER) <= set(older["task"]["options"])
    for key in ADDED_LATER:  # the record as the task wrote it before these options existed
        del older["task"]["options"][key]
    full_path.write_text(json.dumps(older))

    assert harness_cli("run", "--method", "lacache", "--method-arg", "span=2", *small).returncode == 0
    [lacache_path] = [p for p in records(out) if "/lacache/" in str(p)]
    comparison = json.loads(lacache_path.read_text())["comparison"]
    assert comparison["run_id"] == older["run_id"] and comparison["metrics"]["exact_match"]["n"] == 2
    assert harness_cli("validate", str(out)).returncode == 0

    frame = with_versus(records_frame(load_all(out)), {i.record.run_id: i for i in load_all(out)})
    assert frame["board"].nunique() == 1  # the site shows one board, paired against the older full record
    assert frame.set_index("method").loc["lacache", "delta_how"] == "paired"

    grid = harness_cli("run", "--method", "full,lacache", "--method-arg", "span=2", *small)
    assert grid.returncode == 0 and grid.stdout.count("already complete; kept") == 2, grid.stdout

    older["task"]["options"]["depths"] = [0.5]  # now the reference is on another board than its comparison says
    full_path.write_text(json.dumps(older))
    proc = harness_cli("validate", str(out))
    assert proc.returncode == 1 and f"reference record {comparison['record']} is on another board" in proc.stderr


def test_a_comparison_must_name_a_record_of_its_own_board_inside_its_tree(tmp_path):
    from harness.contracts.registry import TASKS
    from harness.records.paired import compare_with
    from harness.records.store import SampleLog, load_record, write_record
    from tests.synthetic import PASSKEY_OPTIONS, write_passkey_record

    out = tmp_path / "results"
    full = write_passkey_record(out, "full", 0.9, 1000, 0.1)
    mine = write_passkey_record(out, "streamingllm", 0.5, 500, 0.1, run_index=1)
    record, reference = load_record(mine), load_record(full)
    rows = SampleLog(mine.parent / record.artifacts.samples).read()
    record.comparison = compare_with(TASKS.get("passkey")(PASSKEY_OPTIONS), rows, mine, reference, full, 0)
    write_record(mine, record)
    assert harness_cli("validate", str(out)).returncode == 0
    outside = tmp_path / "elsewhere" / full.name  # a copy of the very same reference, outside the results tree
    outside.parent.mkdir()
    outside.write_text(full.read_text())
    (outside.parent / reference.artifacts.samples).write_bytes((full.parent / reference.artifacts.samples).read_bytes())
    record.comparison.record = str(outside)
    write_record(mine, record)
    proc = harness_cli("validate", str(out))
    assert proc.returncode == 1 and "is not a record inside its results tree" in proc.stderr


def test_a_run_at_another_limit_is_another_board_for_pairing_resume_and_the_site(tmp_path):
    """Issue 36: a knorm lm_eval run at --limit 8 was paired with the committed full at limit 12 and shown alone at
    rank 1. The limit is part of the one board key that pairing, resume, validate and the site use."""
    from harness.records.board_key import board_key
    from harness.records.paired import find_reference
    from harness.records.store import load_record
    from tests.synthetic import write_passkey_record

    full = load_record(write_passkey_record(tmp_path, "full", 0.9, 100, 2.0, run_index=1))
    mine = load_record(write_passkey_record(tmp_path, "snapkv", 0.6, 50, 1.5, run_index=2))
    folder = next(tmp_path.glob("passkey/full/*/*"))
    assert find_reference(mine, folder)[0].run_id == full.run_id
    limited = mine.model_copy(update={"config": mine.config.model_copy(update={"limit": 8})})
    assert find_reference(limited, folder) is None and board_key(limited) != board_key(full)
    spec = dict(task="passkey", method="snapkv", model=None, split="offline", seed=0)
    assert CellSpec(**spec, limit=8).config_hash() != CellSpec(**spec).config_hash()  # --resume finds neither for the other
