"""Per-sample log rows as table rows for the site: an input summary, the gold answer, the output, the main score and
whether the sample counts as correct (0/1 main metrics only)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson

from harness.contracts.record import ResultRecord
from harness.contracts.registry import TASKS
from harness.errors import HarnessError

TEXT_LIMIT = 160
RAW_LIMIT = 2000  # characters of a raw log row shown on a samples page; the whole row is in the samples log in results/
RAW_CUT = "\n(cut: the whole row is in the run's samples log)"  # ends a cut row; site.js indents only rows without it
OUTPUT_TEXT_KEYS = ("generated", "responses", "prediction", "answer", "text")


COMPACT = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))  # one encoder for every cell


def compact(value: Any) -> str:
    """A value as compact JSON: orjson's (ten times faster) unless it wrote a null, which may be a NaN or an infinity
    (the standard library writes those as they are), or could not write it (keys that are not strings, integers past
    64 bits, lone surrogates)."""
    try:
        text = orjson.dumps(value, default=str)
    except orjson.JSONEncodeError:
        return COMPACT.encode(value)
    return COMPACT.encode(value) if b"null" in text else text.decode()


def short(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A value as one short line: strings as they are, the rest as compact JSON, cut at `limit` characters."""
    text = value if isinstance(value, str) else compact(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def raw_json(text: str) -> str:
    """A log row's line of JSON text, cut at RAW_LIMIT characters with a note; the samples page indents an uncut row in
    the browser (copy detection lists 100 scored references a query)."""
    return text if len(text) <= RAW_LIMIT else text[: RAW_LIMIT - 1] + "…" + RAW_CUT


def input_summary(meta: dict[str, Any]) -> str:
    """The sample's scalar attributes as `key=value` pairs (lists and objects are left to the raw JSON)."""
    return " · ".join(f"{k}={v}" for k, v in meta.items() if isinstance(v, (str, int, float, bool)) or v is None)


def output_summary(output: Any) -> str:
    """The text a model produced when the output has one, else the output's scalar fields."""
    if not isinstance(output, dict):
        return short(output)
    for key in OUTPUT_TEXT_KEYS:
        if output.get(key) is not None:
            value = output[key]
            return short(" | ".join(map(str, value)) if isinstance(value, list) else value)
    return short({k: v for k, v in output.items() if isinstance(v, (str, int, float, bool))})


def golds(record: ResultRecord) -> dict[str, str]:
    """Gold answers by sample id, rebuilt from the task for tasks whose samples are cheap to rebuild (their DisplaySpec's gold);
    empty when the task is not installed, opts out, or its samples cannot be rebuilt here."""
    name = record.task.name
    if name not in TASKS.names() or not TASKS.get(name).display.gold:
        return {}
    try:
        task = TASKS.get(name)(record.task.options)
        samples = task.samples(record.task.split, record.config.limit, record.config.seed)
    except (HarnessError, ValueError, OSError, ImportError):
        return {}
    return {s.id: short(s.target) for s in samples if s.target is not None}


def stem_column(main: str, columns: set[str]) -> str:
    """The per-sample (or breakdown) column that shows a main metric: the metric itself, else the longest column the
    main metric's name starts with (`psnr` for `psnr_box`, a per-pattern `uap` for `uap_novel`)."""
    if main in columns:
        return main
    stems = [c for c in columns if main.startswith(f"{c}_")]
    return max(stems, key=len) if stems else main


def binary_main(rows: list[dict[str, Any]], metric: str) -> bool:
    values = {r.get("scores", {}).get(metric) for r in rows}
    return bool(rows) and values <= {0.0, 1.0, 0, 1}


def score_value(score: Any) -> float | str | None:
    """A per-sample score as JSON can carry it for sorting: a finite number, "Infinity"/"-Infinity" (JavaScript's
    parseFloat reads both), or null for a missing, NaN or non-numeric score."""
    if isinstance(score, bool):
        return float(score)
    if isinstance(score, int):
        score = float(score) if abs(score) < 2 ** 1023 else math.copysign(math.inf, score)
    if not isinstance(score, float) or math.isnan(score):
        return None
    if math.isinf(score):
        return "Infinity" if score > 0 else "-Infinity"
    return score


def sample_rows(rows: list[dict[str, Any]], texts: list[str], metric: str, gold: dict[str, str],
                score_text: Callable[[Any], str]) -> tuple[list[dict[str, Any]], bool]:
    """A samples page's rows, as plain JSON (`texts`: each row's line in the log, kept as the raw column, cut past
    RAW_LIMIT characters), and whether the correct/incorrect filter applies (a 0/1 main score). A score is kept for
    sorting (score_value) and as the site prints it (`score_text`)."""
    metric = stem_column(metric, {k for r in rows for k in r.get("scores", {})})
    binary = binary_main(rows, metric)
    out = []
    for row, text in zip(rows, texts):
        score = row.get("scores", {}).get(metric)
        out.append({
            "id": str(row["id"]), "input": input_summary(row.get("meta", {})), "gold": gold.get(row["id"], ""),
            "output": output_summary(row.get("output")), "score": score_value(score), "score_text": score_text(score),
            "outcome": ("correct" if score == 1 else "incorrect") if binary and score is not None else "",
            "raw": raw_json(text),
        })
    return out, binary
