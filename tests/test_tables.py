"""Real-data tables through `datasets`: files, save_to_disk folders, column mapping, pins, and offline refusals."""

from __future__ import annotations

import hashlib
import json

import pytest

from harness.contracts.real_data import read_table
from harness.errors import HarnessError

ROWS = [{"key": f"item{i}", "body": f"text {i}", "gold": str(10000 + i)} for i in range(3)]


def write_all(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(ROWS)
    files = {"jsonl": tmp_path / "t.jsonl", "csv": tmp_path / "t.csv", "parquet": tmp_path / "t.parquet"}
    files["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    frame.to_csv(files["csv"], index=False)
    frame.to_parquet(files["parquet"])
    return files


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_files_read_the_same_rows_pinned_by_sha256(tmp_path, kind):
    path = write_all(tmp_path)[kind]
    table = read_table(str(path), {"id": "key", "context": "body"})
    assert [r["id"] for r in table.rows] == ["item0", "item1", "item2"]
    assert [r["context"] for r in table.rows] == ["text 0", "text 1", "text 2"]
    assert table.pinned == hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_to_disk_folder_is_pinned_by_fingerprint_and_split_chosen(tmp_path):
    import datasets

    folder = tmp_path / "saved"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(ROWS), "train": datasets.Dataset.from_list(ROWS[:1])}).save_to_disk(folder)
    table = read_table(str(folder))
    assert len(table.rows) == 3 and table.pinned.startswith("fingerprint:")
    assert len(read_table(str(folder), split="train").rows) == 1
    with pytest.raises(HarnessError, match="has splits test, train"):
        read_table(str(folder), split="validation")


def test_missing_column_absent_hub_id_and_missing_path_are_one_line(tmp_path):
    path = write_all(tmp_path)["jsonl"]
    with pytest.raises(HarnessError, match="has no column 'nope'"):
        read_table(str(path), {"id": "nope"})
    with pytest.raises(HarnessError, match="not a local file, folder or dataset in the local HF cache.*load_dataset"):
        read_table("nobody-here/not-a-dataset")
    with pytest.raises(HarnessError, match="does not exist"):
        read_table(str(tmp_path / "missing" / "x.jsonl"))


def test_retrieval_local_split_reads_parquet_with_column_mapping(tmp_path):
    import pandas as pd

    from tasks.long_context.passkey import Passkey

    path = tmp_path / "items.parquet"
    pd.DataFrame([{"uid": f"q{i}", "passage": "filler " * 50 + f"The code is {c}.", "ask": "The code is", "gold": c}
                  for i, c in enumerate([31415, 27182])]).to_parquet(path)
    task = Passkey({"data_file": str(path), "columns": {"id": "uid", "context": "passage", "question": "ask", "answer": "gold"}})
    samples = task.samples("local", None, 0)
    assert [s.id for s in samples] == ["q0", "q1"] and samples[0].target == "31415"
    assert task.dataset_source("local") == (str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def test_long_ppl_reads_a_text_column_of_a_table(tmp_path):
    from tasks.long_context.long_ppl import LongPerplexity

    path = tmp_path / "books.jsonl"
    path.write_text("".join(json.dumps({"title": f"b{i}", "content": f"book {i} " * 20}) + "\n" for i in range(2)))
    task = LongPerplexity({"text_file": str(path), "text_column": "content"})
    assert task._local_text() == "\n\n".join(f"book {i} " * 20 for i in range(2))
    assert task.dataset_source("local")[1] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_hallucination_traces_read_from_parquet_with_column_mapping(tmp_path):
    import pandas as pd

    from tasks.hallucination.local_data import read_traces

    path = tmp_path / "traces.parquet"
    pd.DataFrame([{"uid": f"t{i}", "domain": "arithmetic", "q": "2 + 2?", "reasoning": "Add them.\nIt is 4.", "label": i % 2}
                  for i in range(4)]).to_parquet(path)
    traces, pinned = read_traces(str(path), {"id": "uid", "question": "q", "trace": "reasoning"})
    assert [t.trace.id for t, _ in traces] == ["t0", "t1", "t2", "t3"]
    assert traces[1][0].trace.steps == ("Add them.", "It is 4.") and traces[1][0].label == 1
    assert pinned == hashlib.sha256(path.read_bytes()).hexdigest()


def test_long_ppl_missing_text_file_is_one_line(tmp_path):
    from tasks.long_context.long_ppl import LongPerplexity

    with pytest.raises(HarnessError, match="does not exist.*--task-arg text_file="):
        LongPerplexity({"text_file": str(tmp_path / "missing" / "book.txt")})._local_text()
