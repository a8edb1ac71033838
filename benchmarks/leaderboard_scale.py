"""How `harness validate` and `harness site` scale with the number of records: N copies of committed records.

    python benchmarks/leaderboard_scale.py [--sizes 100,1000,10000] [--layouts spread,one-board]
                                           [--tasks text_removal,syntsbench] [--skip-validate-above 1000] [--label-time]

Each copy is a committed record (read with pydantic, no hand-edited JSON) under a fresh run id, written where
`harness run` writes it with a file name equal to its run id; its samples log is hard-linked (copied where links are
not possible) under the matching name, so the sha256 the record pins still holds and every copy passes
`harness validate`. A comparison with a reference run is dropped (its relative path would not resolve in the copy).

Layouts:
  spread     as submissions arrive: every record of --tasks in turn, on 8 CPU hardware keys (a board per task and
             key); once all keys hold one, copies come back as later re-runs (created 1 minute on), superseding.
  one-board  all N on one board (the first task's own hardware): every copy keeps its created_at, so all are current
             and each is a point on the board's plots, piling up on the few places the committed methods score.

Times `harness validate FOLDER --receipt R` and then `harness site --results FOLDER --out TMP --validated R`, as CI
runs them, as subprocesses (peak memory: the largest resident set of the child or any of its worker processes, from
wait4; CPU seconds beside wall seconds, as the machine may be shared); either failing, or the site leaving a copy out,
stops the benchmark. Above --skip-validate-above the site is built without a receipt and checks every record itself. --label-time runs the site build through
the same CLI entry point with `place_labels` wrapped in a timer and reports the seconds spent placing labels. The
table goes to stdout and to --log.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.contracts.record import ResultRecord  # noqa: E402
from harness.records.store import cell_dir, load_record, record_paths, write_record  # noqa: E402

HARDWARE = ["cpu-2c-amd-epyc", "cpu-2c-intel-xeon", "cpu-4c-amd-epyc", "cpu-4c-intel-xeon", "cpu-8c-amd-epyc",
            "cpu-8c-intel-xeon", "cpu-16c-amd-epyc", "cpu-16c-intel-xeon"]
LAYOUTS = ("spread", "one-board")
LOG = Path(__file__).with_name("leaderboard_scale_cpu.log")
LABEL_TIMER = """
import atexit, sys, time
import harness.site.plots as plots
placed, spent = plots.place_labels, [0.0, 0]
def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
        return placed(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - start
        spent[1] += 1
plots.place_labels = timed
atexit.register(lambda: print(f"LABELS {spent[0]:.6f} {spent[1]}", file=sys.stderr))
from harness.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class Template:
    """A committed record and the samples log it names."""

    record: ResultRecord
    log: Path


@dataclass
class Timed:
    seconds: float
    cpu: float
    peak_mib: float
    rc: int
    tail: str
    labels: float | None = None


def templates(results: Path, tasks: list[str]) -> dict[str, list[Template]]:
    """The complete records of each task under `results` that name a samples log, by task."""
    found: dict[str, list[Template]] = {}
    for task in tasks:
        for path in record_paths(results / task):
            record = load_record(path)
            if record.status == "complete" and record.artifacts and (path.parent / record.artifacts.samples).is_file():
                found.setdefault(task, []).append(Template(record, path.parent / record.artifacts.samples))
        if not found.get(task):
            raise SystemExit(f"no complete record with a samples log under {results / task}")
    return found


def fresh_run_id(record: ResultRecord, created: str, salt: str) -> str:
    """A run id as `harness run` makes them (time, 48 random bits, configuration hash), the bits from `salt`."""
    config_hash = record.run_id.rsplit("-", 1)[-1]
    return f"{created}-{hashlib.sha256(salt.encode()).hexdigest()[:12]}-{config_hash}"


def write_copy(out: Path, template: Template, hardware: str | None, later: timedelta, salt: str) -> None:
    """One copy: new run id (and file names), optionally another hardware key and a later created_at; no comparison."""
    source = template.record
    created_at = source.created_at + later
    run_id = fresh_run_id(source, created_at.strftime("%Y%m%dT%H%M%S"), salt)
    log_name = run_id + template.log.name.removeprefix(source.run_id)  # keeps .samples.jsonl or .samples.jsonl.gz
    environment = dict(source.environment, hardware_key=hardware) if hardware else source.environment
    copy = source.model_copy(update={
        "run_id": run_id, "created_at": created_at, "comparison": None, "environment": environment,
        "artifacts": source.artifacts.model_copy(update={"samples": log_name}),
    })
    folder = cell_dir(out, copy.task.name, copy.method.name, copy.method.base_model.id if copy.method.base_model else None,
                      str(environment.get("hardware_key", "unknown")))
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / f"{run_id}.json").exists():
        raise SystemExit(f"run id {run_id} made twice: change the salt")
    try:
        os.link(template.log, folder / log_name)
    except OSError:
        shutil.copyfile(template.log, folder / log_name)
    write_record(folder / f"{run_id}.json", copy)


def make_records(out: Path, n: int, layout: str, found: dict[str, list[Template]]) -> None:
    if layout == "spread":
        pool = [t for task in found.values() for t in task]
        for i in range(n):
            k = i // len(pool)
            write_copy(out, pool[i % len(pool)], HARDWARE[k % len(HARDWARE)], timedelta(minutes=k // len(HARDWARE)),
                       f"{layout}/{n}/{i}")
    else:
        pool = next(iter(found.values()))
        for i in range(n):
            write_copy(out, pool[i % len(pool)], None, timedelta(0), f"{layout}/{n}/{i}")


def timed(command: list[str], logs: Path) -> Timed:
    """Runs `command` from the repository root: wall and CPU seconds, the peak resident memory of it and its children."""
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "stdout").open("wb") as stdout, (logs / "stderr").open("wb") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    text = (logs / "stdout").read_text(errors="replace") + (logs / "stderr").read_text(errors="replace")
    labels = [line.split() for line in text.splitlines() if line.startswith("LABELS ")]
    return Timed(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode,
                 "\n".join(text.strip().splitlines()[-5:]), float(labels[-1][1]) if labels else None)


def measure(n: int, layout: str, found: dict[str, list[Template]], validate: bool, label_time: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="leaderboard-scale-") as tmp:
        results, site, logs = Path(tmp) / "results", Path(tmp) / "site", Path(tmp) / "logs"
        start = time.perf_counter()
        make_records(results, n, layout, found)
        generated = time.perf_counter() - start
        row: dict[str, object] = {"n": n, "layout": layout, "generate s": generated}
        receipt: list[str] = []
        if validate:
            run = timed([sys.executable, "-m", "harness.cli", "validate", str(results), "--receipt", str(Path(tmp) / "validated.json")],
                        logs / "validate")
            if run.rc != 0:
                raise SystemExit(f"harness validate failed on the copies (exit {run.rc}):\n{run.tail}")
            row.update({"validate s": run.seconds, "validate cpu s": run.cpu, "validate MiB": run.peak_mib})
            receipt = ["--validated", str(Path(tmp) / "validated.json")]
        entry = ["-c", LABEL_TIMER] if label_time else ["-m", "harness.cli"]
        run = timed([sys.executable, *entry, "site", "--results", str(results), "--out", str(site), *receipt], logs / "site")
        left_out = [line for line in (logs / "site" / "stderr").read_text().splitlines() if line.startswith("warning: left out")]
        if run.rc != 0 or left_out:
            raise SystemExit(f"harness site failed (exit {run.rc}) or left out {len(left_out)} copies:\n{run.tail}")
        pages = sum(1 for _ in site.rglob("*.html"))
        row.update({"site s": run.seconds, "site cpu s": run.cpu, "site MiB": run.peak_mib, "labels s": run.labels,
                    "boards": sum(1 for _ in site.glob("tasks/*.csv")), "pages": pages})
    return row


def cpu_name() -> str:
    try:
        line = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name"))
        return line.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cell(value: object, column: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if column.endswith("MiB") else f"{value:.2f}" if column == "labels s" else f"{value:.1f}"
    return str(value)


COLUMNS = ["n", "layout", "generate s", "validate s", "validate cpu s", "validate MiB", "site s", "site cpu s", "site MiB",
           "labels s", "boards", "pages"]
WIDTHS = [6, 9] + [len(c) for c in COLUMNS[2:]]


def line(cells: list[str]) -> str:
    return "  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, WIDTHS)))


def row_text(row: dict[str, object]) -> str:
    return line([cell(row.get(c), c) for c in COLUMNS])


def table(rows: list[dict[str, object]]) -> str:
    return "\n".join([line(COLUMNS), line(["-" * w for w in WIDTHS])] + [row_text(r) for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="numbers of records, comma-separated")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="spread, one-board or both")
    parser.add_argument("--tasks", default="text_removal,syntsbench",
                        help="tasks whose committed records are copied (cheap to validate; the first one fills one-board)")
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--skip-validate-above", type=int, default=None, metavar="N",
                        help="time `harness validate` only for sizes up to N (above it the site checks every record itself)")
    parser.add_argument("--label-time", action="store_true", help="also report the seconds the site spends placing labels")
    parser.add_argument("--log", type=Path, default=LOG, help="where the table is written")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    layouts = [s.strip() for s in args.layouts.split(",") if s.strip()]
    if set(layouts) - set(LAYOUTS):
        parser.error(f"--layouts: choose from {', '.join(LAYOUTS)}")
    found = templates(args.results, [t.strip() for t in args.tasks.split(",") if t.strip()])
    rows = []
    load = os.getloadavg()[0]
    print(table([]), flush=True)
    for n in sizes:
        for layout in layouts:
            validate = args.skip_validate_above is None or n <= args.skip_validate_above
            rows.append(measure(n, layout, found, validate, args.label_time))
            print(row_text(rows[-1]), flush=True)
    header = (f"# {os.cpu_count()} CPU cores ({cpu_name()}), Python {platform.python_version()}, {date.today()}: "
              f"python benchmarks/leaderboard_scale.py {' '.join(sys.argv[1:])}\n"
              f"# copies of {sum(len(t) for t in found.values())} committed records of {', '.join(found)}; s is wall time, "
              f"cpu s user + system time (the machine may be shared), MiB the peak resident memory of the subprocess; load average {load:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after\n")
    report = header + table(rows) + "\n"
    print("\n" + report, end="")
    args.log.write_text(report)


if __name__ == "__main__":
    main()
