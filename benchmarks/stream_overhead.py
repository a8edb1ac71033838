"""The harness's streamed-token time against a raw transformers decode step at the same cache size (target <= 1.15x).

Raw step: one token through the model on a DynamicCache holding `cache` tokens, the oldest slot then dropped as a
view (the cheapest bounded step there is: no policy, no re-rotation). Harness: `Streamer.forward` + `compress` in
the steady state of `long_ppl`, for streamingllm and lacache at a budget of `cache` tokens. The three advance one
token each in turn (the order rotating every token), so that a slow spell of the machine hits all of them alike;
medians over `--tokens` steps each. LaCache's time is also given as a multiple of StreamingLLM's (target <= 1.1x).

Then, on one passkey prompt (`--length` tokens, post mode, the default compressed first-token protocol, half the
context as budget), LaCache's time to first token and time per output token as multiples of StreamingLLM's,
interleaved in `--blocks` blocks (target <= 1.1x).

    python benchmarks/stream_overhead.py [--caches 256 512] [--tokens 256] [--blocks 5] [--length 2048]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import DynamicCache

from harness.contracts.causal_lm import load_causal_lm
from harness.contracts.meter import Clock
from harness.contracts.registry import METHODS
from tasks.long_context.corpus import haystack_ids
from tasks.long_context.kv import CompressContext, Rope
from tasks.long_context.passkey import Passkey
from tasks.long_context.retrieval import answer
from tasks.long_context.streamer import Streamer


class RawStepper:
    """A DynamicCache holding `cache_size` tokens; each step feeds one token and drops the oldest slot as a view."""

    def __init__(self, model, ids: list[int], cache_size: int):
        self.model, self.ids, self.pos = model, ids, cache_size
        self.cache = DynamicCache(config=model.config)
        model(input_ids=torch.tensor([ids[:cache_size]]), cache=self.cache, use_cache=True, logits_to_keep=1)

    def step(self) -> float:
        start = time.perf_counter()
        self.model(input_ids=torch.tensor([[self.ids[self.pos]]]), position_ids=torch.tensor([[self.pos]]), cache=self.cache,
                   use_cache=True, logits_to_keep=1)
        elapsed = time.perf_counter() - start
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[:, :, 1:], layer.values[:, :, 1:]
        self.pos += 1
        return elapsed


class HarnessStepper:
    """`Streamer.forward` + `compress` under one policy at a budget of `cache_size` tokens, past the filling phase."""

    def __init__(self, model, ids: list[int], name: str, cache_size: int):
        policy = METHODS.get(name)({"budget": cache_size})
        self.streamer = Streamer(model, policy, CompressContext(budget=cache_size, protected=0,
                                                                num_layers=model.config.num_hidden_layers, rope=Rope(model)))
        self.ids, self.pos = ids, 0
        while self.pos < cache_size + 16:  # fill the cache and settle the policy's schedule
            self.step()

    def step(self) -> float:
        start = time.perf_counter()
        self.streamer.forward(torch.tensor([[self.ids[self.pos]]]))
        self.streamer.compress()
        self.pos += 1
        return time.perf_counter() - start


def interleaved(steppers: dict[str, object], tokens: int) -> dict[str, float]:
    """Median step time of each stepper, advanced one token each in turn (the order rotates every token)."""
    names, times = list(steppers), {name: [] for name in steppers}
    for t in range(tokens):
        for name in names[t % len(names):] + names[:t % len(names)]:
            times[name].append(steppers[name].step())
    return {name: statistics.median(series) for name, series in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caches", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--length", type=int, default=2048)
    args = parser.parse_args()
    llm = load_causal_lm(None, "cpu")
    ids = haystack_ids(llm.tokenizer)[:4000]
    print(f"model {llm.id}, cpu threads {torch.get_num_threads()}, {args.tokens} tokens per stepper, interleaved token by token; "
          f"passkey: {args.blocks} interleaved blocks")
    print(f"{'cache':>6} {'raw step':>10} {'streamingllm':>13} {'ratio':>6} {'lacache':>9} {'ratio':>6} {'lacache/streamingllm':>21}")
    with torch.inference_mode():
        for cache_size in args.caches:
            steppers = {"raw": RawStepper(llm.model, ids, cache_size)}
            steppers.update({name: HarnessStepper(llm.model, ids, name, cache_size) for name in ("streamingllm", "lacache")})
            medians = interleaved(steppers, args.tokens)
            raw, stream, ladder = (medians[k] for k in ("raw", "streamingllm", "lacache"))
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
