"""The copy-descriptor protocol: images in, one vector each out; queries may be described with an in-context prompt."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from PIL import Image

from harness.contracts.method import Method
from tasks.copy_detection.data import PromptPair, TrainingSet

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class CopyDescriptor(Method):
    """Describes images so that a copy and its original score high under the inner product of their descriptors."""

    family: ClassVar[str] = "copy_detection"
    protocol: ClassVar[str] = "copy_descriptor"
    in_context: ClassVar[bool] = False

    def fit(self, training: TrainingSet, seed: int, device: torch.device) -> None:
        """Learn from training originals tampered with base patterns. Hand-made descriptors need nothing."""

    def describe(self, images: list[Image.Image]) -> np.ndarray:
        """Descriptors [N, D] (float32) of reference images, and of queries for methods without prompts."""
        raise NotImplementedError

    def describe_queries(self, images: list[Image.Image], pool: list[PromptPair]) -> tuple[np.ndarray, list[str | None]]:
        """Query descriptors and the id of the prompt each one used (None without a prompt)."""
        return self.describe(images), [None] * len(images)

    def parameter_count(self) -> int:
        return 0


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def to_tensor(images: list[Image.Image], size: int) -> torch.Tensor:
    """RGB images resized to size x size, ImageNet-normalised, [N, 3, size, size]."""
    arrays = np.stack([np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32) for im in images])
    x = torch.from_numpy(arrays).permute(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD
