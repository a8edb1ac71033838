"""The copy-detection data: references, tampered and distractor queries, the prompt pool and the training images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from tasks.imagery import make_image
from tasks.copy_detection.patterns import BASE, NOVEL, apply


@dataclass(frozen=True)
class Query:
    """A query image: a tampered copy of `reference`, or a distractor (reference None) that matches nothing."""

    id: str
    image: Image.Image
    patterns: tuple[str, ...]
    kind: str  # "base" or "novel": which pattern set tampered it
    reference: str | None


@dataclass(frozen=True)
class PromptPair:
    """An in-context example: an original and its tampered copy; `pattern` is None where it is not known."""

    id: str
    original: Image.Image
    tampered: Image.Image
    pattern: str | None


@dataclass(frozen=True)
class TrainingPair:
    original: Image.Image
    tampered: Image.Image
    pattern: str


class TrainingSet:
    """Training originals, tampered on demand with base patterns only (never a novel one)."""

    def __init__(self, images: list[Image.Image], patterns: tuple[str, ...] = tuple(BASE)):
        unseen = sorted(set(patterns) - set(BASE))
        if unseen:
            raise ValueError(f"training patterns must be base patterns, not {unseen}")
        self.images = images
        self.patterns = patterns

    def draw_pattern(self, rng: np.random.Generator, composed_share: float = 0.0) -> str:
        """A random base pattern, or with probability `composed_share` two distinct ones applied in turn ("a+b")."""
        if rng.random() < composed_share:
            return "+".join(str(p) for p in rng.choice(self.patterns, size=2, replace=False))
        return self.patterns[int(rng.integers(len(self.patterns)))]

    @staticmethod
    def tamper(original: Image.Image, pattern: str, rng: np.random.Generator) -> TrainingPair:
        """`original` tampered with `pattern` ("a+b" applies a, then b)."""
        return TrainingPair(original, apply(pattern.split("+"), original, rng), pattern)

    def pair(self, rng: np.random.Generator, pattern: str) -> TrainingPair:
        """A random original tampered with `pattern`."""
        return self.tamper(self.images[int(rng.integers(len(self.images)))], pattern, rng)

    def batch(self, rng: np.random.Generator, n: int, composed_share: float = 0.0) -> list[TrainingPair]:
        """`n` pairs from distinct originals (so no other pair in the batch is a hidden positive)."""
        chosen = rng.choice(len(self.images), size=min(n, len(self.images)), replace=False)
        return [self.tamper(self.images[int(i)], self.draw_pattern(rng, composed_share), rng) for i in chosen]


@dataclass
class CopyData:
    """One split: the reference set, the queries (shuffled), the prompt pool and the training set."""

    references: dict[str, Image.Image]
    queries: list[Query]
    prompts: list[PromptPair]
    training: TrainingSet


def offline_data(seed: int, references: int, base_queries: int, novel_queries: int, distractors: int,
                 prompts_per_pattern: int, train_images: int, size: int, novel: list[str], base_prompts: bool = False) -> CopyData:
    """Generate the offline split; every role (references, queries, distractors, prompts, training) uses its own images.
    The prompt pool holds novel-pattern pairs (AnyPattern's support set), and base-pattern ones too with `base_prompts`."""
    refs = {f"R{i:06d}": make_image(seed, "references", i, size) for i in range(references)}
    rng = np.random.default_rng([seed, 17])
    ref_ids = list(refs)
    chosen = rng.choice(len(ref_ids), size=min(len(ref_ids), base_queries + novel_queries), replace=False)
    plans: list[tuple[str | None, Image.Image, tuple[str, ...], str]] = []
    base_names = list(BASE)
    for n, idx in enumerate(chosen):
        ref = ref_ids[int(idx)]
        if n < base_queries:
            plans.append((ref, refs[ref], (base_names[n % len(base_names)],), "base"))
        else:
            plans.append((ref, refs[ref], (novel[(n - base_queries) % len(novel)],), "novel"))
    for i in range(distractors):
        image = make_image(seed, "distractors", i, size)
        if i % 2 == 0:
            plans.append((None, image, (base_names[(i // 2) % len(base_names)],), "base"))
        else:
            plans.append((None, image, (novel[(i // 2) % len(novel)],), "novel"))
    order = rng.permutation(len(plans))
    queries = []
    for qi, p in enumerate(order):
        ref, image, names, kind = plans[int(p)]
        tampered = apply(list(names), image, np.random.default_rng([seed, 29, qi]))
        queries.append(Query(id=f"Q{qi:05d}", image=tampered, patterns=names, kind=kind, reference=ref))
    prompts = []
    for pi, pattern in enumerate(base_names + novel):
        if pattern in BASE and not base_prompts:
            continue
        for j in range(prompts_per_pattern):
            index = pi * prompts_per_pattern + j
            original = make_image(seed, "prompts", index, size)
            tampered = apply([pattern], original, np.random.default_rng([seed, 31, index]))
            prompts.append(PromptPair(id=f"P{index:05d}", original=original, tampered=tampered, pattern=pattern))
    return CopyData(references=refs, queries=queries, prompts=prompts, training=training_set(seed, train_images, size))


def training_set(seed: int, count: int, size: int) -> TrainingSet:
    """The training originals (offline for every split): images of their own role, never tested on."""
    return TrainingSet([make_image(seed, "train", i, size) for i in range(count)])


def check_novel(names: list[str]) -> list[str]:
    unknown = sorted(set(names) - set(NOVEL))
    if unknown or not names:
        raise ValueError(f"unknown or no novel patterns {unknown}; choose from {list(NOVEL)}")
    return names
