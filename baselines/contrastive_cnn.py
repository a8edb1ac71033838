"""A small CNN trained contrastively on base-pattern copies (SSCD-style InfoNCE, no pretraining)."""

from typing import Any

import numpy as np
import torch
from PIL import Image

from tasks.copy_detection.data import TrainingSet
from tasks.copy_detection.descriptor import CopyDescriptor, to_tensor
from tasks.copy_detection.encoder import Encoder, EncoderParams, info_nce, run_batches
from tasks.training import WEIGHT_DECAY, loss_summary, parameter_count, train_steps


class ContrastiveCNN(CopyDescriptor):
    """Each original should be nearest to its own tampered copy among the batch (InfoNCE), on base patterns only."""

    name = "contrastive_cnn"
    paper = "https://arxiv.org/abs/2202.10261"
    description = "4-stage CNN + GeM, InfoNCE on (original, base-pattern copy) pairs, trained in minutes on CPU"
    Params = EncoderParams

    def fit(self, training: TrainingSet, seed: int, device: torch.device) -> None:
        p = self.params
        torch.manual_seed(seed)
        self.device = device
        self.encoder = Encoder(3, p.width, p.dim).to(device)

        rng = np.random.default_rng(seed)

        def loss() -> torch.Tensor:
            pairs = training.batch(rng, p.batch_size)
            originals = to_tensor([x.original for x in pairs], p.image_size).to(device)
            copies = to_tensor([x.tampered for x in pairs], p.image_size).to(device)
            return info_nce(self.encoder(originals), self.encoder(copies), p.temperature)

        self.losses = train_steps(self.encoder, p.steps, p.lr, WEIGHT_DECAY, loss)

    def describe(self, images: list[Image.Image]) -> np.ndarray:
        return run_batches(self.encoder, to_tensor(images, self.params.image_size), self.device)

    def parameter_count(self) -> int:
        return parameter_count(self.encoder)

    def fitted_state(self) -> dict[str, Any]:
        return loss_summary(self.losses)
