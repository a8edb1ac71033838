"""The long-context tasks build exact-length prompts with the needle where it was asked for."""

import math

import pytest

from harness.errors import HarnessError
from tasks.long_context.long_ppl import LongPerplexity
from tasks.long_context.niah import NiahMultikey
from tasks.long_context.passkey import Passkey


def test_passkey_grid_is_deterministic_and_complete():
    task = Passkey()
    samples = task.samples("offline", None, seed=0)
    assert len(samples) == 3 * 11
    assert [s.id for s in samples] == [s.id for s in Passkey().samples("offline", None, seed=0)]
    assert [s.target for s in samples] == [s.target for s in Passkey().samples("offline", None, seed=0)]
    assert [s.target for s in samples] != [s.target for s in Passkey().samples("offline", None, seed=1)]
    assert all(len(s.target) == 5 and s.target.isdigit() for s in samples)
    assert len(task.samples("offline", 4, seed=0)) == 4


@pytest.mark.parametrize("depth", [0.0, 0.5, 1.0])
def test_passkey_prompt_has_exact_length_and_needle_at_depth(tokenizer, depth):
    task = Passkey({"lengths": [1024], "depths": [depth]})
    sample = task.samples("offline", None, 0)[0]
    prompt = task.prompt(sample, tokenizer)
    assert len(prompt.context) + len(prompt.question) == 1024
    text = tokenizer.decode(prompt.context)
    assert text.startswith("There is an important piece of information hidden")
    needle = f"The pass key is {sample.target}."
    position = text.index(needle) / len(text)
    assert abs(position - depth) < 0.05
    assert tokenizer.decode(prompt.gold).strip() == sample.target
    prefix = tokenizer.decode(prompt.context[: prompt.protected])
    assert prefix.rstrip().endswith("important information there.")


def test_niah_asks_for_one_of_several_needles(tokenizer):
    task = NiahMultikey({"lengths": [1024], "depths": [0.3]})
    sample = task.samples("offline", None, 0)[0]
    text = tokenizer.decode(task.prompt(sample, tokenizer).context)
    assert text.count("One of the special magic numbers for") == 4
    asked = sample.inputs["question"].split("magic number for ")[1].split(" ")[0]
    assert f"special magic numbers for {asked} is: {sample.target}." in text


def test_unknown_split_and_bad_options_are_clear(tokenizer):
    with pytest.raises(HarnessError, match="has no split 'real'"):
        Passkey().samples("real", None, 0)
    with pytest.raises(HarnessError, match="bad task passkey option 'mode'"):
        Passkey({"mode": "sideways"})
    task = Passkey({"lengths": [40]})
    with pytest.raises(HarnessError, match="too short"):
        task.prompt(task.samples("offline", 1, 0)[0], tokenizer)


def test_long_ppl_perplexity_is_exp_of_mean_nll():
    task = LongPerplexity({"bucket": 50})
    rows = [task.score(None, {"nll_sum": 200.0, "tokens": 100, "bucket_nll": [1.5, 2.5]}),
            task.score(None, {"nll_sum": 300.0, "tokens": 100, "bucket_nll": [2.5, 3.5]})]
    assert rows[0] == {"nll": 2.0, "perplexity": pytest.approx(math.exp(2.0)), "nll_at_0": 1.5, "nll_at_50": 2.5}
    curve = task.breakdowns([], rows)["by_position"]
    assert curve == [{"position": 0, "n": 2, "nll": 2.0, "perplexity": pytest.approx(math.exp(2.0))},
                     {"position": 50, "n": 2, "nll": 3.0, "perplexity": pytest.approx(math.exp(3.0))}]
    metrics = task.aggregate(rows, [{}, {}])
    assert metrics["nll"].value == 2.5
    assert metrics["perplexity"].value == pytest.approx(math.exp(2.5))
    assert not metrics["perplexity"].higher_is_better
