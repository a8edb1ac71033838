"""The real-data path: retrieval items and long text from local files (fixtures generated here)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import harness_cli, logged_rows
from tests.test_cli import one_line_error

FAST = ["--repeats", "1", "--warmups", "0"]


@pytest.fixture
def items_file(tmp_path) -> Path:
    filler = "The committee met on Tuesday to review the budget and the schedule. " * 12
    lines = [
        {"id": f"item{i}", "prefix": "Read the report and answer.\n", "question": "\nWhat is the code? The code is",
         "context": filler + f"The code is {code}. " + filler, "answer": str(code), "length": 400, "depth": 0.5}
        for i, code in enumerate([31415, 27182, 16180])
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_local_retrieval_items_run_and_are_pinned_by_sha256(items_file, tiny_model_dir, tmp_path):
    out = tmp_path / "results"
    proc = harness_cli("run", "--method", "streamingllm", "--task", "passkey", "--split", "local", "--model", str(tiny_model_dir),
                       "--task-arg", f"data_file={items_file}", "--out", str(out), *FAST)
    assert proc.returncode == 0, proc.stderr
    [path] = list(out.rglob("*.json"))
    record = json.loads(path.read_text())
    dataset = record["task"]["dataset"]
    assert dataset["source"] == str(items_file) and dataset["n_evaluated"] == 3
    assert dataset["revision_or_sha256"] == hashlib.sha256(items_file.read_bytes()).hexdigest()
    rows = logged_rows(path)
    assert [r["id"] for r in rows] == ["item0", "item1", "item2"]
    assert all(r["output"]["protected_tokens"] > 0 for r in rows)


def test_local_text_perplexity(tiny_model_dir, tmp_path):
    book = tmp_path / "book.txt"
    book.write_text("It was a bright cold day in April, and the clocks were striking thirteen. " * 40)
    out = tmp_path / "results"
    proc = harness_cli("run", "--method", "lacache", "--task", "long_ppl", "--split", "local", "--model", str(tiny_model_dir),
                       "--task-arg", f"text_file={book}", "--task-arg", "tokens=160", "--task-arg", "passages=2",
                       "--method-arg", "budget=0.25", "--method-arg", "leading_tokens=4", "--method-arg", "span=2", "--out", str(out), *FAST)
    assert proc.returncode == 0, proc.stderr
    [path] = list(out.rglob("*.json"))
    record = json.loads(path.read_text())
    assert record["task"]["dataset"]["source"] == str(book)
    assert record["metrics"]["perplexity"]["n"] == 2 and record["metrics"]["perplexity"]["value"] > 1
    # The measurement pass streams only part of the passage, but its budget is still a quarter of the whole passage.
    assert record["performance"]["memory"]["kv_cache"]["peak_tokens"] == 160 // 4 + 1


def test_local_split_bad_input(items_file, tiny_model_dir, tmp_path):
    args = ["run", "--method", "full", "--task", "passkey", "--split", "local", "--model", str(tiny_model_dir), "--out", str(tmp_path)]
    one_line_error(harness_cli(*args), "needs a file: add --task-arg data_file=")
    one_line_error(harness_cli(*args, "--task-arg", f"data_file={tmp_path / 'missing.jsonl'}"), "does not exist")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(items_file.read_text().splitlines()[0] + "\n" + json.dumps({"id": "x", "context": "c", "question": "q", "answer": "blue"}) + "\n")
    one_line_error(harness_cli(*args, "--task-arg", f"data_file={broken}"), "row 2 is not a retrieval item (Value error, answer must be a number")
