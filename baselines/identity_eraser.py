"""The floor: return the image as it is."""

import numpy as np

from tasks.text_removal.eraser import TextEraser


class IdentityEraser(TextEraser):
    """Erases nothing: every other eraser must beat it."""

    name = "identity"
    description = "returns the input unchanged (the floor)"

    def erase(self, image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        return image.copy()
