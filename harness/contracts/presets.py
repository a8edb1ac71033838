"""Named presets of parameters: a preset is data, a named set of values filled in before validation."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, model_validator


class PresetParams(BaseModel):
    """Parameters with a `preset` field: `PRESETS` maps each name to values filled in before validation, and values
    given explicitly win over the preset's; without one, the `preset` field's default names it. The preset's name and
    every resolved value are recorded."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"cpu": {}}

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = data.get("preset", cls.model_fields["preset"].default)
        if name not in cls.PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(cls.PRESETS)}")
        return {**cls.PRESETS[name], **data}
