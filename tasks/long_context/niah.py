"""RULER-style multi-key needle in a haystack: several key-value needles, the question asks for one."""

from __future__ import annotations

import random
from typing import Any

from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import TaskSpec
from tasks.long_context.passkey import RETRIEVAL_METRICS, offline_split
from tasks.long_context.retrieval import LOCAL_SPLIT, NeedleTask, RetrievalOptions

KEYS = ("apple", "harbor", "violin", "glacier", "lantern", "orchid", "falcon", "meadow", "copper", "saffron",
        "compass", "thistle", "marble", "cobalt", "juniper", "walnut")
NEEDLES = 4


class NiahOptions(RetrievalOptions):
    lengths: list[int] = [1024, 2048]
    depths: list[float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


class NiahMultikey(NeedleTask):
    """Retrieve the value of one key among several key-value needles (RULER niah_multikey_1)."""

    Options = NiahOptions
    spec = TaskSpec(
        name="niah_multikey", family="long_context", version="2", paper="https://arxiv.org/abs/2404.06654",
        description="Four 'special magic number' needles for different keys in real text, 1k-2k tokens; the question asks for one.",
        splits=(LOCAL_SPLIT, offline_split("generated from the seed: keys, 7-digit values, distractor depths, text offset"),),
        metrics=RETRIEVAL_METRICS, main_metric="exact_match", requires="kv_cache", uses_model=True,
        equivalent_specs={"a0b07a22110e24fffdaae2106c1db89204a523042d154ba75cd86266b6243369":
                          "the local split's source text (now naming the datasets forms it reads); no sample, metric or score changed"},
    )
    display = DisplaySpec(reference=ReferenceSpec(method="full", kind="full", latency="time_per_output_token"), gold=True)

    def make_sample(self, rng: random.Random, length: int, depth: float) -> dict[str, Any]:
        keys = rng.sample(KEYS, NEEDLES)
        values = [str(rng.randint(1_000_000, 9_999_999)) for _ in keys]
        others = [rng.uniform(0.0, 1.0) for _ in keys[1:]]
        needle = "\nOne of the special magic numbers for {} is: {}.\n"
        return {
            "prefix": "Some special magic numbers are hidden within the following text. Make sure to memorize it. "
                      "I will quiz you about the numbers afterwards.\n",
            "needles": [(d, needle.format(k, v)) for d, k, v in zip([depth, *others], keys, values)],
            "question": f"\nWhat is the special magic number for {keys[0]} mentioned in the provided text? "
                        f"The special magic number for {keys[0]} mentioned in the provided text is",
            "answer": values[0],
        }
