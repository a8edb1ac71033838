"""The `harness` command line: list, run, merge, compact, show, rescore, validate, verify, site, export, schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.records.terminal import literal

if TYPE_CHECKING:
    from harness.running.verify import Verification


def parse_kv(pairs: list[str], flag: str) -> dict[str, Any]:
    """KEY=VALUE pairs; values are read as JSON when they parse (numbers, booleans, lists), else as strings."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HarnessError(f"{flag} expects KEY=VALUE, got {pair!r}: for example {flag} budget=0.5")
        if key in result:
            raise HarnessError(f"{flag} {key} is given twice: give each key once (for several values: --sweep {key}=V1,V2)")
        try:
            result[key] = json.loads(value)
        except ValueError:
            result[key] = value
    return result


def parse_sweeps(pairs: list[str]) -> dict[str, list[Any]]:
    """--sweep KEY=V1,V2,...: each key's values in order, read as one JSON list when they parse ([256],[512] are two
    lists), else as comma-separated strings."""
    found: dict[str, list[Any]] = {}
    for pair in pairs:
        key, sep, values = pair.partition("=")
        if not sep or not key or not values:
            raise HarnessError(f"--sweep expects KEY=V1,V2, got {pair!r}: for example --sweep budget=0.25,0.5,0.75")
        if key in found:
            raise HarnessError(f"--sweep {key} is given twice: list all its values once, e.g. --sweep {key}=V1,V2")
        try:
            parsed = json.loads(f"[{values}]")
        except ValueError:
            parsed = [v.strip() for v in values.split(",")]
        if len({json.dumps(v, sort_keys=True) for v in parsed}) != len(parsed):
            raise HarnessError(f"--sweep {key} repeats a value: give each value once")
        found[key] = parsed
    return found


def described(registry: Any, name: str) -> tuple[str, str]:
    """A registered class's family and one-line summary, from the class itself (a task's spec, a method's fields)."""
    try:
        cls = registry.get(name)
    except HarnessError as exc:
        return "?", f"does not load: {exc}"
    spec = getattr(cls, "spec", None)
    family = spec.family if spec is not None else getattr(cls, "family", "")
    text = spec.description if spec is not None else getattr(cls, "description", "")
    return family, text.split(". ")[0].rstrip(".")


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from harness.contracts.registry import METHODS, TASKS
    from harness.records.terminal import console

    for kind, registry in (("tasks", TASKS), ("methods", METHODS)):
        if args.what not in (None, kind):
            continue
        table = Table(title=kind)
        for col in ("name", "family", "summary", "origin"):
            table.add_column(col)
        for name in registry.names():
            entry = registry.entry(name)
            family, summary = entry.family, entry.summary
            if not (family and summary):  # a plugin's entry point names only its class: ask the class
                family, summary = described(registry, name)
            table.add_row(name, family, summary, entry.origin)
        console.print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from harness.contracts.causal_lm import check_model_available
    from harness.contracts.registry import TASKS
    from harness.records.store import ensure_dir, load_record
    from harness.records.terminal import console, summary_table
    from harness.running.executors import EXECUTORS, RayOptions
    from harness.running.grid import Shard, plan_grid, reference_first, split_list
    from harness.running.runner import normalised, run

    if args.limit is not None and args.limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {args.limit}")
    if args.repeats < 1 or args.warmups < 0:
        raise HarnessError("--repeats must be at least 1 and --warmups at least 0")
    if args.executor not in EXECUTORS:
        raise HarnessError(f"unknown executor {args.executor!r}: use --executor local (this machine) or ray")
    if args.executor == "local" and (args.address or args.cpus_per_cell is not None or args.gpus_per_cell is not None):
        raise HarnessError("--address, --cpus-per-cell and --gpus-per-cell are Ray options: add --executor ray")
    if args.executor == "ray" and args.resume:
        raise HarnessError("--resume continues a cell's samples on this machine: drop --executor ray (a Ray grid "
                           "already skips its complete cells)")
    shard = Shard.parse(args.shard) if args.shard else None
    methods, models = split_list(args.method), split_list(args.model)
    common = dict(dtype=args.dtype, split=args.split, limit=args.limit, seed=args.seed, device=args.device,
                  warmups=args.warmups, repeats=args.repeats, out=str(args.out), resume=args.resume)
    sweeps = parse_sweeps(args.sweep)
    specs, notes = plan_grid(methods, split_list(args.task), models, parse_kv(args.method_arg, "--method-arg"),
                             parse_kv(args.task_arg, "--task-arg"), common, sweeps)
    for line in notes:
        console.print(line)
    if any(TASKS.get(s.task).spec.uses_model for s in specs):
        for model in models or [None]:
            check_model_available(model)
    specs = reference_first([normalised(s) for s in specs])
    if shard:
        total = len(specs)
        specs = [s for s in specs if shard.holds(s)]
        console.print(f"shard {shard.index}/{shard.count}: {len(specs)} of the grid's {total} cells")
        if not specs:
            ensure_dir(args.out)  # an empty shard is still a results folder, for `harness merge`
            return 0
    grid = len(methods) > 1 or len(models) > 1 or bool(sweeps) or shard is not None or args.executor == "ray"
    ray_options = RayOptions(address=args.address, cpus_per_cell=args.cpus_per_cell or 1.0,
                             gpus_per_cell=args.gpus_per_cell or 0.0)
    outcomes = run(specs, skip_complete=grid and not args.rerun, executor=args.executor, ray_options=ray_options)
    records = [(load_record(o.record), o.record) for o in outcomes if o.record]
    console.print(summary_table(records))
    for record, path in records:
        console.print(f"  {record.task.name}: {path}")
    console.print(f"\nLook at a run with `harness show RUN_ID_OR_PATH`; check records with `harness validate {args.out}`; "
                  f"build the leaderboard with `harness site --results {args.out} --serve`.")
    failed = [o for o in outcomes if o.status in ("failed", "oom")]
    return 1 if failed else 0


def cmd_merge(args: argparse.Namespace) -> int:
    from harness.records.merge import merge
    from harness.records.terminal import console

    report = merge(args.folders, args.into)
    console.print(f"merged {len(args.folders)} folder(s) into {args.into}: {report.records} record(s), "
                  f"{report.copied} file(s) copied, {report.identical} already there and identical")
    for path in report.skipped:
        print(f"warning: not copied (neither a record nor its samples log): {literal(path)}", file=sys.stderr)
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from harness.records.compact import compact

    report = compact(args.results)
    for line in report.problems:
        print(f"error: {literal(line)}", file=sys.stderr)
    print(f"{report.compressed} samples log(s) compressed, {report.already} already compressed, "
          f"{len(report.problems)} left as they were")
    return 1 if report.problems else 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness.records.store import find_run, load_record, record_paths
    from harness.records.terminal import console, record_detail, summary_table

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
        print(f"error: {literal(line)}", file=sys.stderr)
    return 1 if bad else 0


def cmd_rescore(args: argparse.Namespace) -> int:
    from harness.checks.integrity import rescore
    from harness.records.store import find_run, within_tree
    from harness.records.terminal import console, record_detail

    path = find_run(args.results, args.run)
    if args.write:  # a record in the results tree is rewritten only where it lies (no symlink on the way out of it)
        root = args.results if path.absolute().is_relative_to(args.results.absolute()) else path.parent
        within_tree(root, path, "rescore --write writes only inside the results tree: replace the link with the files")
    record, differences = rescore(path, args.write)
    console.print(record_detail(record, path))
    if not differences:
        console.print("the re-scored figures equal the record's")
        return 0
    for line in differences:
        print(f"{'rewritten' if args.write else 'error'}: {literal(line)}", file=sys.stderr)
    if args.write:
        console.print(f"rewrote {path} and its samples file with the re-scored figures")
        return 0
    print(f"error: the re-scored figures differ from {path}: rerun with --write to rewrite it (or rerun the cell)", file=sys.stderr)
    return 1


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.checks.git_changes import changed_files, touched
    from harness.checks.integrity import check_paths
    from harness.checks.validation_receipt import write_receipt
    from harness.contracts.claims import claim_problems
    from harness.records.store import record_paths

    if args.jobs is not None and args.jobs < 1:
        raise HarnessError(f"--jobs must be at least 1, got {args.jobs}")
    paths = [path for root in args.paths for path in record_paths(Path(root))]
    changed = None if args.changed_since is None else changed_files(args.changed_since, [Path(p) for p in args.paths])

    def deep(path: Path) -> bool:  # a record the change adds or modifies, or whose samples it touches
        return changed is None or touched(path, changed)

    problems = stale = 0
    reports = check_paths(paths, deep, args.jobs)
    for path, report in zip(paths, reports):
        for line in report.warnings:
            print(f"warning: {literal(line)}", file=sys.stderr)
        if report.plugin:
            print(f"plugin: {literal(str(path))}: method from {literal(report.plugin)}")
        if report.stale and changed is not None and deep(path):  # a change may not bring a stale record
            report.problems.append(f"{path}: made by other code than is installed ({'; '.join(report.stale)}): "
                                   "rerun it with the installed code")
        elif report.stale:
            stale += 1
            print(f"stale: {literal(str(path))}: {literal('; '.join(report.stale))} (kept, never ranked)", file=sys.stderr)
        for line in report.problems:
            print(f"error: {literal(line)}", file=sys.stderr)
        problems += len(report.problems)
    for line in claim_problems():  # the papers' claims name boards, metrics and methods that must exist
        print(f"error: {literal(line)}", file=sys.stderr)
        problems += 1
    scope = "" if changed is None else f" ({sum(map(deep, paths))} changed since {args.changed_since} re-scored against their split)"
    if args.receipt is not None:
        write_receipt(args.receipt, [path for path, report in zip(paths, reports) if report.ok])
        scope += f"; receipt of those that passed in {args.receipt} (for `harness site --validated {args.receipt}`)"
    scope += f", {stale} stale (never ranked)" if stale else ""
    print(f"{len(paths)} record(s) checked{scope}, {problems} problem(s)")
    return 1 if problems else 0


def print_verification(result: "Verification", args: argparse.Namespace) -> None:
    from rich.table import Table

    from harness.records.terminal import console
    from harness.running.verify import SCORE_TOLERANCE

    recorded_on = result.record.environment.get("hardware_key", "unknown")
    table = Table(title=f"verify {result.record.run_id}: {result.record.method.name} on {result.record.task.name}, "
                        f"{len(result.sample_ids)} offline sample(s) re-run")
    for col in ("metric", "recorded samples", "re-run", "difference", "tolerance", "agrees"):
        table.add_column(col)
    for check in result.checks:
        table.add_row(check.name, f"{check.recorded:.6g}", f"{check.rerun:.6g}", f"{check.rerun - check.recorded:+.3g}",
                      f"±{check.tolerance:.3g}", "yes" if check.agrees else "NO")
    console.print(table)
    console.print(f"samples re-run: {', '.join(result.sample_ids)}")
    console.print(f"per-sample scores equal (within {SCORE_TOLERANCE:g} relative): {result.equal_scores}/{len(result.sample_ids)}; "
                  f"recorded on {recorded_on}, re-run on {result.rerun_hardware}; tolerance per metric: abs {args.atol} + "
                  f"rel {args.rtol} x |recorded|; latency and memory are not compared")
    if result.uninformative:
        console.print(f"note: {result.uninformative}")
    for line in result.record_problems:
        print(f"error: the record disagrees with its own samples: {literal(line)}", file=sys.stderr)


def cmd_verify(args: argparse.Namespace) -> int:
    """Each record given (and each changed since --changed-since) re-run and compared; one that does not reproduce
    fails the command. A named record that cannot be re-run here is one line (exit 2); a changed one is a warning, and
    stays as submitted."""
    from harness.checks.git_changes import changed_files, touched
    from harness.checks.verification_receipt import add_verified, verified_entry
    from harness.records.store import record_paths
    from harness.records.terminal import console
    from harness.running.verify import verify

    if args.limit < 1:
        raise HarnessError(f"--limit must be at least 1, got {args.limit}")
    paths = list(args.records)
    if args.changed_since is not None:
        changed = changed_files(args.changed_since, [args.results])
        paths += [p for p in record_paths(args.results) if touched(p, changed)]
    if not paths:
        console.print("nothing to verify: no record given" + (f", and none changed since {args.changed_since}"
                                                               if args.changed_since else ""))
    failed, found = 0, {}
    for path in paths:
        try:
            result = verify(path, args.limit, args.device, args.atol, args.rtol)
        except HarnessError as exc:
            if path in args.records:  # one the user named: the reason is the answer
                raise
            print(f"warning: {literal(str(path))} cannot be verified here, so it stays as submitted: {literal(str(exc))}",
                  file=sys.stderr)
            continue
        print_verification(result, args)
        if not result.agrees:
            what = "its metrics are not those of its samples" if result.record_problems else "metrics differ beyond the tolerance"
            print(f"error: {result.record.run_id} does not reproduce: {what}", file=sys.stderr)
            failed += 1
            continue
        console.print(f"{literal(result.record.run_id)} reproduces: the record matches its samples and every re-run "
                      "metric agrees within its tolerance")
        found[result.record.run_id] = verified_entry(path, len(result.sample_ids), result.equal_scores, result.rerun_hardware)
    if args.receipt is not None:
        add_verified(args.receipt, found)
        console.print(f"{len(found)} record(s) that reproduce added to {args.receipt} (for `harness site --verified "
                      f"{args.receipt}`)")
    return 1 if failed else 0


def cmd_site(args: argparse.Namespace) -> int:
    from harness.records.terminal import console
    from harness.site.build import build_site, needs_build, serve, site_server

    if args.jobs is not None and args.jobs < 1:
        raise HarnessError(f"--jobs must be at least 1, got {args.jobs}")
    server = site_server(args.out, args.port) if args.serve else None  # a port in use fails before the build
    try:
        if server is None or needs_build(args.results, args.out):
            built = build_site(args.results, args.out, args.validated, args.jobs, args.verified)
            for line in built.warnings:
                print(f"warning: {literal(line)}", file=sys.stderr)
            for path, problems in built.rejected:
                print(f"warning: left out {literal(str(path))}: {literal(problems[0])}", file=sys.stderr)
            hint = "" if server else f": open {args.out / 'index.html'} in a browser, or serve it with `harness site --serve`"
            receipt = f" ({built.receipted} taken from the receipt unchecked)" if args.validated else ""
            console.print(f"built {args.out}/ from {len(built.items)} record(s){receipt}, {len(built.rejected)} left out "
                          f"(listed on rejected.html){hint}")
        else:
            console.print(f"{args.out}/ is up to date with {args.results}/ (no record or samples log is newer): not rebuilt")
    except BaseException as exc:
        if server is not None:
            server.server_close()
        if isinstance(exc, KeyboardInterrupt):
            print(f"error: interrupted; {args.out}/ is left as it was before this build", file=sys.stderr)
            return 130
        raise
    if server is not None:
        serve(server, args.out)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from harness.contracts.latency_series import export_pyperf
    from harness.records.store import find_run, load_record
    from harness.records.terminal import console

    path = find_run(args.results, args.run)
    names = export_pyperf(load_record(path), args.pyperf)
    console.print(f"wrote {len(names)} latency series ({', '.join(names)}) to {args.pyperf}: read it with "
                  f"`python -m pyperf stats {args.pyperf}`, compare two runs with `python -m pyperf compare_to A.json B.json`")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from harness.contracts.record import ResultRecord

    text = json.dumps(ResultRecord.model_json_schema(), indent=2) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text)
        except OSError as exc:
            raise HarnessError(f"cannot write the schema to {args.out} ({exc.strerror}): choose a writable --out path") from None
    else:
        sys.stdout.write(text)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes are one line and exit 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}: see `{self.prog} --help`", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="harness", description="Does this method keep accuracy while cutting memory and latency, on my hardware?")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered tasks and methods")
    p.add_argument("what", nargs="?", choices=["tasks", "methods"])
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="run methods on every task they can run (or the tasks named): one cell or a grid")
    p.add_argument("--method", required=True, action="append", help="a method, or several: a,b,c (a grid)")
    p.add_argument("--task", action="append", help="a task name, or several: x,y (repeatable); default: every task the "
                                                  "method can run")
    p.add_argument("--model", action="append", help="Hugging Face id (from the local cache) or local folder, or "
                                                   "several: m1,m2; default: embedded SmolLM2-135M-Instruct")
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
    p.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2", help="a grid over a method parameter or "
                   "task option: one cell per value, e.g. budget=0.25,0.5 (repeatable: every combination)")
    p.add_argument("--rerun", action="store_true", help="in a grid, run cells again even if a complete record exists")
    p.add_argument("--shard", metavar="I/N", help="run only shard I of N of the grid (split by configuration hash)")
    p.add_argument("--executor", default="local", help="local (default: one cell after another here) or ray")
    p.add_argument("--address", help="Ray cluster address HOST:PORT or auto (default: start Ray on this machine)")
    p.add_argument("--cpus-per-cell", type=float, help="CPUs each Ray cell asks for (default 1)")
    p.add_argument("--gpus-per-cell", type=float, help="GPUs each Ray cell asks for (default 0; 1 holds a GPU alone)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("merge", help="join results folders (shards, other machines) into one; refuses conflicts")
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--into", type=Path, default=Path("results"), help="the folder to merge into (default: results)")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("compact", help="store complete runs' samples logs gzip-compressed (records keep their content sha256)")
    p.add_argument("results", type=Path, nargs="?", default=Path("results"))
    p.set_defaults(func=cmd_compact)

    p = sub.add_parser("show", help="summarise all records, or one run in detail")
    p.add_argument("run", nargs="?", help="run id or record path")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("rescore", help="re-score a run's saved outputs without rerunning it; exit 1 when the figures differ")
    p.add_argument("run")
    p.add_argument("--write", action="store_true", help="rewrite the record and its samples with the re-scored figures")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.set_defaults(func=cmd_rescore)

    p = sub.add_parser("validate", help="check records: schema, samples sha256, outputs re-scored, ids against the split, "
                                        "metrics re-aggregated, unique run ids")
    p.add_argument("paths", nargs="+")
    p.add_argument("--changed-since", metavar="GIT_REF", help="re-generate the split and re-score outputs only for "
                   "records added or modified since this git revision (every other check runs on every record)")
    p.add_argument("--jobs", type=int, help="processes to check with (default: the machine's cores)")
    p.add_argument("--receipt", type=Path, metavar="FILE", help="write a receipt of the records that passed (their bytes' "
                   "sha256), so that `harness site --validated FILE` does not check them again (e.g. build/validated.json)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("verify", help="re-run N informative offline samples of records; compare with their samples and metrics")
    p.add_argument("records", type=Path, nargs="*", help="result records (.json)")
    p.add_argument("--changed-since", metavar="REF", help="also every record under --results that git revision REF "
                   "does not have, or has otherwise (what a pull request brings)")
    p.add_argument("--results", type=Path, default=Path("results"), help="where --changed-since looks (default results)")
    p.add_argument("--receipt", type=Path, metavar="FILE", help="add the records that reproduce to this verification "
                   "receipt, for `harness site --verified FILE` (e.g. build/verified.json)")
    p.add_argument("--limit", type=int, default=5, help="how many samples to re-run (default 5)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--atol", type=float, default=0.01, help="absolute tolerance per metric (default 0.01)")
    p.add_argument("--rtol", type=float, default=0.01, help="relative tolerance per metric (default 0.01)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("site", help="build the static leaderboard site from the records (into build/site; --serve to view it)")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--out", type=Path, default=Path("build/site"), help="folder to build into (default build/site, git-ignored)")
    p.add_argument("--serve", action="store_true", help="build if needed (no build yet, or newer records), then serve the "
                   "folder on http://127.0.0.1:PORT/ until Ctrl-C")
    p.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    p.add_argument("--jobs", type=int, help="processes to build with (default: the machine's cores)")
    p.add_argument("--validated", type=Path, metavar="RECEIPT", help="a receipt from `harness validate --receipt`: records "
                   "it passed with their present bytes are not checked again (any other record is)")
    p.add_argument("--verified", type=Path, metavar="RECEIPT", help="a receipt from `harness verify --receipt`: records "
                   "it names with their present bytes show as verified, every other as submitted")
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
        print(f"error: {literal(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave that cannot be read or written, a full disk
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot use{where}: {exc.strerror or exc}: check the path, its permissions and free space", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; finished records are kept, rerun with --resume to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
