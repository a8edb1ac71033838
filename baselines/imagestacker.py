"""ImageStacker (AnyPattern): the query stacked channel-wise with an example pair of its pattern, chosen by a pattern head."""

from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from PIL import Image

from tasks.copy_detection.data import PromptPair, TrainingSet
from tasks.copy_detection.descriptor import CopyDescriptor, to_tensor
from tasks.copy_detection.encoder import Encoder, EncoderParams, info_nce, run_batches
from tasks.training import WEIGHT_DECAY, loss_summary, parameter_count, train_steps


class ImageStackerParams(EncoderParams):
    pattern_steps: int = Field(200, ge=1, description="optimiser steps of the pattern head (classifies base patterns)")
    composed_share: float = Field(0.5, ge=0, le=1, description="share of the stacker's training pairs tampered with two "
                                  "base patterns in turn (the example pair gets the same two): more patterns to learn from prompts")
    pattern_scale: float = Field(16.0, gt=0, description="scale of the pattern head's cosine classifier")
    prompt_choice: Literal["pattern_head", "random", "self"] = Field(
        "pattern_head", description="how a query's prompt is picked from the pool: nearest tampered example under the "
                                    "pattern head, a random pair, or none (the query stacked with itself)")


class ImageStacker(CopyDescriptor):
    """Queries enter as [q, t', o'] (9 channels) with (o', t') an example pair; references as [r, r, r]."""

    name = "imagestacker"
    paper = "https://arxiv.org/abs/2404.13788"
    description = "in-context copy detection: query stacked with a prompt pair picked by a pattern head (AnyPattern)"
    Params = ImageStackerParams
    in_context = True

    def fit(self, training: TrainingSet, seed: int, device: torch.device) -> None:
        """Train the pattern head (cosine classifier over base patterns), then the stacked encoder (InfoNCE)."""
        p = self.params
        size = p.image_size
        torch.manual_seed(seed)
        self.device = device
        self.pattern_head = Encoder(3, p.width, p.dim).to(device)
        classes = torch.nn.Parameter(torch.randn(len(training.patterns), p.dim, device=device) * 0.01)
        index = {name: i for i, name in enumerate(training.patterns)}
        rng = np.random.default_rng(seed)

        def pattern_loss() -> torch.Tensor:
            pairs = training.batch(rng, p.batch_size)
            embedded = self.pattern_head(to_tensor([x.tampered for x in pairs], size).to(device))
            logits = p.pattern_scale * embedded @ torch.nn.functional.normalize(classes, dim=-1).T
            labels = torch.tensor([index[x.pattern] for x in pairs], device=device)
            return torch.nn.functional.cross_entropy(logits, labels)

        self.pattern_head.register_parameter("classes", classes)
        self.pattern_losses = train_steps(self.pattern_head, p.pattern_steps, p.lr, WEIGHT_DECAY, pattern_loss)
        self.stacker = Encoder(9, p.width, p.dim).to(device)
        stacker_rng = np.random.default_rng(seed + 1)

        def stacked_loss() -> torch.Tensor:
            pairs = training.batch(stacker_rng, p.batch_size, p.composed_share)
            examples = [training.pair(stacker_rng, x.pattern) for x in pairs]
            queries = torch.cat([to_tensor([x.tampered for x in pairs], size), to_tensor([e.tampered for e in examples], size),
                                 to_tensor([e.original for e in examples], size)], dim=1).to(device)
            references = self._as_references([x.original for x in pairs]).to(device)
            return info_nce(self.stacker(queries), self.stacker(references), p.temperature)

        self.losses = train_steps(self.stacker, p.steps, p.lr, WEIGHT_DECAY, stacked_loss)
        self._pool_key: tuple[str, ...] = ()
        self._random_prompts = np.random.default_rng(seed)

    def _as_references(self, images: list[Image.Image]) -> torch.Tensor:
        """References enter the stacker as [r, r, r] (CPU tensor)."""
        x = to_tensor(images, self.params.image_size)
        return torch.cat([x, x, x], dim=1)

    def describe(self, images: list[Image.Image]) -> np.ndarray:
        return run_batches(self.stacker, self._as_references(images), self.device)

    def _pool_embeddings(self, pool: list[PromptPair]) -> np.ndarray:
        key = tuple(pair.id for pair in pool)
        if key != self._pool_key:
            self._pool = run_batches(self.pattern_head, to_tensor([pair.tampered for pair in pool], self.params.image_size), self.device)
            self._pool_key = key
        return self._pool

    def choose(self, images: list[Image.Image], pool: list[PromptPair]) -> list[PromptPair | None]:
        """The prompt of each query: the pool pair whose tampered image the pattern head finds most alike (bind.py)."""
        choice = self.params.prompt_choice
        if choice == "self" or not pool:
            return [None] * len(images)
        if choice == "random":  # one generator for the whole run, so one-query calls do not all draw the same pair
            return [pool[int(self._random_prompts.integers(len(pool)))] for _ in images]
        queries = run_batches(self.pattern_head, to_tensor(images, self.params.image_size), self.device)
        return [pool[int(i)] for i in (queries @ self._pool_embeddings(pool).T).argmax(1)]

    def describe_queries(self, images: list[Image.Image], pool: list[PromptPair]) -> tuple[np.ndarray, list[str | None]]:
        prompts = self.choose(images, pool)
        size = self.params.image_size
        query = to_tensor(images, size)
        tampered = to_tensor([pr.tampered if pr else im for pr, im in zip(prompts, images)], size)
        original = to_tensor([pr.original if pr else im for pr, im in zip(prompts, images)], size)
        stacked = torch.cat([query, tampered, original], dim=1)
        return run_batches(self.stacker, stacked, self.device), [pr.id if pr else None for pr in prompts]

    def parameter_count(self) -> int:
        return parameter_count(self.stacker, self.pattern_head)

    def fitted_state(self) -> dict[str, Any]:
        return {"pattern_head": loss_summary(self.pattern_losses), "stacker": loss_summary(self.losses)}
