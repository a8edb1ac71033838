"""The `harness` command line: list, run, show, rescore, validate, verify, site, export, schema."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


def parse_kv(pairs: list[str], flag: str) -> dict[str, Any]:
    """KEY=VALUE pairs; values are read as JSON when they parse (numbers, booleans, lists), else as strings."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HarnessError(f"{flag} expects KEY=VALUE, got {pair!r}: for example {flag} budget=0.5")
        try:
            result[key] = json.loads(value)
        except ValueError:
            result[key] = value
    return result


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from harness.registry import METHODS, TASKS
    from harness.report import console

    for kind, registry in (("tasks", TASKS), ("methods", METHODS)):
        if args.what not in (None, kind):
            continue
        table = Table(title=kind)
        for col in ("name", "family", "summary", "origin"):
            table.add_column(col)
        for name in registry.names():
            entry = registry.entry(name)
            table.add_row(name, entry.family, entry.summary, entry.origin)
        console.print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from harness.cell import CellSpec
    from harness.models import check_model_available
    from harness.registry import TASKS
    from harness.report import console, summary_table
    from harness.runner import options_per_task, plan_tasks, refused_tasks, run
    from harness.store import load_record

    if args.limit is not None and args.limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {args.limit}")
    if args.repeats < 1 or args.warmups < 0:
        raise HarnessError("--repeats must be at least 1 and --warmups at least 0")
    tasks = plan_tasks(args.method, args.task)
    if not args.task:
        for name, reason in refused_tasks(args.method):
            console.print(f"skipping task {name}: {reason}")
    if any(TASKS.get(t).spec.uses_model for t in tasks):
        check_model_available(args.model)
    method_params = parse_kv(args.method_arg, "--method-arg")
    task_options = options_per_task(tasks, parse_kv(args.task_arg, "--task-arg"))
    specs = [
        CellSpec(task=t, task_options=options, method=args.method, method_params=method_params, model=args.model,
                 dtype=args.dtype, split=args.split, limit=args.limit, seed=args.seed, device=args.device,
                 warmups=args.warmups, repeats=args.repeats, out=str(args.out), resume=args.resume,
                 command=_reproduce_command(args, t, options))
        for t in tasks for options in TASKS.get(t).expand(task_options[t])
    ]
    outcomes = run(specs)
    records = [(load_record(o.record), o.record) for o in outcomes if o.record]
    console.print(summary_table(records))
    for record, path in records:
        console.print(f"  {record.task.name}: {path}")
    console.print(f"\nLook at a run with `harness show RUN_ID_OR_PATH`; check records with `harness validate {args.out}`; "
                  f"build the leaderboard with `harness site --results {args.out}` and open site/index.html.")
    failed = [o for o in outcomes if o.status in ("failed", "oom")]
    return 1 if failed else 0


def _reproduce_command(args: argparse.Namespace, task: str, task_options: dict[str, Any]) -> str:
    parts = ["harness", "run", "--method", args.method, "--task", task, "--split", args.split, "--seed", str(args.seed)]
    if args.model:
        parts += ["--model", args.model]
    if args.limit is not None:
        parts += ["--limit", str(args.limit)]
    for value in args.method_arg:
        parts += ["--method-arg", value]
    for key, value in task_options.items():
        parts += ["--task-arg", f"{key}={json.dumps(value, separators=(',', ':')) if not isinstance(value, str) else value}"]
    return shlex.join(parts)


def cmd_show(args: argparse.Namespace) -> int:
    from harness.report import console, record_detail, summary_table
    from harness.store import find_run, load_record, record_paths

    if args.run:
        path = find_run(args.results, args.run)
        console.print(record_detail(load_record(path), path))
        return 0
    records, bad = [], []
    for path in record_paths(args.results):
        try:
            records.append((load_record(path), path))
        except HarnessError as exc:
            bad.append(str(exc))
    console.print(summary_table(records))
    for (record, path) in records:
        console.print(f"  {record.run_id}  {path}")
    for line in bad:
        print(f"error: {line}", file=sys.stderr)
    return 1 if bad else 0


def cmd_rescore(args: argparse.Namespace) -> int:
    from harness.integrity import rescore
    from harness.report import console, record_detail
    from harness.store import find_run

    path = find_run(args.results, args.run)
    console.print(record_detail(rescore(path), path))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.integrity import check_record
    from harness.store import record_paths

    seen: dict[str, Path] = {}
    count, problems = 0, []
    for root in args.paths:
        for path in record_paths(Path(root)):
            count += 1
            problems += check_record(path, seen)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    print(f"{count} record(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_verify(args: argparse.Namespace) -> int:
    from rich.table import Table

    from harness.report import console
    from harness.verify import verify

    result = verify(args.record, args.limit, args.device, args.atol, args.rtol)
    recorded_on = result.record.environment.get("hardware_key", "unknown")
    table = Table(title=f"verify {result.record.run_id}: {result.record.method.name} on {result.record.task.name}, "
                        f"first {result.n_samples} offline sample(s)")
    for col in ("metric", "recorded", "re-run", "difference", "agrees"):
        table.add_column(col)
    for check in result.checks:
        table.add_row(check.name, f"{check.recorded:.6g}", f"{check.rerun:.6g}", f"{check.rerun - check.recorded:+.3g}",
                      "yes" if check.agrees else "NO")
    console.print(table)
    console.print(f"identical per-sample scores: {result.identical_scores}/{result.n_samples}; recorded on {recorded_on}, re-run on "
                  f"{result.rerun_hardware}; tolerance abs {args.atol} + rel {args.rtol}; latency and memory are not compared")
    if not result.agrees:
        print(f"error: {result.record.run_id} does not reproduce: metrics differ beyond the tolerance", file=sys.stderr)
        return 1
    console.print("reproduces: every metric agrees within the tolerance")
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    from harness.report import console
    from harness.site import build_site

    count = build_site(args.results, args.out)
    console.print(f"built {args.out}/ from {count} record(s): open {args.out / 'index.html'} in a browser "
                  f"(or serve it: python -m http.server -d {args.out})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from harness.perf import export_pyperf
    from harness.report import console
    from harness.store import find_run, load_record

    path = find_run(args.results, args.run)
    names = export_pyperf(load_record(path), args.pyperf)
    console.print(f"wrote {len(names)} latency series ({', '.join(names)}) to {args.pyperf}: read it with "
                  f"`python -m pyperf stats {args.pyperf}`, compare two runs with `python -m pyperf compare_to A.json B.json`")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from harness.record import ResultRecord

    text = json.dumps(ResultRecord.model_json_schema(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description="Does this method keep accuracy while cutting memory and latency, on my hardware?")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered tasks and methods")
    p.add_argument("what", nargs="?", choices=["tasks", "methods"])
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="run a method on every task it can run (or the tasks named)")
    p.add_argument("--method", required=True)
    p.add_argument("--task", action="append", help="a task name (repeatable); default: every task the method can run")
    p.add_argument("--model", help="Hugging Face id (from the local cache) or local folder; default: embedded SmolLM2-135M-Instruct")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], help="default: float32 on CPU, bfloat16 on CUDA")
    p.add_argument("--split", default="offline")
    p.add_argument("--limit", type=int, help="evaluate only the first N samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", type=Path, default=Path("results"))
    p.add_argument("--resume", action="store_true", help="continue the last unfinished run of the same configuration")
    p.add_argument("--warmups", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--method-arg", action="append", default=[], metavar="KEY=VALUE", help="method hyperparameter, e.g. budget=0.25")
    p.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE", help="task option, e.g. mode=stream")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("show", help="summarise all records, or one run in detail")
    p.add_argument("run", nargs="?", help="run id or record path")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("rescore", help="re-score a run's saved outputs without rerunning it")
    p.add_argument("run")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.set_defaults(func=cmd_rescore)

    p = sub.add_parser("validate", help="check records: schema, samples file sha256, metrics re-aggregated, unique run ids")
    p.add_argument("paths", nargs="+")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("verify", help="re-run a record's cell on the first N offline samples and compare the metrics")
    p.add_argument("record", type=Path, help="a result record (.json)")
    p.add_argument("--limit", type=int, default=5, help="how many samples to re-run (default 5)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--atol", type=float, default=0.01, help="absolute tolerance per metric (default 0.01)")
    p.add_argument("--rtol", type=float, default=0.01, help="relative tolerance per metric (default 0.01)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("site", help="build the static leaderboard site from the records")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--out", type=Path, default=Path("site"))
    p.set_defaults(func=cmd_site)

    p = sub.add_parser("export", help="write a run's latency series as pyperf JSON")
    p.add_argument("run", help="run id or record path")
    p.add_argument("--pyperf", type=Path, required=True, metavar="FILE", help="pyperf JSON file to write")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("schema", help="print (or write) the result record's JSON Schema")
    p.add_argument("--out")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; finished records are kept, rerun with --resume to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
