"""The method contract: a named, versioned object with recorded hyperparameters."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from harness.contracts.options import NoOptions, parse_options


class Method:
    """Base of every method. Family protocols (e.g. KVCachePolicy) subclass it."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    family: ClassVar[str]
    protocol: ClassVar[str]
    paper: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, params: dict[str, Any] | None = None):
        self.params = parse_options(self.Params, params or {}, f"method {self.name}")

    def params_dict(self) -> dict[str, Any]:
        return self.params.model_dump(mode="json")

    def fitted_state(self) -> dict[str, Any] | None:
        """What the method learned in the task's fit step, for the record (None when it learns nothing)."""
        return None
