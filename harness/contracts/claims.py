"""What each seed paper claims, as data: a `claims.json` beside a family's tasks names each headline claim, where the
paper makes it, and the harness test that speaks to it (a task's boards, a metric, a method, and what it is compared
with). Verdicts are computed from the records at site build time (`harness.site.claims`), never typed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from harness.contracts.registry import METHODS, TASKS
from harness.errors import HarnessError

CLAIMS_FILE = "claims.json"


class ClaimTest(BaseModel):
    """The test of a claim here: on the boards of `task` whose options include `options`, `metric` of `method`
    against `versus` (paired on shared samples) or against `threshold` (the run's own 95% interval). `supports` is
    the side of the comparison (method minus versus, or method's value minus threshold) that supports the claim."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    task: str
    metric: str
    method: str
    versus: str | None = None
    threshold: float | None = None
    options: dict[str, Any] = {}
    method_params: dict[str, Any] = {}
    versus_params: dict[str, Any] = {}
    supports: Literal["higher", "lower"]

    @model_validator(mode="after")
    def _one_comparison(self) -> "ClaimTest":
        if (self.versus is None) == (self.threshold is None):
            raise ValueError("give exactly one of `versus` (a method) and `threshold` (a value)")
        return self

    def command(self) -> str:
        """The `harness run` commands that make the records this test reads."""
        options = "".join(f" --task-arg {key}={json.dumps(value) if not isinstance(value, str) else value}"
                          for key, value in self.options.items())
        runs = [(self.method, self.method_params)] + ([(self.versus, self.versus_params)] if self.versus else [])
        if len({json.dumps(params, sort_keys=True) for _, params in runs}) == 1 and len({m for m, _ in runs}) == len(runs):
            runs = [(",".join(m for m, _ in runs), self.method_params)]
        return "; ".join(f"harness run --method {method} --task {self.task}{options}"
                         + "".join(f" --method-arg {key}={value}" for key, value in params.items()) for method, params in runs)


class Claim(BaseModel):
    """One headline claim in a sentence, where the paper makes it and at what scale, and its test here (or why it
    cannot be tested offline)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    claim: str
    where: str
    paper_scale: str
    test: ClaimTest | None = None
    untested: str | None = None

    @model_validator(mode="after")
    def _test_or_reason(self) -> "Claim":
        if (self.test is None) == (self.untested is None):
            raise ValueError(f"claim {self.id!r}: give exactly one of `test` and `untested` (why it cannot be tested)")
        return self


class PaperClaims(BaseModel):
    """A seed paper and its headline claims."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    paper: str
    url: str
    family: str
    claims: tuple[Claim, ...]

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://") or any(c in value for c in " <>\"'`()"):
            raise ValueError("the paper's url must be a plain https:// address")
        return value


def claim_files() -> list[Path]:
    """The claims.json beside every registered task's module (one per family folder), in name order."""
    found = set()
    for name in TASKS.names():
        module = TASKS.entry(name).target.partition(":")[0]
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            folder = Path(spec.origin).parent
            while folder.name and not (folder / CLAIMS_FILE).exists() and (folder.parent / "__init__.py").exists():
                folder = folder.parent  # a task in a subpackage (via_lm_eval) shares its family's file
            if (folder / CLAIMS_FILE).exists():
                found.add(folder / CLAIMS_FILE)
    return sorted(found)


def read_claims(path: Path) -> PaperClaims:
    try:
        return PaperClaims.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        what = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else str(exc).splitlines()[0]
        raise HarnessError(f"{path} is not a claims file ({what}): fix it as docs/adding-a-task.md describes") from None


def test_problems(test: ClaimTest) -> list[str]:
    """What in a test names nothing real: its task, options, metric, method or versus."""
    if test.task not in TASKS.names():
        return [f"task {test.task!r} is not registered"]
    try:
        spec = TASKS.get(test.task)(test.options).spec
    except HarnessError as exc:
        return [f"options {test.options} of {test.task}: {exc}"]
    problems = [] if test.metric in [m.name for m in spec.metrics] else [f"{test.task} has no metric {test.metric!r}"]
    for method, params in [(test.method, test.method_params)] + ([(test.versus, test.versus_params)] if test.versus else []):
        if method not in METHODS.names():
            problems.append(f"method {method!r} is not registered")
        elif METHODS.get(method).protocol != spec.requires:
            problems.append(f"method {method!r} does not run {test.task} (it is a {METHODS.get(method).protocol})")
        else:
            try:
                METHODS.get(method)(params)
            except HarnessError as exc:
                problems.append(str(exc))
    return problems


def claim_problems(paths: list[Path] | None = None) -> list[str]:
    """One line per claim that names a task, metric or method that does not exist (or a file that does not parse)."""
    lines = []
    for path in claim_files() if paths is None else paths:
        try:
            paper = read_claims(path)
        except HarnessError as exc:
            lines.append(str(exc))
            continue
        ids = [c.id for c in paper.claims]
        lines += [f"{path}: claim id {i!r} is given twice: make ids unique" for i in sorted({i for i in ids if ids.count(i) > 1})]
        for claim in paper.claims:
            lines += [f"{path}: claim {claim.id!r}: {problem}: fix the claim's test" for problem in
                      (test_problems(claim.test) if claim.test else [])]
    return lines
