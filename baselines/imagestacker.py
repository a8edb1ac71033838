"""ImageStacker (AnyPattern): the query stacked channel-wise with an example pair of its pattern, chosen by the same
network's pattern features (trained multi-label on the base patterns)."""

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
    pattern_weight: float = Field(1.0, ge=0, description="weight of the multi-label pattern loss (which base patterns "
                                  "tampered the query) next to InfoNCE, both on the one stacked network")
    composed_share: float = Field(0.5, ge=0, le=1, description="share of the stacker's training pairs tampered with two "
                                  "base patterns in turn (the example pair gets the same two): more patterns to learn from prompts")
    prompt_choice: Literal["pattern_head", "random", "self"] = Field(
        "pattern_head", description="how a query's prompt is picked from the pool: nearest tampered example under the "
                                    "network's pattern features, a random pair, or none (the query stacked with itself)")


class ImageStacker(CopyDescriptor):
    """Queries enter as [q, t', o'] (9 channels) with (o', t') an example pair; references as [r, r, r]. The same
    network, fed [q, q, q], gives the pattern features that pick the prompt (AnyPattern's bind.py); a multi-label
    head on them learns which base patterns tampered an image."""

    name = "imagestacker"
    version = "2"  # 2: pattern features from the stacker itself, trained multi-label (no separate head)
    paper = "https://arxiv.org/abs/2404.13788"
    description = "in-context copy detection: query stacked with a prompt pair picked by the network's own pattern features (AnyPattern)"
    Params = ImageStackerParams
    in_context = True

    def fit(self, training: TrainingSet, seed: int, device: torch.device) -> None:
        """One stacked encoder trained with InfoNCE (stacked queries against stacked references) plus a multi-label
        pattern loss on self-stacked copies (binary cross-entropy over the base patterns each copy went through)."""
        p = self.params
        size = p.image_size
        torch.manual_seed(seed)
        self.device = device
        self.stacker = Encoder(9, p.width, p.dim)
        self.stacker.add_module("pattern_project", torch.nn.Linear(4 * p.width, p.dim))
        self.stacker.add_module("pattern_classes", torch.nn.Linear(p.dim, len(training.patterns)))
        self.stacker.to(device)
        index = {name: i for i, name in enumerate(training.patterns)}
        rng = np.random.default_rng(seed + 1)

        def loss() -> torch.Tensor:
            pairs = training.batch(rng, p.batch_size, p.composed_share)
            examples = [training.pair(rng, x.pattern) for x in pairs]
            copies = to_tensor([x.tampered for x in pairs], size)
            queries = torch.cat([copies, to_tensor([e.tampered for e in examples], size),
                                 to_tensor([e.original for e in examples], size)], dim=1).to(device)
            references = self._as_references([x.original for x in pairs]).to(device)
            labels = torch.zeros(len(pairs), len(index), device=device)
            for row, x in enumerate(pairs):
                labels[row, [index[name] for name in x.pattern.split("+")]] = 1.0
            logits = self.stacker.pattern_classes(self._pattern_features(torch.cat([copies] * 3, dim=1).to(device)))
            return (info_nce(self.stacker(queries), self.stacker(references), p.temperature)
                    + p.pattern_weight * torch.nn.functional.binary_cross_entropy_with_logits(logits, labels))

        self.losses = train_steps(self.stacker, p.steps, p.lr, WEIGHT_DECAY, loss)
        self._pool_key: tuple[str, ...] = ()
        self._random_prompts = np.random.default_rng(seed)

    def _pattern_features(self, stacked: torch.Tensor) -> torch.Tensor:
        """Unit-norm pattern features of self-stacked images [x, x, x]."""
        return torch.nn.functional.normalize(self.stacker.pattern_project(self.stacker.embed(stacked)), dim=-1)

    def _pattern_batches(self, images: list[Image.Image]) -> np.ndarray:
        x = to_tensor(images, self.params.image_size)
        return run_batches(self._pattern_features, torch.cat([x, x, x], dim=1), self.device)

    def _as_references(self, images: list[Image.Image]) -> torch.Tensor:
        """References enter the stacker as [r, r, r] (CPU tensor)."""
        x = to_tensor(images, self.params.image_size)
        return torch.cat([x, x, x], dim=1)

    def describe(self, images: list[Image.Image]) -> np.ndarray:
        return run_batches(self.stacker, self._as_references(images), self.device)

    def _pool_embeddings(self, pool: list[PromptPair]) -> np.ndarray:
        key = tuple(pair.id for pair in pool)
        if key != self._pool_key:
            self._pool = self._pattern_batches([pair.tampered for pair in pool])
            self._pool_key = key
        return self._pool

    def choose(self, images: list[Image.Image], pool: list[PromptPair]) -> list[PromptPair | None]:
        """The prompt of each query: the pool pair whose tampered image has the nearest pattern features (bind.py)."""
        choice = self.params.prompt_choice
        if choice == "self" or not pool:
            return [None] * len(images)
        if choice == "random":  # one generator for the whole run, so one-query calls do not all draw the same pair
            return [pool[int(self._random_prompts.integers(len(pool)))] for _ in images]
        queries = self._pattern_batches(images)
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
        return parameter_count(self.stacker)

    def fitted_state(self) -> dict[str, Any]:
        return loss_summary(self.losses)
