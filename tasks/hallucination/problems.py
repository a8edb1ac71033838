"""The offline problem set: three domains, each problem with a correct trace and a corrupted twin.

The corrupted twin changes one step (the *wrong step*) and carries the error through every later step,
so the trace stays internally consistent after the mistake, as a hallucinating reasoner's would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

NAMES = ["Ava", "Ben", "Cleo", "Dan", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lena", "Milo", "Nora",
         "Omar", "Pia", "Quin", "Rosa", "Sam", "Tara"]
OBJECTS = ["apples", "marbles", "stamps", "coins", "books", "shells", "cards", "pens"]
CITIES = ["Lisbon", "Oslo", "Quito", "Hanoi", "Accra", "Lima", "Riga", "Perth", "Dakar", "Bern"]
THINGS = ["violin", "kite", "lantern", "compass", "teapot", "bicycle", "camera", "globe"]
DISTRACTORS = ["The weather that day was unusually warm.", "Five of the items were slightly smaller than average.",
               "Someone mentioned that 7 people had visited the week before.", "The shop closes at 6 in the evening.",
               "A neighbour owns 3 cats, which is not relevant here."]


@dataclass
class Problem:
    """One question with its correct steps and its corrupted twin (wrong from `wrong_step` on)."""

    id: str
    domain: str
    question: str
    steps: list[str]
    corrupted_steps: list[str]
    wrong_step: int
    meta: dict = field(default_factory=dict)


def _apply(value: int, kind: str, amount: int) -> int:
    return value * 2 if kind == "doubles" else value + amount if kind == "gets" else value - amount


def arithmetic(rng: random.Random, index: int, distractor: bool) -> Problem:
    """A running total over 4-6 operations; the twin miscomputes one step and keeps going from the wrong value."""
    name, thing = rng.choice(NAMES), rng.choice(OBJECTS)
    start = rng.randint(5, 30)
    ops: list[tuple[str, int]] = []
    value = start
    for _ in range(rng.randint(4, 6)):
        kind = rng.choice(["gets", "gives away", "doubles"]) if value < 60 else "gives away"
        amount = 2 if kind == "doubles" else rng.randint(2, 15) if kind == "gets" else rng.randint(2, max(2, value // 2))
        ops.append((kind, amount))
        value = _apply(value, kind, amount)
    text = {"gets": "then gets {a} more", "gives away": "then gives away {a}", "doubles": "then doubles them"}
    story = f"{name} starts with {start} {thing}, " + ", ".join(text[k].format(a=a) for k, a in ops) + "."
    wrong = rng.randrange(len(ops))
    steps, corrupted = [], []
    right, bad = start, start
    for i, (kind, amount) in enumerate(ops):
        new_right = _apply(right, kind, amount)
        new_bad = _apply(bad, kind, amount) + (rng.choice([-3, -2, -1, 1, 2, 3]) if i == wrong else 0)
        verb = {"gets": f"{right} + {amount}", "gives away": f"{right} - {amount}", "doubles": f"{right} x 2"}[kind]
        bad_verb = {"gets": f"{bad} + {amount}", "gives away": f"{bad} - {amount}", "doubles": f"{bad} x 2"}[kind]
        steps.append(f"Step {i + 1}: {verb} = {new_right}.")
        corrupted.append(f"Step {i + 1}: {bad_verb} = {new_bad}.")
        right, bad = new_right, new_bad
    steps.append(f"Answer: {right}.")
    corrupted.append(f"Answer: {bad}.")
    question = _with_distractor(rng, story, distractor) + f" How many {thing} does {name} have at the end?"
    return Problem(f"arith-{index:03d}", "arithmetic", question, steps, corrupted, wrong, {"distractor": distractor})


def _chain_steps(chain: list[str]) -> list[str]:
    """The chain walked from the shortest up, one stated link per step, then its top as the answer."""
    links = [f"Step {i + 1}: {chain[-i - 2]} is taller than {chain[-i - 1]}." for i in range(len(chain) - 1)]
    return links + [f"Answer: {chain[0]} is the tallest."]


def ordering(rng: random.Random, index: int, distractor: bool) -> Problem:
    """A chain of 'taller than' facts walked from the shortest up; the twin misplaces the tallest person.

    The twin is the same walk over the chain with the tallest person and another one swapped, so both traces
    have the same template, step count, one new subject per step and the same names: nothing but the facts
    (checked against the question) tells them apart. It goes wrong at the first link that involves either name.
    """
    people = rng.sample(NAMES, rng.randint(4, 6))  # tallest first
    facts = [f"{a} is taller than {b}." for a, b in zip(people, people[1:])]
    rng.shuffle(facts)
    swapped = list(people)
    j = rng.randrange(1, len(people))
    swapped[0], swapped[j] = swapped[j], swapped[0]
    steps, corrupted = _chain_steps(people), _chain_steps(swapped)
    wrong = next(i for i, (a, b) in enumerate(zip(steps, corrupted)) if a != b)
    question = _with_distractor(rng, " ".join(facts), distractor) + " Who is the tallest?"
    return Problem(f"order-{index:03d}", "ordering", question, steps, corrupted, wrong, {"distractor": distractor})


def two_hop(rng: random.Random, index: int, distractor: bool) -> Problem:
    """Who owns X, and where does that person live: the twin picks the wrong owner and answers their city."""
    people = rng.sample(NAMES, 4)
    cities = rng.sample(CITIES, 4)
    things = rng.sample(THINGS, 4)
    facts = [f"{p} owns the {t}." for p, t in zip(people, things)] + [f"{p} lives in {c}." for p, c in zip(people, cities)]
    rng.shuffle(facts)
    target = rng.randrange(4)
    decoy = (target + rng.randint(1, 3)) % 4
    wrong = rng.randrange(2)
    steps = [f"Step 1: The {things[target]} is owned by {people[target]}.",
             f"Step 2: {people[target]} lives in {cities[target]}.", f"Answer: {cities[target]}."]
    if wrong == 0:
        corrupted = [f"Step 1: The {things[target]} is owned by {people[decoy]}.",
                     f"Step 2: {people[decoy]} lives in {cities[decoy]}.", f"Answer: {cities[decoy]}."]
    else:
        corrupted = [steps[0], f"Step 2: {people[target]} lives in {cities[decoy]}.", f"Answer: {cities[decoy]}."]
    question = _with_distractor(rng, " ".join(facts), distractor) + f" In which city does the owner of the {things[target]} live?"
    return Problem(f"twohop-{index:03d}", "two_hop", question, steps, corrupted, wrong, {"distractor": distractor})


def _with_distractor(rng: random.Random, text: str, distractor: bool) -> str:
    return f"{text} {rng.choice(DISTRACTORS)}" if distractor else text


DOMAINS = {"arithmetic": arithmetic, "ordering": ordering, "two_hop": two_hop}


def build_problems(per_domain: int, seed: int, distractor_share: float) -> list[Problem]:
    """`per_domain` problems of each domain, deterministic for a seed; a share of them carry a distractor sentence."""
    problems = []
    for domain, make in DOMAINS.items():
        rng = random.Random(f"hallucination:{domain}:{seed}")
        for i in range(per_domain):
            problems.append(make(rng, i, rng.random() < distractor_share))
    return problems


def split_of(problem_id: str, fit_share: float, seed: int) -> str:
    """'fit' or 'test', decided per problem id (so both twins of a problem always land in the same split)."""
    return "fit" if random.Random(f"split:{seed}:{problem_id}").random() < fit_share else "test"
