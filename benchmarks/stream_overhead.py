"""The harness's streamed-token time against a raw transformers decode step at the same cache size (target <= 1.15x).

Raw step: one token through the model on a DynamicCache holding `cache` tokens, the oldest slot then dropped as a
view (the cheapest bounded step there is: no policy, no re-rotation). Harness: `Streamer.forward` + `compress` in
the steady state of `long_ppl`, for streamingllm and lacache at a budget of `cache` tokens. Both are measured in
interleaved blocks in one process, medians over `--tokens` steps per block; LaCache's time is also given as a
multiple of StreamingLLM's (target <= 1.1x).

Then, on one passkey prompt (`--length` tokens, post mode, the default compressed first-token protocol, half the
context as budget), LaCache's time to first token and time per output token as multiples of StreamingLLM's,
interleaved the same way (target <= 1.1x).

    python benchmarks/stream_overhead.py [--caches 256 512] [--tokens 64] [--blocks 5] [--length 2048]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import DynamicCache

from harness.meter import Clock
from harness.models import load_causal_lm
from harness.registry import METHODS
from tasks.long_context.corpus import haystack_ids
from tasks.long_context.kv import CompressContext, Rope
from tasks.long_context.passkey import Passkey
from tasks.long_context.retrieval import answer
from tasks.long_context.streamer import Streamer


def raw_steps(model, ids: list[int], cache_size: int, tokens: int) -> list[float]:
    cache = DynamicCache(config=model.config)
    model(input_ids=torch.tensor([ids[:cache_size]]), cache=cache, use_cache=True, logits_to_keep=1)
    times = []
    for i in range(cache_size, cache_size + tokens):
        start = time.perf_counter()
        model(input_ids=torch.tensor([[ids[i]]]), position_ids=torch.tensor([[i]]), cache=cache, use_cache=True, logits_to_keep=1)
        times.append(time.perf_counter() - start)
        for layer in cache.layers:
            layer.keys, layer.values = layer.keys[:, :, 1:], layer.values[:, :, 1:]
    return times


def harness_steps(model, ids: list[int], name: str, cache_size: int, tokens: int) -> list[float]:
    policy = METHODS.get(name)({"budget": cache_size})
    streamer = Streamer(model, policy, CompressContext(budget=cache_size, protected=0, num_layers=model.config.num_hidden_layers,
                                                       rope=Rope(model)))
    times = []
    for i in range(cache_size + tokens + 16):  # fill the cache, settle, then time `tokens` steps
        start = time.perf_counter()
        streamer.forward(torch.tensor([[ids[i]]]))
        streamer.compress()
        if i >= cache_size + 16:
            times.append(time.perf_counter() - start)
    streamer.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caches", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--length", type=int, default=2048)
    args = parser.parse_args()
    llm = load_causal_lm(None, "cpu")
    ids = haystack_ids(llm.tokenizer)[:4000]
    print(f"model {llm.id}, cpu threads {torch.get_num_threads()}, {args.blocks} interleaved blocks of {args.tokens} tokens")
    print(f"{'cache':>6} {'raw step':>10} {'streamingllm':>13} {'ratio':>6} {'lacache':>9} {'ratio':>6} {'lacache/streamingllm':>21}")
    with torch.inference_mode():
        for cache_size in args.caches:
            medians: dict[str, list[float]] = {"raw": [], "streamingllm": [], "lacache": []}
            for _ in range(args.blocks):
                medians["raw"].append(statistics.median(raw_steps(llm.model, ids, cache_size, args.tokens)))
                for name in ("streamingllm", "lacache"):
                    medians[name].append(statistics.median(harness_steps(llm.model, ids, name, cache_size, args.tokens)))
            raw, stream, ladder = (statistics.median(medians[k]) for k in ("raw", "streamingllm", "lacache"))
            print(f"{cache_size:>6} {raw * 1e3:>8.1f}ms {stream * 1e3:>11.1f}ms {stream / raw:>5.2f}x {ladder * 1e3:>7.1f}ms "
                  f"{ladder / raw:>5.2f}x {ladder / stream:>20.2f}x")
        task = Passkey({"lengths": [args.length], "depths": [0.5]})
        prompt = task.prompt(task.samples("offline", None, 0)[0], llm.tokenizer)
        ttft: dict[str, list[float]] = {"streamingllm": [], "lacache": []}
        per_token: dict[str, list[float]] = {"streamingllm": [], "lacache": []}
        for _ in range(args.blocks):
            for name in ttft:
                trace = answer(llm, METHODS.get(name)({}), prompt, task.options, Clock(torch.device("cpu")), 16, forced=True, score_gold=False)
                ttft[name].append(trace.ttft)
                per_token[name].append(statistics.median(trace.decode_times))
        medians = {name: (statistics.median(ttft[name]), statistics.median(per_token[name])) for name in ttft}
        (s_ttft, s_tok), (l_ttft, l_tok) = medians["streamingllm"], medians["lacache"]
        print(f"passkey {len(prompt.context)} tokens, budget 0.5: time to first token streamingllm {s_ttft:.2f}s lacache {l_ttft:.2f}s "
              f"({l_ttft / s_ttft:.2f}x); per output token {s_tok * 1e3:.1f}ms / {l_tok * 1e3:.1f}ms ({l_tok / s_tok:.2f}x)")


if __name__ == "__main__":
    main()
