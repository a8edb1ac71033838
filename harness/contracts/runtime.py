"""A cell's context, as every task hook and method sees it: the device, the seed, the split, and (for LLM families)
the lazily loaded model."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import torch

from harness.contracts.causal_lm import LoadedModel, load_causal_lm
from harness.errors import HarnessError


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise HarnessError("--device cuda was asked for but torch sees no CUDA GPU: use --device cpu or auto")
    if requested not in ("cpu", "cuda"):
        raise HarnessError(f"unknown device {requested!r}: use auto, cpu or cuda")
    return torch.device(requested)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Runtime:
    """One cell's context: device, seed, split and model choice; the model loads on first use. A task reads the split
    and seed here, never from state of its own."""

    device: torch.device
    seed: int
    split: str = "offline"
    model_id: str | None = None
    dtype: str | None = None
    _llm: LoadedModel | None = field(default=None, repr=False)

    @property
    def llm(self) -> LoadedModel:
        if self._llm is None:
            self._llm = load_causal_lm(self.model_id, self.device.type, self.dtype)
        return self._llm

    @property
    def llm_loaded(self) -> bool:
        return self._llm is not None
