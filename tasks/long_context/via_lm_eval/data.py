"""Writes the documents of the shipped lm-eval tasks (`shipped_tasks/harness_kv.jsonl`) from a seed.

Each document is about 1,000 tokens of real English text (CPython's pydoc topics, as the other long-context tasks)
with three "door code" needles at random depths; the question asks for one door's code. Multiple choice offers
the three codes of the document and one other number, so a model that only saw *a* code cannot pass by chance.

    python -m tasks.long_context.via_lm_eval.data   # rewrites the JSONL; the committed one came from this
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tasks.long_context.corpus import haystack_text

FOLDER = Path(__file__).parent / "shipped_tasks"
DATA_FILE = FOLDER / "harness_kv.jsonl"
SEED = 20261201
DOCUMENTS = 24
TEXT_CHARS = 4200  # about 1,000 SmolLM2 tokens of pydoc text
COLOURS = ("red", "blue", "green", "yellow", "white", "black", "orange", "purple")


def make_document(rng: random.Random, index: int, text: str) -> dict:
    start = text.index("\n", rng.randrange(0, len(text) - 2 * TEXT_CHARS)) + 1
    window = text[start:start + TEXT_CHARS]
    colours = rng.sample(COLOURS, 3)
    codes = [str(code) for code in rng.sample(range(10000, 100000), 4)]
    depths = sorted(rng.uniform(0.05, 0.95) for _ in colours)
    pieces, cursor = [], 0
    for colour, code, depth in zip(colours, codes, depths):
        cut = window.index(" ", int(depth * len(window))) + 1
        pieces += [window[cursor:cut], f"The code of the {colour} door is {code}. "]
        cursor = cut
    pieces.append(window[cursor:])
    asked = rng.randrange(3)
    choices = codes[:]  # the three codes in the text and one that is not there
    rng.shuffle(choices)
    return {"id": index, "context": "".join(pieces), "colour": colours[asked], "answer": codes[asked],
            "choices": choices, "label": choices.index(codes[asked]), "depth": round(depths[asked], 3)}


def main() -> None:
    rng, text = random.Random(SEED), haystack_text()
    with DATA_FILE.open("w") as fh:
        for index in range(DOCUMENTS):
            fh.write(json.dumps(make_document(rng, index, text)) + "\n")
    print(f"wrote {DOCUMENTS} documents to {DATA_FILE}")


if __name__ == "__main__":
    main()
