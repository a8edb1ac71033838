"""The offline text-removal split: clean images (photo crops, scenes, collages) with 1-3 rendered words each."""

from __future__ import annotations

import numpy as np

from tasks.imagery import make_image
from tasks.text_removal.render import TextImage, render_words


def offline_images(seed: int, role: str, count: int, size: int, max_words: int) -> list[TextImage]:
    """`count` text images of a role ("test" or "train"); the roles never share a clean image."""
    return [render_words(make_image(seed, f"text-{role}", i, size), np.random.default_rng([seed, 43, len(role), i]), max_words)
            for i in range(count)]
