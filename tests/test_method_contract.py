"""Every built-in method passes harness.testing.check_method, the contract check any plugin runs with one call; a
method that breaks its protocol's contract fails it with a line naming the check."""

from __future__ import annotations

import pytest
import torch

from harness.contracts.registry import METHODS
from harness.testing import ContractFailure, check_method

# Few steps for trained methods (the contract is about behaviour, not accuracy), small options for the tasks.
FAST_PARAMS = {
    "contrastive_cnn": {"steps": 2}, "imagestacker": {"steps": 2}, "deeperaser": {"steps": 2}, "unet": {"steps": 2},
    "unet_depth": {"steps": 2}, "dlinear": {"epochs": 1}, "mlp": {"epochs": 1}, "nlinear": {"epochs": 1},
    "patchtst": {"epochs": 1},
    "lacache": {"span": 2}, "reasoning_score": {"late_layers": 2}, "rhd": {"late_layers": 2},  # the tiny model's 4 layers **{name: {"pretrain_steps": 2, "target_steps": 2} for name in ("deep4", "eegnet", "shallownet", "tcn")},
}
TASK_OPTIONS = {"passkey": {"lengths": [256], "depths": [0.5]},
                "eeg_transfer": {"source_recordings": 8, "target_train_recordings": 16, "target_eval_recordings": 8,
                                 "simulated_s": 12.0},
                "reasoning_hallucination": {"fit_share": 0.05}}
TASKS_BY_PROTOCOL = {"kv_cache": "passkey", "eeg_classifier": "eeg_transfer", "trace_detector": "reasoning_hallucination"}
LIMITS = {"copy_descriptor": 4}  # the first queries that include a copy of a reference (the first two are distractors)
NEEDS_WEIGHTS = {"depth_anything"}  # its weights do not ship: checked below for its one-line refusal instead


@pytest.mark.parametrize("name", [n for n in METHODS.names() if n not in NEEDS_WEIGHTS])
def test_every_builtin_method_passes_its_contract(name, tiny_model_dir):
    cls = METHODS.get(name)
    task = TASKS_BY_PROTOCOL.get(cls.protocol)
    report = check_method(name, FAST_PARAMS.get(name), model_dir=str(tiny_model_dir), task=task,
                          task_options=TASK_OPTIONS.get(task or ""), limit=LIMITS.get(cls.protocol, 2))
    print(report)
    assert report.passed[-1].startswith("runs ") and "the same scores twice" in report.passed[-1]
    if cls.protocol == "kv_cache" and cls.bounded:
        assert any("keeps at most its budget" in line for line in report.passed) or any("finished prompt" in line for line in report.passed)
        assert any("refuses a budget" in line for line in report.passed)


def test_a_method_that_needs_missing_weights_refuses_in_one_line(tiny_model_dir):
    from harness.errors import HarnessError

    with pytest.raises(HarnessError) as refused:
        check_method("depth_anything", model_dir=str(tiny_model_dir))
    assert "\n" not in str(refused.value)


def test_a_policy_that_overruns_its_budget_fails_the_contract(tiny_model_dir):
    from baselines.streamingllm import StreamingLLM

    class Greedy(StreamingLLM):
        """Keeps one token too many: a budget overrun."""

        name = "greedy_test"
        description = "StreamingLLM keeping one token over its budget"

        def keep(self, cache_len, ctx, cache):
            return torch.arange(max(0, cache_len - ctx.budget - 1), cache_len)

        def compress(self, cache, ctx):
            ctx.budget += 1
            try:
                return super().compress(cache, ctx)
            finally:
                ctx.budget -= 1

    with pytest.raises(ContractFailure, match="budget 32"):
        check_method(Greedy, model_dir=str(tiny_model_dir), task="passkey", task_options=TASK_OPTIONS["passkey"])


def test_a_nondeterministic_method_fails_the_contract(tiny_model_dir):
    from baselines.naive import Naive

    class Jittery(Naive):
        """Adds noise from an unseeded generator."""

        name = "jittery_test"
        description = "naive forecasts with unseeded noise"

        def predict(self, *args, **kwargs):
            import numpy as np

            return super().predict(*args, **kwargs) + np.random.default_rng().normal(0, 1)

    with pytest.raises(ContractFailure, match="scored differently"):
        check_method(Jittery)


def test_a_method_without_its_metadata_fails_the_contract():
    from baselines.naive import Naive

    class Nameless(Naive):
        description = ""

    with pytest.raises(ContractFailure, match="description must be a non-empty string"):
        check_method(Nameless)
