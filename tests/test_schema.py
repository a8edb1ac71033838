"""The committed JSON Schema of the result record matches the pydantic model."""

import json
from pathlib import Path

import harness
from harness.contracts.record import ResultRecord

SCHEMA = Path(harness.__file__).parent / "schema" / "result.schema.json"


def test_committed_schema_is_current():
    assert json.loads(SCHEMA.read_text()) == ResultRecord.model_json_schema(), "regenerate with: harness schema --out harness/schema/result.schema.json"


def test_schema_rejects_unknown_fields_and_bad_status(tmp_path):
    import pytest
    from pydantic import ValidationError

    minimal = {"run_id": "r", "created_at": "2026-01-01T00:00:00Z", "status": "complete", "harness": {"version": "0"},
               "task": {"name": "t", "version": "1", "family": "f", "split": "offline", "spec_hash": "x"},
               "method": {"name": "m", "version": "1", "family": "f"},
               "config": {"seed": 0, "device": "cpu", "warmups": 0, "repeats": 1, "command": ""},
               "main_metric": "a", "environment": {}}
    ResultRecord.model_validate(minimal)
    with pytest.raises(ValidationError):
        ResultRecord.model_validate({**minimal, "status": "finished"})
    with pytest.raises(ValidationError):
        ResultRecord.model_validate({**minimal, "surprise": 1})
