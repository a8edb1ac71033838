"""The text-eraser protocol: an image (and maybe a mask of where text is) in, the image without its text out."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from harness.contracts.method import Method
from tasks.text_removal.render import TextImage


class TextEraser(Method):
    """Erases text; `needs_mask` methods (classic inpainting) run only in the box-mask setting."""

    family: ClassVar[str] = "text_removal"
    protocol: ClassVar[str] = "text_eraser"
    needs_mask: ClassVar[bool] = False

    def fit(self, training: list[TextImage], seed: int, device: torch.device) -> None:
        """Learn from (text image, clean image, masks) training examples. Rule-based erasers need nothing."""

    def erase(self, image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """uint8 [H, W, 3] (and bool [H, W] or None) -> uint8 [H, W, 3]."""
        raise NotImplementedError

    def parameter_count(self) -> int:
        return 0


def composite(output: np.ndarray, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The method's pixels inside the mask, the input's outside (done the same way for every method)."""
    return np.where(mask[..., None], output, image).astype(np.uint8)
