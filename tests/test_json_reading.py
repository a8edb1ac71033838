"""Samples logs are read with orjson where it agrees with the standard library (store.parse_json): fuzzed against
json.loads on JSON it writes and on arbitrary text, including what orjson reads differently (NaN, huge integers, lone
surrogates). A samples page's compact cells hold the values the standard library writes, and its samples.js keeps a
lone surrogate as its escape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records.store import parse_json
from harness.site.build import samples_script
from harness.site.samples_page import COMPACT, compact
from harness.site.workers import Workers
from tests.test_site import read_samples_script

SCALARS = (st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True)
           | st.integers(min_value=-(2 ** 80), max_value=2 ** 80)
           | st.integers(min_value=2 ** 63 - 3, max_value=2 ** 64 + 3) | st.integers(min_value=-(2 ** 63) - 3, max_value=-(2 ** 63) + 3)
           | st.text())  # st.text() draws lone surrogates too
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
                      max_leaves=20)
NUMBERISH = st.text(alphabet="0123456789-+.eE[]{},:\" \\ud8NaIifty", max_size=60)


def read_both(text: str) -> tuple[str, str]:
    """What each reader makes of `text`: the value's repr (which tells 1 from 1.0 and True), or that it refused."""
    found = []
    for reader in (parse_json, json.loads):
        try:
            found.append(repr(reader(text)))
        except (ValueError, RecursionError):
            found.append("refused")
    return found[0], found[1]


@settings(max_examples=400, deadline=None)
@given(VALUES, st.sampled_from([None, 2]))
def test_parse_json_reads_what_json_writes_as_json_does(value, indent):
    ours, theirs = read_both(json.dumps(value, indent=indent))
    assert ours == theirs


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), NUMBERISH))
def test_parse_json_reads_any_text_as_json_does(text):
    ours, theirs = read_both(text)
    assert ours == theirs


@pytest.mark.parametrize("text", ["18446744073709551616", "[-9223372036854775809, 1]", '{"a": NaN}', '"\\ud800"',
                                  '{"x": 0.0074586649905347404, "n": 123456789012345678901}', "1e400"])
def test_parse_json_falls_back_where_orjson_differs(text):
    ours, theirs = read_both(text)
    assert ours == theirs != "refused"


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_compact_cells_write_the_values_the_standard_library_writes(value):
    assert repr(json.loads(compact(value))) == repr(json.loads(COMPACT.encode(value)))  # NaN stays NaN, not null


def test_samples_script_keeps_a_lone_surrogate_as_its_escape(tmp_path: Path):
    rows = [{"id": "a", "output": "broken \ud800 text", "score": 1.0}]
    (tmp_path / "samples.js").write_text(samples_script(rows))
    assert read_samples_script(tmp_path / "samples.js") == rows


def note_worker(folder: str) -> None:
    import os
    Path(folder, str(os.getpid())).touch()


def test_started_workers_warm_up_before_their_first_job(tmp_path: Path):
    with Workers(2) as workers:
        workers.start(note_worker, str(tmp_path))
        assert workers.map(abs, [-3, 2, -1, 5], 1) == [3, 2, 1, 5]  # the pool a start made serves the map
    assert len(list(tmp_path.iterdir())) == 2  # each of the two workers ran the warm-up
    with Workers(1) as single:
        single.start(note_worker, str(tmp_path / "never"))
        assert single.pool is None
