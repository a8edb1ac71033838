"""Reasoning traces as a detector sees them, and their token layout when teacher-forced through a model."""

from __future__ import annotations

from dataclasses import dataclass

import torch

PROMPT = "Question: {question}\nReasoning:\n"


@dataclass(frozen=True)
class Trace:
    """A question and its step-by-step reasoning; what a detector may see (never the label)."""

    id: str
    domain: str
    question: str
    steps: tuple[str, ...]
    prompt: str | None = None  # the exact text the steps followed (a model's own traces); None: PROMPT with the question


@dataclass(frozen=True)
class LabelledTrace:
    """A trace with its label (1 = hallucinated) and, when known, the index of its first wrong step."""

    trace: Trace
    label: int
    wrong_step: int | None
    group: str  # traces of one group (a problem and its corrupted twin) always share a split
    distractor: bool | None = None  # whether the question carries an irrelevant sentence, where known


@dataclass
class EncodedTrace:
    """Token ids of prompt + steps, and each step's token span [start, end)."""

    input_ids: torch.Tensor  # [1, T]
    spans: list[tuple[int, int]]

    @property
    def trace_start(self) -> int:
        return self.spans[0][0]


def encode(tokenizer, trace: Trace, device: torch.device | str = "cpu") -> EncodedTrace:
    """Tokenise the prompt and each step (one line each) separately, so step spans are exact.

    A trace's own `prompt` carries its special tokens in the text (a chat template), so none are added to it."""
    if trace.prompt is None:
        ids = tokenizer(PROMPT.format(question=trace.question)).input_ids
    else:
        ids = tokenizer(trace.prompt, add_special_tokens=False).input_ids
    spans = []
    for step in trace.steps:
        piece = tokenizer(f"{step}\n", add_special_tokens=False).input_ids
        spans.append((len(ids), len(ids) + len(piece)))
        ids = ids + piece
    return EncodedTrace(input_ids=torch.tensor([ids], device=device), spans=spans)


def produced_at(span: tuple[int, int]) -> slice:
    """The positions whose next-token predictions produce a step's tokens (see TokenSignals)."""
    return slice(span[0] - 1, span[1] - 1)
