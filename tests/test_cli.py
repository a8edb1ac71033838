"""End to end through the CLI on a tiny local Llama: records, resume, failures, and one-line errors for bad input."""

from __future__ import annotations

import json
import shlex
import textwrap
from pathlib import Path

import pytest

from harness.records.environment import slug
from harness.records.store import SAMPLES_SUFFIX, SampleLog
from tests.conftest import harness_cli, logged_rows

SMALL = ["--task-arg", "lengths=[256]", "--task-arg", "depths=[0.0,0.5,1.0]", "--repeats", "1", "--warmups", "0"]


def one_line_error(proc, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert fragment in lines[0]
    assert "Traceback" not in proc.stderr


def records(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.json") if not p.name.startswith("."))


@pytest.fixture(scope="module")
def finished_run(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    proc = harness_cli("run", "--method", "streamingllm", "--task", "passkey", "--model", str(tiny_model_dir),
                       "--method-arg", "budget=0.75", "--out", str(out), *SMALL)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_run_writes_a_valid_record_with_measurements(finished_run, tiny_model_dir):
    out, proc = finished_run
    [path] = records(out)
    record = json.loads(path.read_text())
    assert record["status"] == "complete"
    assert path.stat().st_mode & 0o777 == 0o644  # records are meant to be committed and shared
    assert record["task"]["protocol"]["first_answer_token"] == "decoded from the compressed cache, never from full-attention logits"
    assert record["method"]["params"] == {"budget": 0.75, "leading_tokens": 4}
    assert record["method"]["base_model"]["id"] == str(tiny_model_dir)
    assert record["task"]["dataset"]["n_evaluated"] == 3
    assert set(record["metrics"]) == {"exact_match", "contains", "partial_credit", "gold_logprob"}
    samples = logged_rows(path)
    protected = {row["output"]["protected_tokens"] for row in samples}
    assert record["method"]["applied"]["leading_tokens_kept"] == sorted(max(4, p) for p in protected)
    latency = record["performance"]["latency"]
    assert latency["time_to_first_token"]["repeats"] == 1 and latency["time_to_first_token"]["p50"] > 0
    assert len(latency["time_per_output_token"]["raw"]) == 15
    kv = record["performance"]["memory"]["kv_cache"]
    assert kv["decode_bytes"] < kv["peak_bytes"]  # compressed after the prefill
    assert record["performance"]["memory"]["scope"] == "process_peak_rss"
    assert {row["length"] for row in record["breakdowns"]["by_length_depth"]} == {256}
    assert "harness run --method streamingllm --task passkey" in record["config"]["command"]
    assert "passkey" in proc.stdout and "streamingllm" in proc.stdout


def test_validate_show_and_rescore(finished_run):
    out, _ = finished_run
    [path] = records(out)
    proc = harness_cli("validate", str(out))
    assert proc.returncode == 0 and "1 record(s) checked, 0 problem(s)" in proc.stdout
    run_id = path.stem
    assert run_id in harness_cli("show", "--results", str(out)).stdout
    shown = harness_cli("show", run_id, "--results", str(out))
    assert shown.returncode == 0 and "time_to_first_token" in shown.stdout
    before = json.loads(path.read_text())["metrics"]
    assert harness_cli("rescore", str(path)).returncode == 0
    assert json.loads(path.read_text())["metrics"] == before
    assert harness_cli("validate", str(out)).returncode == 0


def test_validate_catches_tampering(finished_run, tmp_path):
    out, _ = finished_run
    [path] = records(out)
    copy = tmp_path / path.name
    record = json.loads(path.read_text())
    record["metrics"]["exact_match"]["value"] = 0.99
    copy.write_text(json.dumps(record))
    (tmp_path / record["artifacts"]["samples"]).write_bytes((path.parent / record["artifacts"]["samples"]).read_bytes())
    proc = harness_cli("validate", str(copy))
    assert proc.returncode == 1 and "metric exact_match = 0.99 but the samples give" in proc.stderr
    SampleLog(tmp_path / record["artifacts"]["samples"]).rewrite([{"id": "forged"}])
    assert "does not match the recorded sha256" in harness_cli("validate", str(copy)).stderr
    (tmp_path / record["artifacts"]["samples"]).write_bytes(b"not gzip")
    one_line = harness_cli("validate", str(copy))
    assert "is not valid gzip" in one_line.stderr and "Traceback" not in one_line.stderr


def test_resume_skips_finished_samples(tiny_model_dir, tmp_path):
    args = ["run", "--method", "full", "--task", "passkey", "--model", str(tiny_model_dir), "--out", str(tmp_path), *SMALL]
    assert harness_cli(*args).returncode == 0
    [record_path] = records(tmp_path)
    compressed = record_path.with_name(json.loads(record_path.read_text())["artifacts"]["samples"])
    lines = [json.dumps(row) + "\n" for row in logged_rows(record_path)]
    # Simulate a kill after the first sample, mid-way through writing the second (before the log was compressed).
    log = record_path.with_name(record_path.stem + SAMPLES_SUFFIX)
    log.write_text(lines[0] + lines[1][:20])
    compressed.unlink()
    record_path.unlink()
    first = json.loads(lines[0])
    proc = harness_cli(*args, "--resume")
    assert proc.returncode == 0, proc.stderr
    [again] = records(tmp_path)
    assert again.stem == record_path.stem  # the same run continued
    rows = logged_rows(again)
    assert [r["id"] for r in rows] == ["len256-depth0.00", "len256-depth0.50", "len256-depth1.00"]
    assert rows[0] == first  # kept, not recomputed
    assert json.loads(again.read_text())["status"] == "complete"


PLUGIN = textwrap.dedent('''
    import os
    from baselines.full import FullCache
    from harness.contracts.method import Method


    class Crashing(FullCache):
        name = "crashing"
        def compress(self, cache, ctx):
            raise RuntimeError("policy bug")


    class Hungry(FullCache):
        name = "hungry"
        def compress(self, cache, ctx):
            raise MemoryError("cannot allocate")


    class Killed(FullCache):
        name = "killed"
        def compress(self, cache, ctx):
            os.kill(os.getpid(), 9)


    class Forecaster(Method):
        name = "naive_forecast"
        family = "timeseries"
        protocol = "forecaster"
''')


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """An installed-looking plugin package (a dist-info with entry points) on PYTHONPATH."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "harness_test_plugin.py").write_text(PLUGIN)
    dist = root / "harness_test_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-test-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[harness.methods]\ncrashing = harness_test_plugin:Crashing\nhungry = harness_test_plugin:Hungry\n"
        "killed = harness_test_plugin:Killed\nnaive_forecast = harness_test_plugin:Forecaster\n"
    )
    return {"PYTHONPATH": str(root)}


@pytest.mark.parametrize("method,status,fragment", [("crashing", "failed", "RuntimeError: policy bug"),
                                                     ("hungry", "oom", "MemoryError"),
                                                     ("killed", "oom", "exited with code -9")])
def test_a_failing_cell_is_recorded_and_the_rest_go_on(tiny_model_dir, tmp_path, plugin_env, method, status, fragment):
    proc = harness_cli("run", "--method", method, "--task", "passkey", "--task", "long_ppl", "--model", str(tiny_model_dir),
                       "--task-arg", "lengths=[256]", "--task-arg", "depths=[0.5]", "--out", str(tmp_path), env=plugin_env)
    assert proc.returncode == 1
    found = {json.loads(p.read_text())["task"]["name"]: json.loads(p.read_text()) for p in records(tmp_path)}
    assert set(found) == {"passkey", "long_ppl"}  # the second cell ran after the first failed
    assert all(p.parts[-3] == slug(str(tiny_model_dir)) for p in records(tmp_path))  # filed under the model
    for record in found.values():
        assert record["status"] == status
        assert fragment in record["error"]
    assert harness_cli("validate", str(tmp_path), env=plugin_env).returncode == 0  # with the plugin installed
    proc = harness_cli("validate", str(tmp_path))  # without it, a result does not come with its code
    assert proc.returncode == 1 and f"method {method!r} is not installed" in proc.stderr


def test_bad_input_gets_one_line_and_keeps_what_was_written(finished_run, tiny_model_dir, plugin_env, tmp_path):
    out, _ = finished_run
    [existing] = records(out)
    before = existing.read_bytes()
    model = ["--model", str(tiny_model_dir)]
    one_line_error(harness_cli("run", "--method", "lacach", "--out", str(out)), "did you mean lacache")
    one_line_error(harness_cli("run", "--method", "lacache", "--task", "paskey", "--out", str(out)), "did you mean passkey")
    one_line_error(harness_cli("run", "--method", "naive_forecast", "--task", "passkey", "--out", str(out), env=plugin_env),
                   "cannot run task 'passkey'")
    one_line_error(harness_cli("run", "--method", "lacache", "--task", "passkey", *model, "--method-arg", "budget=100000",
                               "--out", str(out), *SMALL), "not smaller than the context")
    one_line_error(harness_cli("run", "--method", "streamingllm", "--task", "passkey", *model, "--method-arg", "budget=8",
                               "--out", str(out), *SMALL), "protected instruction prefix")
    one_line_error(harness_cli("run", "--method", "lacache", "--task-arg", "bogus=1", "--out", str(out)),
                   "no task in this run accepts option 'bogus'")
    one_line_error(harness_cli("run", "--method", "lacache", "--task", "passkey", *model, "--method-arg", "span=0",
                               "--out", str(out), *SMALL), "bad method lacache option 'span'")
    one_line_error(harness_cli("run", "--method", "lacache", "--task", "passkey", *model, "--method-arg", "span=2",
                               "--method-arg", "overlap=2", "--out", str(out), *SMALL), "span > overlap")
    one_line_error(harness_cli("run", "--method", "lacache", "--model", str(tmp_path / "nope"), "--out", str(out)),
                   "does not exist")
    one_line_error(harness_cli("run", "--method", "lacache", "--model", "someone/not-downloaded-model", "--out", str(out)),
                   "not in the local Hugging Face cache")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(harness_cli("run", "--method", "full", "--task", "passkey", *model, "--out", str(blocker), *SMALL),
                   "a file stands where a folder should be")
    assert existing.read_bytes() == before
    assert records(out) == [existing]


def test_corrupt_results_are_reported_not_crashed_on(finished_run, tiny_model_dir, tmp_path):
    out, _ = finished_run
    [existing] = records(out)
    broken = tmp_path / "results"
    broken.mkdir()
    (broken / "bad.json").write_text("{not json")
    proc = harness_cli("validate", str(broken))
    assert proc.returncode == 1 and "bad.json is not a valid result record" in proc.stderr and "Traceback" not in proc.stderr
    proc = harness_cli("show", "--results", str(broken))
    assert proc.returncode == 1 and "bad.json is not a valid result record" in proc.stderr
    one_line_error(harness_cli("show", "--results", str(tmp_path / "missing")), "does not exist")
    # A samples log corrupted in its middle: --resume refuses, in one line, and leaves the file alone.
    run_dir = tmp_path / "resume"
    target = run_dir / existing.parent.relative_to(out)
    target.mkdir(parents=True)
    corrupt = target / (existing.stem + SAMPLES_SUFFIX)
    corrupt.write_text("garbage\n" + "".join(json.dumps(row) + "\n" for row in logged_rows(existing)))
    args = shlex.split(json.loads(existing.read_text())["config"]["command"])[2:]
    proc = harness_cli("run", *args, "--out", str(run_dir), "--resume", "--repeats", "1", "--warmups", "0")
    one_line_error(proc, "line 1 is not a sample record")
    assert corrupt.read_text().startswith("garbage\n")


def test_verify_reproduces_an_honest_record_and_catches_a_forged_one(finished_run, tmp_path):
    from harness.contracts.registry import TASKS
    from harness.records.store import samples_sha256

    out, _ = finished_run
    [path] = records(out)
    receipt = tmp_path / "build" / "verified.json"
    proc = harness_cli("verify", str(path), "--limit", "2", "--receipt", str(receipt))
    assert proc.returncode == 0, proc.stderr
    assert "per-sample scores equal (within 1e-06 relative): 2/2" in proc.stdout and "reproduces" in proc.stdout
    assert "1 record(s) that reproduce added to" in " ".join(proc.stdout.split())
    proc = harness_cli("site", "--results", str(out), "--out", str(tmp_path / "site"), "--verified", str(receipt))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "site" / "runs" / f"{path.stem}.html").read_text()
    assert "Standing: <strong>verified: 2 sample(s) re-run on" in page

    # A forged record: scores made perfect but the outputs left as they were: validate re-scores and catches it.
    record = json.loads(path.read_text())
    rows = logged_rows(path)
    task = TASKS.get("passkey")(record["task"]["options"])
    forged_samples, forged = tmp_path / record["artifacts"]["samples"], tmp_path / path.name

    def forge() -> None:
        SampleLog(forged_samples).rewrite(rows)
        metrics = task.metrics_of(rows, record["config"]["seed"])
        record["metrics"] = {name: m.model_dump(mode="json") for name, m in metrics.items()}
        record["artifacts"]["sha256"] = samples_sha256(forged_samples)
        forged.write_text(json.dumps(record))

    for row in rows:
        row["scores"] = {"exact_match": 1.0, "contains": 1.0, "partial_credit": 1.0, "gold_logprob": -0.1}
    forge()
    assert "score differently from their saved outputs" in harness_cli("validate", str(forged)).stderr
    # Outputs, scores, breakdowns and metrics all forged together: self-consistent, so only a re-run can tell.
    samples = {s.id: s for s in task.samples("offline", None, record["config"]["seed"])}
    for row in rows:
        row["output"].update(generated=f" {samples[row['id']].target}", gold_logprob=-0.1)
        row["scores"] = task.score(samples[row["id"]], row["output"])
    record["breakdowns"] = task.breakdowns([samples[r["id"]] for r in rows], [r["scores"] for r in rows])
    forge()
    assert harness_cli("validate", str(forged)).returncode == 0
    proc = harness_cli("verify", str(forged), "--limit", "2", "--receipt", str(receipt))
    assert proc.returncode == 1 and "does not reproduce" in proc.stderr and "NO" in proc.stdout
    assert list(json.loads(receipt.read_text())["records"]) == [path.stem]  # the forgery is not added

    record["task"]["split"] = "local"
    forged.write_text(json.dumps(record))
    one_line_error(harness_cli("verify", str(forged)), "verify re-runs the offline split only")
    one_line_error(harness_cli("verify", str(path), "--limit", "0"), "--limit must be at least 1")


def test_a_key_given_twice_or_a_list_of_values_is_one_line(tmp_path):
    out = str(tmp_path / "results")
    one_line_error(harness_cli("run", "--method", "lacache", "--method-arg", "budget=0.25", "--method-arg", "budget=0.75",
                               "--out", out), "--method-arg budget is given twice")
    one_line_error(harness_cli("run", "--method", "lacache", "--method-arg", "budget=0.25,0.75", "--out", out),
                   "--sweep KEY=V1,V2")
    one_line_error(harness_cli("run", "--method", "lacache", "--sweep", "budget=0.25", "--sweep", "budget=0.75",
                               "--out", out), "--sweep budget is given twice")
    one_line_error(harness_cli("run", "--method", "lacache", "--sweep", "budget=0.25,0.25", "--out", out), "repeats a value")
    one_line_error(harness_cli("run", "--method", "lacache", "--sweep", "budget=0.25,0.5", "--method-arg", "budget=0.1",
                               "--out", out), "both swept and set")
    one_line_error(harness_cli("run", "--method", "lacache", "--sweep", "bogus=1,2", "--out", out), "takes 'bogus'")
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))


def test_a_sweep_is_one_cell_per_value_of_a_parameter_or_an_option():
    from harness.running.grid import plan_grid

    common = dict(split="offline", seed=0)
    specs, _ = plan_grid(["lacache", "streamingllm"], ["passkey"], [], {"leading_tokens": 2}, {}, common,
                         {"budget": [0.25, 0.5], "lengths": [[256], [512]]})
    got = sorted((s.method, s.method_params["budget"], s.task_options["lengths"][0]) for s in specs)
    assert len(got) == 8 and got[0] == ("lacache", 0.25, 256) and got[-1] == ("streamingllm", 0.5, 512)
    assert all(s.method_params["leading_tokens"] == 2 for s in specs)  # the fixed argument joins every point
    assert len({s.config_hash() for s in specs}) == 8  # each its own configuration: its own record and board row


def test_list_describes_a_plugin_from_its_class(hostile_method):
    listed = harness_cli("list", "methods")
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if "plugin" in line]
    assert "long_context" in line and "harness-hostile-plugin" in line
