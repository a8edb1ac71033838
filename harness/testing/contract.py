"""One call that checks a method against the contract of its protocol, in or out of the repository (as scikit-learn's
`check_estimator` does for estimators): the class's declared metadata and parameters, the protocol's own checks (each
task's `conformance`: budgets, leading tokens and refusals for KV-cache policies), and a run on a few offline
samples of a task of its protocol, twice, that must give JSON outputs, numeric scores and the same scores both times."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from harness.contracts.method import Method
from harness.contracts.registry import METHODS, TASKS
from harness.contracts.task import Task
from harness.errors import HarnessError


class ContractFailure(AssertionError):
    """A method broke its protocol's contract: the message names the check and the fix."""


@dataclass
class ContractReport:
    """The checks a method passed, one line each."""

    method: str
    passed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([f"{self.method}: {len(self.passed)} checks passed"] + [f"  ok  {line}" for line in self.passed])


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractFailure(message)


def class_checks(cls: type[Method], params: dict[str, Any]) -> tuple[Method, list[str]]:
    """The declared metadata, and the parameters: defaults (or `params`) accepted, recorded as JSON."""
    for attribute in ("name", "version", "family", "protocol", "description"):
        value = getattr(cls, attribute, None)
        require(isinstance(value, str) and value.strip() != "",
                f"{cls.__name__}.{attribute} must be a non-empty string (got {value!r})")
    try:
        method = cls(params)
    except HarnessError as exc:
        raise ContractFailure(f"{cls.name} does not accept the parameters {params}: {exc}") from None
    try:
        json.dumps(method.params_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractFailure(f"{cls.name}'s parameters are not plain JSON ({exc}): records store them") from None
    return method, ["declares name, version, family, protocol and description", "its parameters validate and record as JSON"]


def tasks_for(cls: type[Method]) -> list[type[Task]]:
    """The installed tasks of the method's protocol that accept it, the default plan's first."""
    found = [TASKS.get(name) for name in TASKS.names()]
    found = [t for t in found if t.spec.requires == cls.protocol and t.accepts(cls) is None]
    return sorted(found, key=lambda t: (not t.default_plan, t.spec.name))


def scores_of(task: Task, samples: list[Any], method: Method, runtime: Any) -> list[dict[str, float]]:
    """The samples' scores, run as a cell runs them (check, prepare, fit, predict), seeded afresh."""
    from harness.contracts.runtime import seed_everything

    seed_everything(runtime.seed)
    task.check(method, runtime, samples)
    task.prepare(method, runtime)
    task.fit(method, runtime)
    scores = []
    for sample in samples:
        output = task.predict(sample, method, runtime)
        try:
            json.dumps(output)
        except (TypeError, ValueError) as exc:
            raise ContractFailure(f"{method.name} on {task.spec.name}: output of {sample.id} is not JSON ({exc})") from None
        scored = task.score(sample, output)
        require(all(isinstance(v, (int, float)) for v in scored.values()),
                f"{method.name} on {task.spec.name}: sample {sample.id} scored non-numbers {scored}")
        scores.append(scored)
    return scores


def same_scores(first: list[dict[str, float]], second: list[dict[str, float]]) -> bool:
    close = lambda a, b: (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    return len(first) == len(second) and all(a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
                                             for a, b in zip(first, second))


def check_method(method: str | type[Method], params: dict[str, Any] | None = None, *, model_dir: str | None = None,
                 task: str | None = None, task_options: dict[str, Any] | None = None, limit: int = 2,
                 seed: int = 0) -> ContractReport:
    """Check a method (a registered name or a class) against its protocol's contract; returns the checks passed and
    raises ContractFailure on the first broken one. `model_dir` is the causal LM for tasks that use one (default: the
    embedded SmolLM2; tests pass the `tiny_model_dir` fixture); `task` and `task_options` pick the task the run check
    uses (default: the first of its protocol that accepts it, with its default options)."""
    import torch

    from harness.contracts.runtime import Runtime

    cls = METHODS.get(method) if isinstance(method, str) else method
    params = dict(params or {})
    report = ContractReport(cls.name)
    _, lines = class_checks(cls, params)
    report.passed += lines
    candidates = tasks_for(cls)
    require(bool(candidates), f"{cls.name}: no installed task runs protocol {cls.protocol!r} and accepts it")
    runtime = Runtime(device=torch.device("cpu"), seed=seed, split="offline", model_id=model_dir)
    seen = set()
    for task_cls in candidates:  # each protocol's own checks once (tasks of a family share them)
        check = task_cls.conformance.__func__
        if check not in seen:
            seen.add(check)
            try:
                report.passed += task_cls.conformance(cls, params, runtime)
            except ContractFailure:
                raise
            except AssertionError as exc:  # a family's checks assert; the caller gets one kind of failure
                raise ContractFailure(str(exc).splitlines()[0]) from None
    chosen = TASKS.get(task) if task else candidates[0]
    require(chosen in candidates, f"{cls.name}: task {chosen.spec.name} does not run it")
    instance = chosen(task_options or {})  # one task, its split made once: the method is what must repeat itself
    samples = instance.samples("offline", limit, seed)
    runs = [scores_of(instance, samples, cls(params), runtime) for _ in range(2)]
    require(same_scores(*runs), f"{cls.name} on {chosen.spec.name}: two runs with seed {seed} scored differently "
                                f"({runs[0][:1]} then {runs[1][:1]}): seed every random source from the runtime's seed")
    report.passed.append(f"runs {chosen.spec.name} on {len(runs[0])} offline samples: JSON outputs, numeric scores, "
                         "the same scores twice")
    return report
