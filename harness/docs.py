"""The parts of the docs that are generated, so that they cannot drift from the code: the CLI reference (from the
parser), the catalogue of tasks and methods (from the registry and the specs) and each task's results tables (from
the records that pass `harness validate`). A docs page asks for one with a marker line, `<!-- harness:cli -->`,
`<!-- harness:catalogue -->`, `<!-- harness:results TASK -->` or `<!-- harness:claims FAMILY -->`;
`site/docs_hooks.py` (mkdocs) replaces it."""

from __future__ import annotations

import argparse
import html
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from harness.cli import build_parser
from harness.contracts.registry import METHODS, TASKS
from harness.errors import HarnessError
from harness.records.terminal import human_bytes, human_seconds, rate_unit
from harness.site.board_table import current_complete, records_frame, vetted
from harness.site.paired_ranks import with_ranks
from harness.site.versus_reference import latency_keys

MARKER = re.compile(r"^<!-- harness:(cli|catalogue|results|claims) ?([A-Za-z0-9_]*) -->$", re.MULTILINE)
OTHER_METRICS = 3  # besides the main metric, the first metrics of the spec a results table shows


def code(text: object) -> Markup:
    """Text as a Markdown code span (one the table keeps as it is)."""
    return Markup("`" + html.escape(str(text), quote=False).replace("`", "'") + "`")


def cell(text: object) -> str:
    """Text as one Markdown table cell, on one line with its pipes escaped: HTML-escaped unless it is markup made
    here (a record's fields are a contributor's text, and Markdown passes HTML through)."""
    shown = str(text) if isinstance(text, Markup) else html.escape(str(text), quote=False).replace("`", "&#96;")
    return shown.replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows])


def throughput(value: float | None, unit: str) -> str:
    """`182,482 images/s`, `12.4 streamed tokens/s`."""
    if value is None or pd.isna(value):
        return "-"
    number = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{number} {rate_unit(unit)}"


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """Every subcommand's usage and options, as `harness COMMAND --help` prints them."""
    parser = parser or build_parser()
    sections = []
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        sub.prog = f"harness {name}"
        sections.append(f"## harness {name}\n\n```text\n{sub.format_help().rstrip()}\n```")
    return "\n\n".join(sections)


def catalogue() -> str:
    """The registered tasks (what each is, its splits, metrics and reference) and methods (family, summary)."""
    task_rows = []
    for name in TASKS.names():
        entry, spec, display = TASKS.entry(name), TASKS.get(name).spec, TASKS.get(name).display
        reference = f"{display.reference.method} ({display.reference.kind})" if display.reference else "-"
        task_rows.append([code(name), spec.family, spec.version, entry.summary, code(spec.main_metric),
                          ", ".join(s.name for s in spec.splits), code(spec.requires), reference])
    method_rows = []
    for name in METHODS.names():
        entry, method = METHODS.entry(name), METHODS.get(name)
        method_rows.append([code(name), entry.family or method.family, entry.summary or method.description, entry.origin])
    return ("## Tasks\n\n" + table(["task", "family", "version", "what it measures", "main metric", "splits",
                                    "methods it runs", "reference"], task_rows)
            + "\n\n## Methods\n\n" + table(["method", "family", "what it is", "from"], method_rows))


@lru_cache(maxsize=4)
def current_records(results: str, receipt: str | None) -> tuple[pd.DataFrame, dict]:
    """Every record under `results` that passes validation, one row each with its board and rank, and the records
    by run id."""
    found = vetted(Path(results), Path(receipt) if receipt else None)
    by_run = {item.record.run_id: item for item in found.items}
    return (with_ranks(records_frame(found.items), by_run) if found.items else pd.DataFrame()), by_run


def claims_table(family: str, frame: pd.DataFrame, by_run: dict) -> str:
    """The family's paper claims with their verdicts on the records (as the site's claims page shows them)."""
    from harness.contracts.claims import claim_files, read_claims
    from harness.site.claims import claim_verdicts

    papers = [paper for paper in map(read_claims, claim_files()) if paper.family == family]
    if not papers:
        raise HarnessError(f"the docs ask for the claims of family {family!r}, which has no claims.json: fix the marker")
    rows = []
    for v in claim_verdicts(papers, frame, by_run):
        if v.estimate is None:
            interval = "-"
        else:
            low_high = f" [{v.low:.3g}, {v.high:.3g}]" if v.low is not None else ""
            interval = f"{v.estimate:.3g}{low_high}" + (f" against {v.threshold:g}" if v.threshold is not None else "")
        rows.append([v.claim.claim, v.claim.where, v.comparison or "-", Markup(f"**{v.verdict}**") + (f": {v.note}" if v.note else ""),
                     interval, v.scale or "-"])
    return (f"[{cell(papers[0].paper)}]({papers[0].url}); verdicts computed from the committed records when the docs are built.\n\n"
            + table(["claim", "where", "test here", "verdict", "interval", "scale here"], rows))


def results_tables(task: str, frame: pd.DataFrame) -> str:
    """One table per board of `task`: its current complete runs by rank, the main metric with its 95% interval, the
    first other metrics, the reference's latency (median), peak memory and throughput."""
    if task not in TASKS.names():
        raise HarnessError(f"the docs ask for results of {task!r}, which is not a registered task: fix the marker")
    rows = frame[(frame["task"] == task) & current_complete(frame)] if len(frame) else frame
    if not len(rows):
        return f"No committed results for `{task}` yet."
    spec, display = TASKS.get(task).spec, TASKS.get(task).display
    others = [m.name for m in spec.metrics if m.name != spec.main_metric][:OTHER_METRICS]
    out = []
    for board, group in rows.groupby("board", sort=False):
        first = group.iloc[0]
        keys = latency_keys(group, display.reference.latency if display.reference else None)
        scope = keys[0][0].removeprefix("latency:") if keys else None
        header = ["rank", "method", f"{spec.main_metric} [95% CI]", *others,
                  *([f"{scope} (median)"] if scope else []), "peak memory", "throughput"]
        body = []
        for _, r in group.iterrows():
            interval = f" [{r['ci_low']:.3g}, {r['ci_high']:.3g}]" if pd.notna(r["ci_low"]) else ""
            body.append([r["rank"] if pd.notna(r["rank"]) else "-", code(r["method"]), f"{r['value']:.3g}{interval}",
                         *(f"{r[f'metric:{m}']:.3g}" if pd.notna(r.get(f"metric:{m}")) else "-" for m in others),
                         *([human_seconds(r[f"latency:{scope}"]) if pd.notna(r[f"latency:{scope}"]) else "-"] if scope else []),
                         human_bytes(r["peak_memory_bytes"]) if pd.notna(r["peak_memory_bytes"]) else "-",
                         throughput(r["throughput"], r["throughput_unit"])])
        setting = cell(f"model {first['model']}, {first['split']} split, seed {first['seed']}, on {first['hardware']}")
        out.append(f"Board `{board}` ({setting}):\n\n" + table(header, body))
    return "\n\n".join(out)


def render(markdown: str, results: Path, receipt: Path | None = None) -> str:
    """`markdown` with every marker line replaced by what it asks for."""
    def replace(match: re.Match) -> str:
        kind, argument = match.group(1), match.group(2)
        if kind == "cli":
            return cli_reference()
        if kind == "catalogue":
            return catalogue()
        frame, by_run = current_records(str(results), str(receipt) if receipt else None)
        return claims_table(argument, frame, by_run) if kind == "claims" else results_tables(argument, frame)
    return MARKER.sub(replace, markdown)
