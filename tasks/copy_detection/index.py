"""The references as the trained method describes them, once per run: what every query is scored against."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import HarnessError
from tasks.copy_detection.data import CopyData
from tasks.copy_detection.descriptor import CopyDescriptor

DESCRIBE_BATCH = 256


@dataclass(frozen=True)
class ReferenceIndex:
    """Reference ids and descriptors (float32), the training originals' descriptors when scores are normalised
    (else None), and the seconds describing the references took."""

    ids: list[str]
    descriptors: np.ndarray
    norm_descriptors: np.ndarray | None
    describe_seconds: float


def describe_all(method: CopyDescriptor, images: list[Any]) -> np.ndarray:
    return np.concatenate([method.describe(images[i:i + DESCRIBE_BATCH])
                           for i in range(0, len(images), DESCRIBE_BATCH)]).astype(np.float32)


def describe_references(method: CopyDescriptor, data: CopyData, score_norm_factor: float) -> ReferenceIndex:
    """Describe every reference (timed), checking one finite descriptor each; and the training originals too when
    scores are normalised."""
    images = list(data.references.values())
    start = time.perf_counter()
    descriptors = describe_all(method, images)
    seconds = time.perf_counter() - start
    if descriptors.shape[0] != len(images) or not np.isfinite(descriptors).all():
        raise HarnessError(f"method {method.name} returned {descriptors.shape[0]} descriptors (or non-finite values) "
                           f"for {len(images)} references")
    norm = describe_all(method, data.training.images) if score_norm_factor > 0 else None
    return ReferenceIndex(ids=list(data.references), descriptors=descriptors, norm_descriptors=norm, describe_seconds=seconds)
