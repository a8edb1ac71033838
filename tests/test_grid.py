"""Grids on the command line: expansion, options where accepted, complete cells kept, shards, merge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.running.grid import Shard, plan_grid, reference_first, split_list
from harness.running.runner import normalised
from tests.conftest import harness_cli
from tests.test_cli import one_line_error, records

COMMON = dict(dtype=None, split="offline", limit=2, seed=0, device="cpu", warmups=1, repeats=3, out="results", resume=False)
FAST = ("--task", "syntsbench", "--limit", "2", "--device", "cpu", "--repeats", "1", "--warmups", "0")


def metrics_by_config(out: Path) -> dict[str, dict]:
    """Each record's metrics by its configuration hash (the run id's last part)."""
    found = {}
    for path in records(out):
        record = json.loads(path.read_text())
        found[record["run_id"].rsplit("-", 1)[1]] = {k: v["value"] for k, v in record["metrics"].items()}
    return found


def test_lists_split_on_commas_and_repeats_keep_order():
    assert split_list(["a,b", "c", "a"]) == ["a", "b", "c"]
    assert split_list(None) == []


def test_grid_applies_options_where_accepted_and_models_only_where_used():
    specs, notes = plan_grid(["naive", "dlinear"], ["syntsbench"], ["m1", "m2"], {"epochs": 2}, {}, COMMON)
    assert [(s.method, s.model, s.method_params) for s in specs] == [("naive", None, {}), ("dlinear", None, {"epochs": 2})]
    assert not notes
    specs, _ = plan_grid(["full", "lacache"], ["passkey"], ["m1", "m2"], {"span": 8}, {"mode": "stream"}, COMMON)
    assert [(s.method, s.model) for s in specs] == [("full", "m1"), ("full", "m2"), ("lacache", "m1"), ("lacache", "m2")]
    assert all(s.task_options == {"mode": "stream"} for s in specs)
    assert [s.method_params for s in specs] == [{}, {}, {"span": 8}, {"span": 8}]
    with pytest.raises(HarnessError, match="no method in this run accepts option 'spam'"):
        plan_grid(["naive", "dlinear"], ["syntsbench"], [], {"spam": 1}, {}, COMMON)


def test_grid_skips_pairs_that_do_not_fit_and_refuses_a_grid_with_none():
    specs, notes = plan_grid(["naive", "lacache"], ["syntsbench", "passkey"], [], {}, {}, COMMON)
    assert [(s.method, s.task) for s in specs] == [("naive", "syntsbench"), ("lacache", "passkey")]
    assert len(notes) == 2 and notes[0].startswith("skipping naive on passkey")
    with pytest.raises(HarnessError, match="no method of naive, seasonal_naive can run any task"):
        plan_grid(["naive", "seasonal_naive"], ["passkey"], [], {}, {}, COMMON)
    with pytest.raises(HarnessError, match="cannot run task 'passkey'"):
        plan_grid(["naive"], ["passkey"], [], {}, {}, COMMON)


def test_shards_partition_the_grid_by_configuration_hash():
    specs, _ = plan_grid(["naive", "seasonal_naive", "dlinear", "nlinear", "mlp"], ["syntsbench"], [], {}, {},
                         {**COMMON, "limit": None})
    specs = [normalised(s) for s in specs]
    shards = [[s.config_hash() for s in specs if Shard(i, 3).holds(s)] for i in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(s.config_hash() for s in specs)
    for text in ("0/2", "3/2", "1-2", "a/b"):
        with pytest.raises(HarnessError, match="--shard expects I/N"):
            Shard.parse(text)


def test_reference_cells_come_first():
    specs, _ = plan_grid(["lacache", "full"], ["passkey"], [], {}, {}, COMMON)
    assert [s.method for s in reference_first(specs)] == ["full", "lacache"]


def test_grid_resumes_shards_merge_to_the_local_run_and_conflicts_are_refused(tmp_path):
    local, one, two, merged = (tmp_path / n for n in ("local", "one", "two", "merged"))
    grid = ("run", "--method", "naive,seasonal_naive", *FAST)
    proc = harness_cli(*grid, "--out", str(local))
    assert proc.returncode == 0, proc.stderr
    assert len(records(local)) == 2
    again = harness_cli(*grid, "--out", str(local))
    assert again.returncode == 0 and again.stdout.count("already complete; kept") == 2
    assert len(records(local)) == 2
    for index, out in ((1, one), (2, two)):
        proc = harness_cli(*grid, "--shard", f"{index}/2", "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert f"shard {index}/2:" in proc.stdout
    assert len(records(one)) + len(records(two)) == 2
    proc = harness_cli("merge", str(one), str(two), "--into", str(merged))
    assert proc.returncode == 0 and "2 record(s)" in proc.stdout, proc.stderr
    assert metrics_by_config(merged) == metrics_by_config(local)
    assert harness_cli("validate", str(merged)).returncode == 0
    # merging the same folders again changes nothing; a changed copy of a record is refused, nothing written
    again = harness_cli("merge", str(one), "--into", str(merged)).stdout
    assert "already there and identical" in " ".join(again.split())  # the console wraps long paths
    before = {p: p.read_bytes() for p in merged.rglob("*") if p.is_file()}
    forged = tmp_path / "forged"
    shutil.copytree(one if records(one) else two, forged)
    victim = records(forged)[0]
    victim.write_text(victim.read_text().replace('"status": "complete"', '"status": "failed"'))
    one_line_error(harness_cli("merge", str(forged), "--into", str(merged)), "conflicting duplicates")
    assert {p: p.read_bytes() for p in merged.rglob("*") if p.is_file()} == before


def test_bad_grid_input_is_one_line(tmp_path):
    out = str(tmp_path / "out")
    one_line_error(harness_cli("run", "--method", "naive", "--executor", "slurm", "--out", out), "unknown executor 'slurm'")
    one_line_error(harness_cli("run", "--method", "naive", "--shard", "2/1", "--out", out), "--shard expects I/N")
    one_line_error(harness_cli("run", "--method", "naive,seasonal_naive", "--task", "passkey", "--out", out),
                   "no method of naive, seasonal_naive can run any task")
    one_line_error(harness_cli("run", "--method", "naive", "--executor", "ray", "--address", "127.0.0.1:9", *FAST,
                               "--out", out), "cannot reach the Ray cluster at 127.0.0.1:9")
    one_line_error(harness_cli("run", "--method", "naive", "--address", "127.0.0.1:9", "--out", out), "add --executor ray")
    one_line_error(harness_cli("merge", str(tmp_path / "missing"), "--into", out), "is not a results folder")
    one_line_error(harness_cli("run", "--method", "naive", "--no-such-flag"), "unrecognized arguments")
    assert not Path(out).exists() or not records(Path(out))
