"""Does the in-context prompt help ImageStacker? One trained model, four ways to pick each query's prompt.

Trains ImageStacker once on the offline split, describes the references once, then scores the queries with
prompts chosen by the network's pattern features (the method), at random, by an oracle that knows the query's
pattern (a random pool pair of that pattern; no prompt where the pool has none, as for base queries under the
default novel-only pool), and with no prompt (the query stacked with itself). Prints μAP and recall@1 for base and
novel queries (the task's default matching), and how often the method picked a pair of the query's own pattern.

    python benchmarks/copy_prompts.py [--references 2000] [--steps 300] [--composed-share 0.5] [--prompt-patterns novel]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from baselines.imagestacker import ImageStacker
from tasks.copy_detection.data import PromptPair, Query
from tasks.copy_detection.task import CopyDetection, top_predictions

CHOICES = ("pattern_head", "random", "oracle", "self")


def describe(method: ImageStacker, queries: list[Query], pool: list[PromptPair], choice: str, seed: int) -> tuple[np.ndarray, list[str | None]]:
    if choice != "oracle":
        method.params.prompt_choice = choice
        return method.describe_queries([q.image for q in queries], pool)
    rng = np.random.default_rng(seed)
    method.params.prompt_choice = "random"  # a random pair among the query's own pattern's pairs
    found, prompts = [], []
    for q in queries:
        own = [p for p in pool if p.pattern == q.patterns[0]]
        described, chosen = method.describe_queries([q.image], [own[int(rng.integers(len(own)))]] if own else [])
        found.append(described[0])
        prompts += chosen
    return np.stack(found), prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--references", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--prompt-patterns", choices=("novel", "all"), default="novel", help="the task's prompt pool")
    parser.add_argument("--composed-share", type=float, default=0.5, help="the method's composed_share")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    task = CopyDetection({"references": args.references, "prompt_patterns": args.prompt_patterns})
    data = task.data("offline", args.seed)
    method = ImageStacker({"steps": args.steps, "composed_share": args.composed_share})
    method.fit(data.training, args.seed, torch.device("cpu"))
    refs = np.concatenate([method.describe(list(data.references.values())[i:i + 256]) for i in range(0, len(data.references), 256)])
    ref_ids = list(data.references)
    samples = task.samples("offline", None, args.seed)
    table = Table(title=f"ImageStacker prompt choice ({len(samples)} queries, {len(ref_ids)} references, seed {args.seed})")
    for column in ("prompt", "uap_base", "uap_novel", "recall_at_1_base", "recall_at_1_novel", "own-pattern prompts"):
        table.add_column(column, justify="right")
    pattern_of = {p.id: p.pattern for p in data.prompts}
    for choice in CHOICES:
        described, prompts = describe(method, data.queries, data.prompts, choice, args.seed)
        rows = [task.score(sample, {"predictions": top_predictions(row_scores, ref_ids, task.listed)})
                for sample, row_scores in zip(samples, described @ refs.T)]
        metrics = task.aggregate(rows, [s.meta for s in samples])
        own = np.mean([pattern_of.get(p) == q.patterns[0] for p, q in zip(prompts, data.queries)])
        table.add_row(choice, *(f"{metrics[m].value:.3f}" for m in ("uap_base", "uap_novel", "recall_at_1_base", "recall_at_1_novel")),
                      f"{own:.0%}")
    Console(width=140).print(table)
    print(f"fitted: {method.fitted_state()}")


if __name__ == "__main__":
    main()
