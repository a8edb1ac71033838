"""Perceptual hash (imagehash's pHash): the sign pattern of the low-frequency DCT of a 32 x 32 grey image."""

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from PIL import Image

from tasks.copy_detection.descriptor import CopyDescriptor


class PHashParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hash_size: int = Field(8, ge=2, description="the hash has hash_size^2 bits")


class PHash(CopyDescriptor):
    """Bits as +-1 / sqrt(bits): the inner product of two hashes is 1 - 2 x (Hamming distance / bits)."""

    name = "phash"
    paper = "https://www.phash.org/docs/pubs/thesis_zauner.pdf"
    description = "perceptual hash (imagehash.phash), compared by Hamming distance"
    Params = PHashParams

    def describe(self, images: list[Image.Image]) -> np.ndarray:
        import imagehash

        bits = np.stack([imagehash.phash(im, hash_size=self.params.hash_size).hash.ravel() for im in images])
        return ((bits.astype(np.float32) * 2 - 1) / np.sqrt(bits.shape[1])).astype(np.float32)
