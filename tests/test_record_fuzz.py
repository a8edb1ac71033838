"""Property tests as a hostile contributor would write records: any field of a record, or of a row of its samples log,
replaced by any value (wrong types, huge or non-finite numbers, markup, escapes, deep nesting). `validate`, `site`,
`show`, `rescore` and `merge` never raise (one line or a listed rejection at most), and a change that makes a record
disagree with its samples is always refused."""

from __future__ import annotations

import gzip
import io
import json
import math
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.records.store import load_record, read_log_bytes, safe_name, samples_path, samples_sha256
from tests.synthetic import write_passkey_record

DEEP = "__deep__"  # stands for a value nested far deeper than any parser's recursion limit
HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["[bold red]x[/]", "\x1b[2J", "../../etc/passwd", "/dev/zero", "<script>alert(1)</script>",
                     "=HYPERLINK(\"http://x\")", "\ud800", DEEP, 10 ** 400]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


def leaves(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON document (the containers' own paths included)."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += leaves(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += leaves(item, path + (i,))
    return found


def replaced(body: Any, path: tuple, value: Any) -> Any:
    """A deep copy of `body` with the value at `path` replaced."""
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def dumped(body: Any) -> str:
    """JSON as a forger would write it (NaN and Infinity as Python writes them), DEEP as 5,000 nested lists."""
    return json.dumps(body).replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000)


def run(*argv: str) -> tuple[int, str, str]:
    """The CLI in this process: an exception other than the CLI's own one-line errors fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("honest") / "results"
    write_passkey_record(out, "full", 0.9, 100_000_000, 2.0, run_index=1)
    write_passkey_record(out, "snapkv", 0.6, 50_000_000, 1.5, run_index=2)
    return out


def forged_tree(honest: Path, where: Path) -> tuple[Path, Path]:
    tree = where / "results"
    shutil.copytree(honest, tree)
    [path] = tree.glob("passkey/snapkv/*/*/*.json")
    return tree, path


def checked_everywhere(tree: Path, path: Path, where: Path) -> bool:
    """validate, site, show, rescore and merge on the tree, none raising; whether validate passed the forged record."""
    code, out, err = run("validate", str(tree))
    assert code in (0, 1) and "2 record(s) checked" in out, err
    passed = code == 0 or path.name not in err
    code, _, err = run("site", "--results", str(tree), "--out", str(where / "site"), "--jobs", "1")
    assert code == 0, err  # the honest record beside it always builds
    assert (where / "site" / "runs" / f"{safe_name(path.stem)}.html").exists() == passed  # the site takes what validate does
    for argv in (("show", "--results", str(tree)), ("show", path.stem, "--results", str(tree)),
                 ("rescore", str(path), "--results", str(tree)), ("merge", str(tree), "--into", str(where / "merged"))):
        code, _, err = run(*argv)
        assert code in (0, 1, 2), err
    return passed


def must_refuse(path: tuple, old: Any, new: Any) -> bool:
    """A replacement that makes the record disagree with its samples: a metric's value changed to another number,
    another samples sha256, another run id."""
    if path[0] == "metrics" and path[-1] == "value":
        return (isinstance(new, (int, float)) and not isinstance(new, bool) and abs(new) < 1e300
                and not math.isclose(new, old, rel_tol=1e-6, abs_tol=1e-9))
    return path in (("artifacts", "sha256"), ("run_id",)) and new != old


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_record_field_replaced_never_crashes_a_command_and_a_disagreement_is_refused(honest, data):
    body = json.loads(next(honest.glob("passkey/snapkv/*/*/*.json")).read_text())
    path = data.draw(st.sampled_from(leaves(body)), label="field")
    value = data.draw(HOSTILE, label="value")
    with tempfile.TemporaryDirectory() as tmp:
        tree, record = forged_tree(honest, Path(tmp))
        old = json.loads(record.read_text())
        for key in path:
            old = old[key]
        record.write_text(dumped(replaced(body, path, value)))
        passed = checked_everywhere(tree, record, Path(tmp))
        assert not (passed and must_refuse(path, old, value)), (path, value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_samples_field_replaced_never_crashes_a_command_and_a_disagreement_is_refused(honest, data):
    with tempfile.TemporaryDirectory() as tmp:
        tree, record = forged_tree(honest, Path(tmp))
        log = samples_path(load_record(record), record)
        rows = [json.loads(line) for line in read_log_bytes(log).decode().splitlines()]
        row = data.draw(st.integers(0, len(rows) - 1), label="row")
        path = data.draw(st.sampled_from(leaves(rows[row])), label="field")
        value = data.draw(HOSTILE, label="value")
        old = rows[row]
        for key in path:
            old = old[key]
        rows[row] = replaced(rows[row], path, value)
        text = "".join(dumped(r) + "\n" for r in rows)
        log.write_bytes(gzip.compress(text.encode(), mtime=0) if log.name.endswith(".gz") else text.encode())
        repinned = data.draw(st.booleans(), label="record re-pinned to the new log")
        if repinned:  # the forger also updates the sha256 the record pins, so the checks read the rows
            body = json.loads(record.read_text())
            try:
                body["artifacts"]["sha256"] = samples_sha256(log)
            except Exception:  # noqa: BLE001 - a log harness cannot read stays pinned to the old sha256
                pass
            record.write_text(json.dumps(body))
        passed = checked_everywhere(tree, record, Path(tmp))
        changed = json.dumps(old, sort_keys=True) != json.dumps(value, sort_keys=True)
        score_changed = (path[0] == "scores" and len(path) == 2 and changed and isinstance(value, (int, float))
                         and not isinstance(value, bool)
                         and not (isinstance(old, float) and abs(value) < 1e300 and math.isclose(value, old)))
        if changed and (not repinned or score_changed or path == ("id",)):
            assert not passed, (row, path, value, repinned)

