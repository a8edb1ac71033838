"""Options of a task or method: a pydantic model the user fills with key=value pairs, checked in one clear line."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import HarnessError


class NoOptions(BaseModel):
    """Options of a task or method that takes none."""

    model_config = ConfigDict(extra="forbid")


def parse_options(model: type[BaseModel], values: dict[str, Any], what: str) -> BaseModel:
    """Validate user-given key=value options against a pydantic model, as one clear line on error."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        allowed = ", ".join(model.model_fields) or "none"
        given = values.get(str(first["loc"][0])) if first["loc"] else None
        several = " (one value per cell: for several, --sweep KEY=V1,V2)" if isinstance(given, str) and "," in given else ""
        raise HarnessError(f"bad {what} option {where!r}: {first['msg']}{several} (accepted options: {allowed})") from None
