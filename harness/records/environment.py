"""Hardware and software provenance captured with every record, and the hardware key results are grouped by."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psutil

import harness

PACKAGES = ("torch", "transformers", "numpy", "pydantic", "accelerate", "gguf", "tokenizers", "safetensors")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    root = Path(harness.__file__).resolve().parent.parent
    if not (root / ".git").exists() or not shutil.which("git"):
        return None
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None


def harness_info() -> dict[str, Any]:
    sha = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if sha else None
    return {"version": harness.__version__, "git_sha": sha, "dirty": None if status is None else bool(status)}


def _gpu(device_type: str) -> dict[str, Any] | None:
    if device_type != "cuda":
        return None
    import torch

    props = torch.cuda.get_device_properties(0)
    driver = None
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True)
        driver = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    return {"name": props.name, "memory_bytes": props.total_memory, "count": torch.cuda.device_count(),
            "cuda": torch.version.cuda, "driver": driver, "capability": f"{props.major}.{props.minor}"}


@lru_cache(maxsize=2)
def capture(device_type: str) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    import torch

    return {
        "hardware_key": hardware_key(device_type),
        "device": device_type,
        "gpu": _gpu(device_type),
        "cpu": {"model": _cpu_model(), "logical_cores": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "ram_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def hardware_key(device_type: str) -> str:
    """Results are only ranked against each other within one hardware key."""
    if device_type == "cuda":
        import torch

        return "cuda-" + slug(torch.cuda.get_device_name(0))
    cpu = re.sub(r"\((r|tm)\)|cpu|@.*$|processor", "", _cpu_model(), flags=re.I)
    return f"cpu-{os.cpu_count()}c-{slug(cpu)}"
