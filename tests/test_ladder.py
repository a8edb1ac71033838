"""LaCache's ladder schedule against the reference code's behaviour."""

import pytest

from baselines.lacache import Ladder, ladder_positions
from harness.errors import HarnessError


def test_reference_check_4_layers_budget_16():
    held = ladder_positions(4, 16, 2, 2, 0, 40)
    assert held[0] == [0, 1, 2, 10, 18, 24, 28, 30, *range(32, 40)]
    assert held[1] == [0, 1, 9, 17, 23, 27, 29, 31, *range(32, 40)]
    # span 2 on 4 layers: the ladder pattern repeats every other layer
    assert held[2] == held[0] and held[3] == held[1]


@pytest.mark.parametrize("layers,cache,start,span,overlap,total", [(30, 256, 64, 16, 0, 1500), (8, 64, 8, 3, 1, 700), (12, 100, 10, 4, 2, 2000)])
def test_layers_keep_equal_counts_within_budget(layers, cache, start, span, overlap, total):
    held = ladder_positions(layers, cache, start, span, overlap, total)
    lengths = {len(h) for h in held}
    assert len(lengths) == 1
    ladder = Ladder(layers, cache, start, span, overlap)
    assert lengths.pop() <= ladder.cache_size
    for h in held:
        assert h[:start] == list(range(start))  # the start tokens are never evicted
        assert h[-1] == total - 1  # the newest token is always held
        assert h == sorted(set(h))


def test_layers_differ_in_what_old_tokens_they_keep():
    held = ladder_positions(30, 256, 64, 16, 0, 1500)
    assert held[0] != held[1]


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(num_layers=4, cache_size=16, start_size=2, span=2, overlap=2), "span > overlap"),
    (dict(num_layers=4, cache_size=16, start_size=2, span=4, overlap=0), "frees no slot"),
    (dict(num_layers=30, cache_size=80, start_size=64, span=16, overlap=0), "leaves no ladder room"),
])
def test_reference_division_by_zero_configs_are_clear_errors(kwargs, fragment):
    with pytest.raises(HarnessError, match=fragment):
        Ladder(**kwargs)
