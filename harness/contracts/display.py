"""How the leaderboard shows a task, kept apart from what the task is (`TaskSpec`): nothing here enters a record or
its spec hash, so changing what the site shows never changes a record's identity."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ReferenceSpec(BaseModel):
    """The method every other run of a task is compared with on the site, and what kind of anchor it is.

    `full`: the uncompressed method (differences are what compression costs; a run is also paired with it when its
    record is written); `floor`: a trivial method every real one should beat; `oracle`: an upper bound; `baseline`:
    an established simple method where the task has no trivial one. `latency` names the latency scope the home
    page's ratio uses (default: the first shared one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    method: str
    kind: Literal["full", "floor", "oracle", "baseline"]
    latency: str | None = None


class DisplaySpec(BaseModel):
    """What the site draws for a task: its reference, each metric's chance value (the value a guess scores, drawn on
    plots and tables), the options every board label names (they say what the board is), and whether the samples
    pages show each sample's gold answer (for tasks whose samples are cheap to rebuild)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reference: ReferenceSpec | None = None
    chance: dict[str, float] = {}
    label_options: tuple[str, ...] = ()
    gold: bool = False
