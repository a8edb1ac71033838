"""Reasoning-hallucination family: the logit lens and JSD against direct computations on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from tasks.hallucination.internals import jensen_shannon, token_signals
from tasks.hallucination.problems import build_problems, split_of


def test_jsd_matches_scipy():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(50), size=3), rng.dirichlet(np.ones(50), size=3)
    ours = jensen_shannon(torch.tensor(np.log(p)), torch.tensor(np.log(q))).numpy()
    np.testing.assert_allclose(ours, jensenshannon(p, q, axis=1) ** 2, rtol=1e-6)  # scipy returns the square root
    assert jensen_shannon(torch.tensor(np.log(p)), torch.tensor(np.log(p))).abs().max() < 1e-9


def test_reasoning_score_is_the_mean_jsd_of_the_late_layers_logit_lens(tiny_llm):
    model, tokenizer = tiny_llm.model, tiny_llm.tokenizer
    ids = tokenizer("Step 1: 3 + 4 = 7. Step 2: 7 x 2 = 14.", return_tensors="pt").input_ids
    captured = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, k=k: captured.__setitem__(k, o[0] if isinstance(o, tuple) else o))
             for k, layer in enumerate(model.model.layers)]
    try:
        signals = token_signals(model, ids, late_layers=2)
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        final = torch.softmax(model(ids).logits[0].float(), -1).numpy()
        n = len(model.model.layers)
        lens = [torch.softmax(model.lm_head(model.model.norm(captured[k][0] if captured[k].dim() == 3 else captured[k])).float(), -1).numpy()
                for k in (n - 3, n - 2)]  # outputs of the two layers before the last
    direct = np.mean([jensenshannon(final, q, axis=1) ** 2 for q in lens], axis=0)[:-1]
    np.testing.assert_allclose(signals.reasoning.numpy(), direct, rtol=1e-4, atol=1e-7)
    nll = -np.log(final[np.arange(ids.shape[1] - 1), ids[0, 1:].numpy()])
    np.testing.assert_allclose(signals.nll.numpy(), nll, rtol=1e-4)


def test_problems_have_twins_that_diverge_at_the_wrong_step_and_stay_wrong():
    problems = build_problems(100, 0, 0.3)
    assert {p.domain for p in problems} == {"arithmetic", "ordering", "two_hop"} and len(problems) == 300
    for p in problems:
        assert p.steps[:p.wrong_step] == p.corrupted_steps[:p.wrong_step]
        assert all(a != b for a, b in zip(p.steps[p.wrong_step:], p.corrupted_steps[p.wrong_step:]))
        assert p.steps[-1] != p.corrupted_steps[-1]  # the error reaches the answer
    assert build_problems(100, 0, 0.3)[7].question == problems[7].question
    splits = {split_of(p.id, 0.3, 0) for p in problems}
    assert splits == {"fit", "test"}


def test_auroc_matches_scikit_learn_and_hand_counts():
    from sklearn.metrics import roc_auc_score

    from tasks.hallucination.metrics import auroc

    labels, scores = [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    # pairs (positive, negative) ranked correctly: 0.35 beats 0.1 and 0.2 but not 0.4 -> 8 of 9
    assert auroc(labels, scores).value == pytest.approx(8 / 9) == roc_auc_score(labels, scores)
    result = auroc(labels, scores)
    assert result.ci95[0] <= result.value <= result.ci95[1] and result.n == 6
    assert auroc([1, 1], [0.2, 0.3]) is None  # one class only
