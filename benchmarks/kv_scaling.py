"""KV bytes and decode time per token as the context grows: full vs streamingllm vs lacache.

Runs the passkey prompt in `stream` mode (cache bounded during prefill too) at a fixed budget in tokens,
and prints, per method and context length, the measured peak KV bytes (cache tensors' storages), the
analytical bytes, time to first token and the median decode time per token (16 forced tokens, 3 repeats).

    python benchmarks/kv_scaling.py [--lengths 1024 2048 4096 8000] [--budget 512] [--device auto]
"""

from __future__ import annotations

import argparse
import statistics

from rich.console import Console
from rich.table import Table

from harness.contracts.causal_lm import load_causal_lm
from harness.contracts.meter import Meter
from harness.contracts.registry import METHODS
from harness.contracts.runtime import resolve_device
from harness.records.terminal import human_bytes, human_seconds
from tasks.long_context.kv import bytes_per_token
from tasks.long_context.passkey import Passkey
from tasks.long_context.retrieval import answer, policy_context

NEW_TOKENS = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 2048, 4096, 8000])
    parser.add_argument("--budget", type=int, default=512, help="cache budget in tokens for the bounded methods")
    parser.add_argument("--methods", nargs="+", default=["full", "streamingllm", "lacache"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    device = resolve_device(args.device)
    llm = load_causal_lm(args.model, device.type)
    meter = Meter(device, warmups=1, repeats=args.repeats)
    per_token = bytes_per_token(llm.model.config, llm.model.dtype)
    table = Table(title=f"KV scaling on {device} ({llm.id}, stream mode, chunk 256, budget {args.budget} tokens)")
    for col in ("method", "context", "KV peak (measured)", "KV while answering", "KV analytical", "peak memory", "TTFT", "decode / token", "answer ok"):
        table.add_column(col)
    flat: dict[str, list[tuple[int, float]]] = {}
    for name in args.methods:
        params = {} if name == "full" else {"budget": args.budget}
        method = METHODS.get(name)(params)
        for length in args.lengths:
            task = Passkey({"lengths": [length], "depths": [0.5], "mode": "stream"})
            sample = task.samples("offline", None, 0)[0]
            prompt = task.prompt(sample, llm.tokenizer)
            ttfts, decode = [], []
            meter.reset_peak()
            for repeat in range(1 + args.repeats):
                trace = answer(llm, method, prompt, task.options, meter.clock(), NEW_TOKENS, forced=True, score_gold=False)
                if repeat:
                    ttfts.append(trace.ttft)
                    decode.extend(trace.decode_times)
            memory = meter.peak_memory()
            ok = sample.target in llm.tokenizer.decode(trace.generated)
            ctx = policy_context(llm, method, prompt, task.options)
            allowed = (len(prompt.context) + len(prompt.question) + NEW_TOKENS) if not method.bounded else (ctx.budget + 256)
            tpot = statistics.median(decode)
            flat.setdefault(name, []).append((trace.peak_bytes, tpot))
            table.add_row(name, str(len(prompt.context)), human_bytes(trace.peak_bytes), human_bytes(trace.decode_bytes),
                          human_bytes(allowed * per_token), f"{human_bytes(memory.peak_bytes)} ({memory.scope})", human_seconds(statistics.median(ttfts)), human_seconds(tpot), "yes" if ok else "no")
    console = Console(width=160)
    console.print(table)
    for name, rows in flat.items():
        kv_growth = rows[-1][0] / rows[0][0]
        time_growth = rows[-1][1] / rows[0][1]
        console.print(f"{name}: KV bytes x{kv_growth:.2f}, decode time per token x{time_growth:.2f} from the shortest to the longest context")


if __name__ == "__main__":
    main()
