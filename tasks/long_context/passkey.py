"""Pass-key retrieval: a 5-digit key hidden at a depth of real text (LaCache / Landmark Attention protocol)."""

from __future__ import annotations

import random
from typing import Any

from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import MetricSpec, SplitSpec, TaskSpec
from tasks.long_context.corpus import SOURCE, haystack_sha256
from tasks.long_context.retrieval import LOCAL_SPLIT, NeedleTask

RETRIEVAL_METRICS = (
    MetricSpec(name="exact_match", higher_is_better=True, description="first number generated equals the gold number", binary=True),
    MetricSpec(name="contains", higher_is_better=True, description="the gold number appears in the answer (LaCache's niah score)", binary=True),
    MetricSpec(name="partial_credit", higher_is_better=True, description="ordered digit overlap (LCS / gold length)"),
    MetricSpec(name="gold_logprob", higher_is_better=True, description="log-probability of the gold answer tokens"),
)


def offline_split(description: str) -> SplitSpec:
    return SplitSpec(name="offline", source=SOURCE, revision_or_sha256=haystack_sha256(), description=description)


class Passkey(NeedleTask):
    """Find the pass key hidden in a long real text."""

    spec = TaskSpec(
        name="passkey", family="long_context", version="2", paper="https://arxiv.org/abs/2507.14204",
        description="A 5-digit pass key hidden at depths 0..1 of real English text (pydoc topics), lengths 1k-4k tokens.",
        splits=(LOCAL_SPLIT, offline_split("generated from the seed: key, text offset; lengths x depths"),),
        metrics=RETRIEVAL_METRICS, main_metric="exact_match", requires="kv_cache", uses_model=True,
        equivalent_specs={"be916418785898eef7c511f19a6a70d01d9ff3f7d872ec8f6a1ce40f9f9c7d77":
                          "the local split's source text (now naming the datasets forms it reads); no sample, metric or score changed"},
    )
    display = DisplaySpec(reference=ReferenceSpec(method="full", kind="full", latency="time_per_output_token"), gold=True)

    def make_sample(self, rng: random.Random, length: int, depth: float) -> dict[str, Any]:
        key = str(rng.randint(10000, 99999))
        return {
            "prefix": "There is an important piece of information hidden inside a lot of irrelevant text. "
                      "Find it and memorize it. I will quiz you about the important information there.\n\n",
            "needles": [(depth, f"\n\nThe pass key is {key}. Remember it. {key} is the pass key.\n\n")],
            "question": "\n\nWhat is the pass key? The pass key is",
            "answer": key,
        }
