"""Problems for the self-generated split: short questions with one checkable answer (an integer or a name).

They are kept small (one or two operations, two or three people) so that a 135M instruct model answers some of
them right and some wrong; the model's own step-by-step answer is then labelled by whether it is right.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tasks.hallucination.problems import CITIES, NAMES, OBJECTS, THINGS


@dataclass(frozen=True)
class SelfProblem:
    """One question, its gold answer, and the names the answer may be chosen from (name answers only)."""

    id: str
    domain: str
    question: str
    answer: str
    candidates: tuple[str, ...] = ()  # name answers: every name of the answer's kind (a wrong one still parses)


def one_step(rng: random.Random, index: int) -> SelfProblem:
    """One addition or subtraction with numbers under 20."""
    name, thing = rng.choice(NAMES), rng.choice(OBJECTS)
    start, amount = rng.randint(3, 19), rng.randint(2, 9)
    if rng.random() < 0.5:
        story, answer = f"{name} has {start} {thing}. {name} gets {amount} more {thing}.", start + amount
    else:
        start = max(start, amount + 1)
        story, answer = f"{name} has {start} {thing}. {name} gives away {amount} {thing}.", start - amount
    return SelfProblem(f"one_step-{index:03d}", "one_step", f"{story} How many {thing} does {name} have now?", str(answer))


def two_step(rng: random.Random, index: int) -> SelfProblem:
    """A gain then a loss (or the reverse) with numbers under 20; the total stays positive."""
    name, thing = rng.choice(NAMES), rng.choice(OBJECTS)
    start, gain, loss = rng.randint(5, 15), rng.randint(2, 9), rng.randint(2, 9)
    ops = [f"{name} gets {gain} more.", f"Then {name} gives away {loss}."]
    if rng.random() < 0.5:
        start = max(start, loss + 1)
        ops = [f"{name} gives away {loss}.", f"Then {name} gets {gain} more."]
    story = f"{name} has {start} {thing}. " + " ".join(ops)
    return SelfProblem(f"two_step-{index:03d}", "two_step", f"{story} How many {thing} does {name} have now?",
                       str(start + gain - loss))


def two_hop(rng: random.Random, index: int) -> SelfProblem:
    """Two people, what each owns and where each lives: in which city does the owner of X live?"""
    people, cities, things = rng.sample(NAMES, 2), rng.sample(CITIES, 2), rng.sample(THINGS, 2)
    facts = [f"{p} owns the {t}." for p, t in zip(people, things)] + [f"{p} lives in {c}." for p, c in zip(people, cities)]
    rng.shuffle(facts)
    target = rng.randrange(2)
    question = " ".join(facts) + f" In which city does the owner of the {things[target]} live?"
    return SelfProblem(f"two_hop-{index:03d}", "two_hop", question, cities[target], tuple(CITIES))


def ordering(rng: random.Random, index: int) -> SelfProblem:
    """Three people and two shuffled 'taller than' facts: who is the tallest?"""
    people = rng.sample(NAMES, 3)  # tallest first
    facts = [f"{a} is taller than {b}." for a, b in zip(people, people[1:])]
    rng.shuffle(facts)
    return SelfProblem(f"ordering-{index:03d}", "ordering", " ".join(facts) + " Who is the tallest?", people[0],
                       tuple(NAMES))


SELF_DOMAINS = {"one_step": one_step, "two_step": two_step, "two_hop": two_hop, "ordering": ordering}


def build_self_problems(per_domain: int, seed: int, domains: list[str] | None = None) -> list[SelfProblem]:
    """`per_domain` problems of each domain, deterministic for a seed, domains interleaved."""
    chosen = list(domains or SELF_DOMAINS)
    made = {d: [SELF_DOMAINS[d](rng, i) for rng in [random.Random(f"self:{d}:{seed}")] for i in range(per_domain)]
            for d in chosen}
    return [made[d][i] for i in range(per_domain) for d in chosen]
