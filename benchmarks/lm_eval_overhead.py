"""The lm-eval bridge's time per request with the full cache against stock lm-eval HFLM (target <= 1.1x).

Both get the very same lm-eval Instances of each shipped task (the first `--docs` documents) and the same model
(the embedded SmolLM2 unless --model), batch size 1, and are called in interleaved blocks in one process; the
figure is the median over blocks of (wall time of the block / requests in it).

    python benchmarks/lm_eval_overhead.py [--docs 6] [--blocks 3] [--model ID_OR_PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from baselines.full import FullCache
from harness.contracts.causal_lm import load_causal_lm
from tasks.long_context.via_lm_eval.task import LmEvalTask

TASKS = ["harness_kv_gen", "harness_kv_loglik", "harness_kv_mc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=6)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    from lm_eval.models.huggingface import HFLM

    from tasks.long_context.via_lm_eval.bridge import PolicyLM

    llm = load_causal_lm(args.model, "cpu")
    print(f"model {llm.id}, cpu threads {torch.get_num_threads()}, {args.docs} documents per task, {args.blocks} interleaved blocks")
    print(f"{'task':<20} {'requests':>8} {'stock HFLM':>12} {'bridge (full)':>14} {'ratio':>7}")
    for name in TASKS:
        task = LmEvalTask({"tasks": [name]})
        samples = task.samples("offline", args.docs, 0)
        instances = [inst for s in samples for inst in task._requests[s.inputs["doc_id"]]]
        kind = instances[0].request_type
        models = {"stock": HFLM(pretrained=llm.model, tokenizer=llm.tokenizer, batch_size=1),
                  "bridge": PolicyLM(llm, FullCache({}), task.options)}
        per_request: dict[str, list[float]] = {key: [] for key in models}
        with torch.inference_mode():
            for _ in range(args.blocks):
                for key, lm in models.items():
                    start = time.perf_counter()
                    getattr(lm, kind)(instances, disable_tqdm=True)
                    per_request[key].append((time.perf_counter() - start) / len(instances))
        stock, bridge = (statistics.median(per_request[k]) for k in ("stock", "bridge"))
        print(f"{name:<20} {len(instances):>8} {stock * 1e3:>10.0f}ms {bridge * 1e3:>12.0f}ms {bridge / stock:>6.2f}x")


if __name__ == "__main__":
    main()
