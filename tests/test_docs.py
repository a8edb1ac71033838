"""The docs stay true: `mkdocs build --strict` passes with its generated pages (catalogue, CLI reference, results
tables) filled from the code and the committed records; every `harness` command a page shows parses, with flags
the parser has and tasks and methods the registry has; no page names a path of one machine."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.contracts.registry import METHODS, TASKS
from harness.docs import render
from harness.errors import HarnessError
from tests.conftest import ROOT, harness_cli

PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "DESIGN-NOTES.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"```(?:bash|sh)?\n(.*?)```", re.DOTALL)
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|tmp|root|home|Users)/")


def shown_commands() -> list[tuple[Path, str]]:
    """Every `harness ...` line of a fenced block of a page (comments and a leading `.venv/bin/` dropped)."""
    found = []
    for page in PAGES:
        for block in FENCE.findall(page.read_text()):
            for line in block.splitlines():
                line = line.strip().removeprefix("$ ")
                for part in line.split("&&"):
                    part = part.strip().removeprefix(".venv/bin/")
                    if part.startswith("harness "):
                        found.append((page, part.split(" #")[0].strip()))
    return found


def test_every_command_a_page_shows_parses_with_real_names():
    commands = shown_commands()
    assert len(commands) >= 30
    for page, command in commands:
        argv = shlex.split(command)[1:]
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"{page.name}: `{command}` does not parse")
        for flag, registry in (("method", METHODS), ("task", TASKS)):
            for value in getattr(args, flag, None) or []:
                for name in value.split(","):
                    assert name in registry.names(), f"{page.name}: `{command}` names no registered {flag} {name!r}"


def test_the_cheap_commands_the_docs_show_run(tmp_path):
    for argv in (["list"], ["schema"]):
        proc = harness_cli(*argv)
        assert proc.returncode == 0 and proc.stdout, proc.stderr
    assert "depth_planes" in harness_cli("list").stdout


def test_no_page_names_a_path_of_one_machine():
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            assert not MACHINE_PATH.search(line), f"{page.relative_to(ROOT)}:{number}: {line.strip()}"


def test_markers_are_filled_or_refused_in_one_line(tmp_path):
    empty = tmp_path / "results"
    empty.mkdir()
    filled = render("<!-- harness:catalogue -->\n\n<!-- harness:results depth -->\n\n<!-- harness:cli -->", empty)
    assert all(f"`{name}`" in filled for name in TASKS.names() + METHODS.names())
    assert "No committed results for `depth` yet." in filled
    assert all(f"## harness {command}" in filled for command in ("run", "validate", "verify", "site", "merge"))
    with pytest.raises(HarnessError, match="not a registered task"):
        render("<!-- harness:results no_such_task -->", empty)
    claims = render("<!-- harness:claims long_context -->", empty)
    assert "LaCache" in claims and claims.count("**untested**: no board holds these runs yet") == 5
    with pytest.raises(HarnessError, match="has no claims.json"):
        render("<!-- harness:claims no_such_family -->", empty)


def test_a_records_text_reaches_a_page_as_text(tmp_path):
    """Markdown passes HTML through: a contributor's model id must arrive escaped, in the board line and the cells."""
    from tests.synthetic import write_passkey_record

    results = tmp_path / "results"
    write_passkey_record(results, "full", 0.9, 1000, 1.0, run_index=1, model="<script>alert(1)</script>|x`")
    filled = render("<!-- harness:results passkey -->", results)
    assert "<script>" not in filled and "&lt;script&gt;alert(1)&lt;/script&gt;\\|x&#96;" in filled
    assert "| 1 | `full` |" in filled


def test_the_docs_build_strict_with_tables_from_the_records(tmp_path):
    out = tmp_path / "docs"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([str(Path(sys.executable).with_name("mkdocs")), "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    depth = (out / "families" / "depth" / "index.html").read_text()
    assert "<td><code>unet_depth</code></td>" in depth and "harness:results" not in depth
    catalogue = (out / "catalogue" / "index.html").read_text()
    assert all(f"<code>{name}</code>" in catalogue for name in TASKS.names())
    for html in out.rglob("*.html"):
        assert not MACHINE_PATH.search(html.read_text()), html
