"""The model writes its own step-by-step reasoning: prompt, greedy decoding, model fingerprint, trace files.

A trace file is JSONL: a header line (the model's identity and fingerprint, the generation settings, the prompt
template) then one line per problem (its question, gold answer, the completion, how many tokens it took and whether
it hit `max_new_tokens`). Files are written one line at a time, so an interrupted generation resumes.

    python -m tasks.hallucination.self_generate            # (re)writes the shipped file for the embedded model
    python -m tasks.hallucination.self_generate --out FILE --model PATH --per-domain 10
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.causal_lm import LoadedModel
from harness.errors import HarnessError
from tasks.hallucination.self_problems import SelfProblem, build_self_problems

SHIPPED = Path(__file__).resolve().parent / "data" / "self_traces.jsonl"
SHIPPED_PER_DOMAIN = 31
INSTRUCTION = ("Solve the problem step by step, one step per line, then write the final line as "
               "'Answer: <answer>'.")
# One worked example per domain, shown as an earlier chat turn (its names, cities and things are outside the problems').
DEMONSTRATIONS = {
    "one_step": ("Mia has 4 cards. Mia gets 3 more cards. How many cards does Mia have now?",
                 "Mia starts with 4 cards.\nShe gets 3 more, so 4 + 3 = 7.\nAnswer: 7"),
    "two_step": ("Leo has 9 stamps. Leo gives away 4. Then Leo gets 6 more. How many stamps does Leo have now?",
                 "Leo starts with 9 stamps.\nHe gives away 4, so 9 - 4 = 5.\nThen he gets 6 more, so 5 + 6 = 11.\nAnswer: 11"),
    "two_hop": ("Zoe lives in Cairo. Max owns the drum. Zoe owns the ladder. Max lives in Tokyo. In which city does the "
                "owner of the ladder live?", "The ladder is owned by Zoe.\nZoe lives in Cairo.\nAnswer: Cairo"),
    "ordering": ("Max is taller than Zoe. Leo is taller than Max. Who is the tallest?",
                 "Leo is taller than Max.\nMax is taller than Zoe.\nSo Leo is taller than both.\nAnswer: Leo"),
}
PLAIN_TURN = "{instruction}\n\nQuestion: {question}\nReasoning:\n"  # for tokenizers without a chat template


class GenerationSettings(BaseModel):
    """How the model writes its traces: everything that changes a completion besides the model itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    instruction: str = INSTRUCTION
    demonstrations: dict[str, tuple[str, str]] = DEMONSTRATIONS  # domain -> (question, worked answer)
    max_new_tokens: int = Field(96, ge=8, le=1024)
    decoding: str = "greedy"
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def model_fingerprint(lm: LoadedModel) -> str:
    """sha256 of every parameter (name, dtype, shape, bytes) and of the chat template: equal means same completions."""
    digest = hashlib.sha256()
    for name, tensor in sorted(lm.model.state_dict().items()):
        cpu = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}:{cpu.dtype}:{tuple(cpu.shape)}".encode())
        digest.update(cpu.view(torch.uint8).numpy().tobytes() if cpu.numel() else b"")
    digest.update((getattr(lm.tokenizer, "chat_template", None) or "").encode())
    return digest.hexdigest()


def prompt_text(tokenizer: Any, question: str, domain: str, settings: GenerationSettings) -> str:
    """The prompt the model answers: its chat template with the domain's worked example as an earlier turn, then
    the instruction and the question; a plain-text version of the same for a tokenizer without a chat template."""
    shown = settings.demonstrations.get(domain)
    turns = [(shown[0], shown[1])] if shown else []
    if getattr(tokenizer, "chat_template", None):
        messages = []
        for asked, answered in turns:
            messages += [{"role": "user", "content": f"{settings.instruction}\n\n{asked}"},
                         {"role": "assistant", "content": answered}]
        messages.append({"role": "user", "content": f"{settings.instruction}\n\n{question}"})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    plain = "".join(PLAIN_TURN.format(instruction=settings.instruction, question=q) + f"{a}\n\n" for q, a in turns)
    return (tokenizer.bos_token or "") + plain + PLAIN_TURN.format(instruction=settings.instruction, question=question)


def prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    """Token ids of a prompt from prompt_text (its special tokens are already in the text)."""
    return tokenizer(prompt, add_special_tokens=False).input_ids


@torch.no_grad()
def generate_row(lm: LoadedModel, problem: SelfProblem, settings: GenerationSettings) -> dict[str, Any]:
    """The model's completion of one problem, greedy, as a trace-file row."""
    ids = torch.tensor([prompt_ids(lm.tokenizer, prompt_text(lm.tokenizer, problem.question, problem.domain, settings))],
                       device=lm.model.device)
    torch.manual_seed(settings.seed)
    eos = lm.tokenizer.eos_token_id
    out = lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=settings.max_new_tokens,
                            do_sample=False, pad_token_id=eos, eos_token_id=eos)
    new = out[0, ids.shape[1]:].tolist()
    ended = bool(new) and new[-1] == eos
    return {"id": problem.id, "domain": problem.domain, "question": problem.question, "answer": problem.answer,
            "completion": lm.tokenizer.decode(new, skip_special_tokens=True).rstrip(),
            "new_tokens": len(new) - int(ended), "hit_max": not ended and len(new) >= settings.max_new_tokens}


def file_header(lm: LoadedModel, fingerprint: str, settings: GenerationSettings) -> dict[str, Any]:
    """The header line of a trace file: what wrote it and how."""
    import transformers

    return {"kind": "header", "model": lm.id, "revision": lm.revision, "dtype": lm.dtype, "fingerprint": fingerprint,
            "settings": settings.model_dump(mode="json"),
            "prompt_templates": {d: prompt_text(lm.tokenizer, "{question}", d, settings) for d in settings.demonstrations},
            "device": str(lm.model.device), "torch": torch.__version__, "transformers": transformers.__version__}


def read_trace_file(path: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """A trace file's header and its rows by problem id (a torn last line, from a killed writer, is ignored)."""
    if not path.is_file():
        return None, {}
    header, rows = None, {}
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("kind") == "header":
            header = row
        else:
            rows[row["id"]] = row
    return header, rows


def matches(header: dict[str, Any] | None, fingerprint: str, settings: GenerationSettings) -> bool:
    return (header is not None and header.get("fingerprint") == fingerprint
            and header.get("settings") == settings.model_dump(mode="json"))


def row_fits(row: dict[str, Any] | None, problem: SelfProblem) -> bool:
    return row is not None and row["question"] == problem.question and row["answer"] == problem.answer


def extend_trace_file(path: Path, lm: LoadedModel, fingerprint: str, settings: GenerationSettings,
                      problems: list[SelfProblem], progress: bool = False) -> dict[str, dict[str, Any]]:
    """Rows for `problems` from `path`, generating and appending the missing ones; a file another model or other
    settings wrote is an error."""
    header, rows = read_trace_file(path)
    if header is not None and not matches(header, fingerprint, settings):
        raise HarnessError(f"{path} holds traces of another model or other settings: pass another file")
    path.parent.mkdir(parents=True, exist_ok=True)
    missing = [p for p in problems if not row_fits(rows.get(p.id), p)]
    with path.open("a") as fh:
        if header is None:
            fh.write(json.dumps(file_header(lm, fingerprint, settings)) + "\n")
        elif path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            fh.write("\n")  # end a torn last line so the next row starts on its own
        for done, problem in enumerate(missing, 1):
            start = time.perf_counter()
            rows[problem.id] = generate_row(lm, problem, settings)
            fh.write(json.dumps(rows[problem.id]) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            if progress:
                print(f"{done}/{len(missing)} {problem.id} {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    return {p.id: rows[p.id] for p in problems}


def main(argv: list[str] | None = None) -> int:
    from harness.contracts.causal_lm import load_causal_lm

    parser = argparse.ArgumentParser(prog="python -m tasks.hallucination.self_generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=SHIPPED, help="trace file to write or resume (default: the shipped one)")
    parser.add_argument("--model", default=None, help="local folder or cached Hugging Face id (default: the embedded model)")
    parser.add_argument("--per-domain", type=int, default=SHIPPED_PER_DOMAIN)
    parser.add_argument("--seed", type=int, default=0, help="the problems' seed (the run's --seed)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is much faster on a machine other jobs keep busy)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        lm = load_causal_lm(args.model, args.device)
        settings = GenerationSettings()
        problems = build_self_problems(args.per_domain, args.seed)
        extend_trace_file(args.out, lm, model_fingerprint(lm), settings, problems, progress=True)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
