"""The papers' claims as data: every committed claims file names a real task, metric and method; a verdict is
computed from a paired test on shared samples (supported, contradicted, not separated) or says what is missing; a
claims file that names nothing real fails `harness validate` in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.contracts.claims as claims_module
from harness.cli import main
from harness.contracts.claims import PaperClaims, claim_files, claim_problems, read_claims
from harness.errors import HarnessError
from harness.site.board_table import records_frame, vetted
from harness.site.claims import CONTRADICTED, NOT_SEPARATED, SUPPORTED, UNTESTED, claim_verdicts, side
from tests.synthetic import write_passkey_record


def paper(*tests: dict) -> PaperClaims:
    return PaperClaims.model_validate({"paper": "A paper", "url": "https://example.org", "family": "long_context", "claims": [
        {"id": f"c{i}", "claim": "lacache finds more keys", "where": "abstract", "paper_scale": "a 7B model", "test": test}
        for i, test in enumerate(tests)]})


def verdicts_of(results: Path, claims: PaperClaims) -> list:
    found = vetted(results)
    assert not found.rejected
    return claim_verdicts([claims], records_frame(found.items), {i.record.run_id: i for i in found.items})


def test_every_committed_claims_file_names_real_things():
    files = claim_files()
    assert {path.parent.name for path in files} == {"long_context", "hallucination", "timeseries", "eeg", "copy_detection",
                                                    "text_removal", "depth"}
    assert claim_problems() == []
    for path in files:
        assert read_claims(path).claims


def test_the_interval_decides_the_verdict():
    assert side(0.1, 0.3, "higher") == SUPPORTED and side(-0.3, -0.1, "lower") == SUPPORTED
    assert side(-0.3, -0.1, "higher") == CONTRADICTED and side(0.1, 0.3, "lower") == CONTRADICTED
    assert side(-0.1, 0.3, "higher") == NOT_SEPARATED and side(None, None, "higher") == NOT_SEPARATED


@pytest.mark.parametrize(("mine", "theirs", "expected"), [(0.9, 0.1, SUPPORTED), (0.1, 0.9, CONTRADICTED), (0.5, 0.5, NOT_SEPARATED)])
def test_a_verdict_comes_from_the_paired_test_on_the_board(tmp_path, mine, theirs, expected):
    results = tmp_path / "results"
    write_passkey_record(results, "lacache", mine, 1000, 1.0, run_index=1)
    write_passkey_record(results, "streamingllm", theirs, 1000, 1.0, run_index=2)
    test = {"task": "passkey", "metric": "exact_match", "method": "lacache", "versus": "streamingllm", "supports": "higher"}
    [verdict] = verdicts_of(results, paper(test))
    assert verdict.verdict == expected, verdict
    assert verdict.how.startswith("paired on") and verdict.low <= verdict.estimate <= verdict.high
    assert verdict.estimate == pytest.approx(round(mine * 10) / 10 - round(theirs * 10) / 10, abs=0.05)
    assert "cpu-2c-test" in verdict.scale and [m for m, _ in verdict.runs] == ["lacache", "streamingllm"]


def test_without_the_runs_the_verdict_is_untested_with_the_command(tmp_path):
    results = tmp_path / "results"
    write_passkey_record(results, "lacache", 0.9, 1000, 1.0, run_index=1)
    paired = {"task": "passkey", "metric": "exact_match", "method": "lacache", "versus": "snapkv", "supports": "higher"}
    alone = {"task": "passkey", "metric": "exact_match", "method": "lacache", "threshold": 0.5, "supports": "higher"}
    missing, own = verdicts_of(results, paper(paired, alone))
    assert missing.verdict == UNTESTED and "harness run --method lacache,snapkv --task passkey" in missing.note
    assert own.verdict == SUPPORTED and own.how == "the run's own 95% interval" and own.low > 0.5


def test_a_claim_naming_nothing_real_fails_validate_in_one_line(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "claims.json"
    data = paper({"task": "passkey", "metric": "exact_match", "method": "lacache", "versus": "streamingllm",
                  "supports": "higher"}).model_dump(mode="json")
    for field, value, expected in (("metric", "accuracy", "passkey has no metric 'accuracy'"),
                                   ("method", "nope", "method 'nope' is not registered"),
                                   ("versus", "naive", "method 'naive' does not run passkey"),
                                   ("task", "no_such_task", "task 'no_such_task' is not registered")):
        data["claims"][0]["test"] = {**data["claims"][0]["test"], field: value}
        bad.write_text(json.dumps(data))
        [line] = claim_problems([bad])
        assert expected in line and "claim 'c0'" in line
        data = paper({"task": "passkey", "metric": "exact_match", "method": "lacache", "versus": "streamingllm",
                      "supports": "higher"}).model_dump(mode="json")
    bad.write_text(json.dumps({**data, "url": "javascript:alert(1)"}))
    [line] = claim_problems([bad])
    assert "is not a claims file (url: Value error, the paper's url must be a plain https:// address)" in line
    bad.write_text("{not json")
    with pytest.raises(HarnessError, match="is not a claims file"):
        read_claims(bad)
    data["claims"][0]["test"]["metric"] = "accuracy"
    bad.write_text(json.dumps(data))
    monkeypatch.setattr(claims_module, "claim_files", lambda: [bad])
    results = tmp_path / "results"
    write_passkey_record(results, "lacache", 0.9, 1000, 1.0, run_index=1)
    assert main(["validate", str(results)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "passkey has no metric 'accuracy'" in errors[0]
