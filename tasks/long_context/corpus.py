"""Real English haystack text that ships with CPython (pydoc's topic help), tokenised once per tokenizer."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

SOURCE = "cpython:pydoc_data.topics"


@lru_cache(maxsize=1)
def haystack_text() -> str:
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key] for key in sorted(topics))
    return re.sub(r"[ \t]+", " ", text)


def haystack_sha256() -> str:
    return hashlib.sha256(haystack_text().encode()).hexdigest()


_TOKEN_CACHE: dict[int, list[int]] = {}


def haystack_ids(tokenizer) -> list[int]:
    key = id(tokenizer)
    if key not in _TOKEN_CACHE:
        _TOKEN_CACHE[key] = tokenizer(haystack_text(), add_special_tokens=False).input_ids
    return _TOKEN_CACHE[key]
