"""Renders the static leaderboard site from the records under results/ (jinja2 templates, autoescaped)."""

from __future__ import annotations

import base64
import errno
import functools
import gzip
import json
import math
import shutil
import signal
import tempfile
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from harness.checks.verification_receipt import read_verified, standing
from harness.contracts.claims import claim_files, read_claims
from harness.contracts.record import ResultRecord
from harness.contracts.registry import METHODS, TASKS
from harness.errors import HarnessError
from harness.records.reproduce import reproduce_command
from harness.records.store import record_paths, safe_name, samples_path
from harness.records.terminal import human_bytes, human_seconds, rate_unit
from harness.site.board_table import LoadedRecord, board_label, records_frame, vetted
from harness.site.claims import Verdict, claim_verdicts, paper_lines
from harness.site.home_matrix import matrices
from harness.site.paired_ranks import RANK_RULE, Resampled, rank_frame, rankable, resample_run
from harness.site.plots import comparison, curve, heatmap, scatter
from harness.site.samples_page import RAW_LIMIT, golds, sample_rows, stem_column
from harness.site.versus_reference import (
    Pair,
    Versus,
    chance_of,
    pair_versus,
    plan_versus,
    record_log,
    reference_of,
    settle_versus,
)
from harness.site.workers import Workers

SITE_MARKER = ".harness-site"
RUNS_PER_PROCESS = 100  # run pages written in one process before a second one pays for itself
SAMPLES_PER_PAGE = 50  # rows a samples page shows at a time (paged in the browser)
SAMPLES_GLOBAL = "HARNESS_SAMPLES"  # runs/<run>/samples.js sets window.HARNESS_SAMPLES to base64 of gzipped JSON
DOWNLOAD_COLUMNS = ["rank", "tied", "rank_note", "method", "label", "model", "dtype", "hardware", "split", "limit", "status", "stale", "standing", "main_metric", "value",
                    "ci_low", "ci_high", "n", "reference", "delta", "delta_low", "delta_high", "delta_how",
                    "memory_ratio", "memory_what", "latency_ratio", "latency_what", "latency_unstable", "peak_memory_bytes", "memory_scope", "kv_answering_bytes", "kv_peak_bytes",
                    "parameter_bytes", "throughput", "throughput_unit",
                    "created_at", "run_id", "seed", "params_key", "options_key", "error"]


def missing(value: Any) -> bool:
    """None, NaN or pandas' NA: a value the record does not have."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def number(value: Any) -> str:
    if missing(value):
        return "-"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def size(value: Any) -> str:
    return "-" if missing(value) else human_bytes(int(value))


def duration(value: Any) -> str:
    return "-" if missing(value) else human_seconds(float(value))


def times(value: Any) -> str:
    """A ratio to the reference, as 0.50x."""
    return "-" if missing(value) else f"{value:.2f}x"


def signed(value: Any) -> str:
    """A difference with its sign, as the main metric prints."""
    return "-" if missing(value) else ("+" if value > 0 else "") + number(value)


FORMATS = {"number": number, "bytes": size, "seconds": duration}


def sort_key(value: Any) -> str:
    """The value a table column sorts by (empty for missing, so those sink)."""
    return "" if missing(value) else str(value)


def environment() -> Environment:
    env = Environment(loader=PackageLoader("harness.site", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=number, bytes=size, seconds=duration, sortkey=sort_key, times=times, signed=signed,
                       pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str),
                       compact=lambda v: json.dumps(v, ensure_ascii=False, default=str))
    return env


@dataclass
class Column:
    """A table column: the frame column it shows and how to print it."""

    key: str
    title: str
    kind: str  # number | bytes | seconds


def cost_columns(frame: pd.DataFrame) -> list[Column]:
    cols = []
    if frame["kv_answering_bytes"].notna().any():
        cols.append(Column("kv_answering_bytes", "KV cache while answering", "bytes"))
    if frame["parameter_bytes"].notna().any():
        cols.append(Column("parameter_bytes", "parameters", "bytes"))
    if frame["peak_memory_bytes"].notna().any():
        cols.append(Column("peak_memory_bytes", "peak memory", "bytes"))
    for key in frame.columns:
        if key.startswith("latency:") and frame[key].notna().any():
            cols.append(Column(key, key.removeprefix("latency:").replace("_", " ") + " p50", "seconds"))
    return cols


def throughput_columns(frame: pd.DataFrame) -> list[Column]:
    """The board's throughput (higher is better, so shown in the table but not drawn as a cost)."""
    units = [u for u in frame["throughput_unit"].dropna().unique() if u]
    if not frame["throughput"].notna().any() or len(units) != 1:
        return []
    return [Column("throughput", rate_unit(str(units[0])), "number")]


def metric_columns(frame: pd.DataFrame, main_metric: str) -> list[Column]:
    return [Column(k, k.removeprefix("metric:"), "number") for k in frame.columns
            if k.startswith("metric:") and k != f"metric:{main_metric}" and frame[k].notna().any()]


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a cell a spreadsheet would run as a formula (OWASP's list)


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, quoted with a leading apostrophe; anything else as it is."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_downloads(frame: pd.DataFrame, folder: Path, stem: str) -> tuple[str, str]:
    """The table as CSV and JSON beside its page; returns the two file names."""
    extra = [c for c in frame.columns if c.startswith(("metric:", "latency:")) and frame[c].notna().any()]
    table = frame[[c for c in DOWNLOAD_COLUMNS if c in frame.columns] + extra]
    folder.mkdir(parents=True, exist_ok=True)
    table.map(spreadsheet_safe).to_csv(folder / f"{stem}.csv", index=False)
    (folder / f"{stem}.json").write_text(table.to_json(orient="records", indent=1) + "\n")
    return f"{stem}.csv", f"{stem}.json"


class SiteBuilder:
    """Writes index, task, method and run pages (each run's samples as samples.js + samples.html) plus CSV/JSON downloads
    into one folder."""

    def __init__(self, results: Path, receipt: Path | None = None, workers: Workers | None = None,
                 verified: Path | None = None):
        found = vetted(results, receipt)
        if not found.items and found.rejected:
            raise HarnessError(f"no record under {results} passes validation ({len(found.rejected)} rejected): "
                               f"see `harness validate {results}`")
        self.items, self.rejected, self.warnings, self.receipted = found.items, found.rejected, found.warnings, found.receipted
        self.results = results
        self.by_run = {i.record.run_id: i for i in self.items}
        self.workers = workers or Workers(1)
        self.frame = records_frame(self.items)  # versus columns are settled in build(), paired where the run pages are
        reproduced = read_verified(verified) if verified is not None else {}
        self.frame["standing"] = [standing(run_id, self.by_run[run_id].path, reproduced) for run_id in self.frame["run_id"]]
        self.rows_by_run = {row["run_id"]: row for row in rows_of(self.frame)}
        self.env = shared_environment()

    def shown(self, path: Path) -> str:
        """A record's path as the pages print it: under the results folder's own name, never the builder's absolute path."""
        try:
            return (Path(self.results.name) / path.resolve().relative_to(self.results.resolve())).as_posix()
        except ValueError:
            return path.name

    def unrooted(self, line: str) -> str:
        """A check's line with the results folder's absolute path (as given and as resolved) shown as its name."""
        for root in sorted({str(self.results), str(self.results.resolve())}, key=len, reverse=True):
            if Path(root).is_absolute():
                line = line.replace(root, self.results.name)
        return line

    def render(self, template: str, target: Path, depth: int, **context: Any) -> None:
        render(self.env, template, target, depth, **context)

    def build(self, into: Path) -> None:
        shutil.copytree(Path(__file__).parent / "static", into / "assets")
        found, pairs = plan_versus(self.frame, self.by_run)
        pair_of = {pair.mine.record.run_id: pair for pair in pairs}
        ranked = set(self.frame.loc[rankable(self.frame), "run_id"])
        runs = [RunPage(i.record, i.path, self.rows_by_run[i.record.run_id], self.shown(i.path),
                        self.shown(samples_path(i.record, i.path)) if i.record.artifacts else None,
                        pair_of.get(i.record.run_id), i.record.run_id in ranked) for i in self.items]
        done = self.workers.map(write_run_pages, runs, RUNS_PER_PROCESS, into)
        self.frame = settle_versus(self.frame, found, {run.pair.index: got for run, (got, _) in zip(runs, done) if run.pair})
        self.frame = rank_frame(self.frame, self.by_run, {run.record.run_id: got for run, (_, got) in zip(runs, done) if got})
        verdicts = self.claims(into)
        self.index(into, verdicts)
        for task, frame in self.frame.groupby("task"):
            self.task_page(into, str(task), frame)
        for method, frame in self.frame.groupby("method"):
            self.method_page(into, str(method), frame)
        self.render("rejected.html", into / "rejected.html", 0,
                    rejected=[(self.shown(p), [self.unrooted(line) for line in lines]) for p, lines in self.rejected])
        (into / SITE_MARKER).write_text("generated by `harness site`; the whole folder is rebuilt each time\n")

    def claims(self, into: Path) -> list[Verdict]:
        """The claims page: every seed paper's claims with their verdicts on these records."""
        papers = []
        for path in claim_files():
            try:
                papers.append(read_claims(path))
            except HarnessError as exc:  # `harness validate` fails on it; the site shows the other papers' claims
                self.warnings.append(str(exc))
        verdicts = claim_verdicts(papers, self.frame, self.by_run)
        grouped: dict[str, list[Verdict]] = {}
        for v in verdicts:
            grouped.setdefault(v.paper.paper, []).append(v)
        self.render("claims.html", into / "claims.html", 0, papers=[(items[0].paper, items) for items in grouped.values()])
        return verdicts

    def index(self, into: Path, verdicts: list[Verdict]) -> None:
        families: dict[str, dict[str, dict[str, Any]]] = {}
        for name in TASKS.names():
            entry = TASKS.entry(name)
            families.setdefault(entry.family or "other", {})[name] = {"summary": entry.summary, "page": None, "counts": {},
                                                                      "reference": reference_of(name)}
        for task, frame in self.frame.groupby("task"):
            first = frame.iloc[0]
            info = families.setdefault(str(first["family"]), {}).setdefault(str(task), {"summary": "", "reference": None})
            info["page"] = f"tasks/{first['task_page']}.html"
            info["counts"] = frame["status"].value_counts().to_dict()
        newest = self.frame["created_at"].max()[:10]
        methods = sorted({(r["method"], r["method_page"]) for r in rows_of(self.frame)})
        self.render("index.html", into / "index.html", 0, families=dict(sorted(families.items())), methods=methods,
                    n_records=len(self.frame), newest=newest, n_rejected=len(self.rejected),
                    matrices=matrices(self.frame, rows_of), claims=paper_lines(verdicts))

    def task_page(self, into: Path, task: str, frame: pd.DataFrame) -> None:
        page = str(frame.iloc[0]["task_page"])
        boards = []
        current = frame[frame["current"]]
        for board_id in current["board"].value_counts().index:  # the board with the most results first
            board = current[current["board"] == board_id]
            main_metric = str(board.iloc[0]["main_metric"])
            higher = bool(board.iloc[0]["higher_is_better"])
            stem = f"{page}--{board_id}"
            csv_name, json_name = write_downloads(board, into / "tasks", stem)
            ranked = rows_of(board[rankable(board)])
            costs = cost_columns(board)
            chance = chance_of(task, main_metric)
            spec = reference_of(task)
            plots = [scatter(f"{main_metric} vs {c.title}", c.title, main_metric, ranked, c.key, higher, c.kind,
                             FORMATS[c.kind], number, chance, spec.method if spec else None) for c in costs]
            boards.append({
                "id": board_id, "label": board_label(board, frame), "main_metric": main_metric, "higher": higher,
                "rows": rows_of(board), "metrics": metric_columns(board, main_metric), "costs": costs + throughput_columns(board),
                "csv": csv_name, "json": json_name, "plots": [p for p in plots if p],
                "heatmaps": self.heatmaps(board, main_metric, higher), "chance": chance, "reference": spec,
                "hardware": str(board.iloc[0]["hardware"]), "model": str(board.iloc[0]["model"]),
                "has_reference": bool(spec) and bool((board["delta_how"] == "reference").any()),
            })
        superseded = int((~frame["current"]).sum())
        self.render("task.html", into / "tasks" / f"{page}.html", 1, task=task, family=frame.iloc[0]["family"],
                    boards=boards, superseded=superseded, info=self.task_info(task), rank_rule=RANK_RULE)

    def heatmaps(self, board: pd.DataFrame, metric: str, higher: bool) -> list[Any]:
        """Each breakdown: methods as lines over one numeric key with many values (plots.curve), else methods side by
        side when one key is fixed on the board, else one map per method."""
        ranked = [(row["label"], self.by_run[row["run_id"]].record) for row in rows_of(board[rankable(board)])]
        maps = []
        for name in dict.fromkeys(n for _, record in ranked for n in record.breakdowns):
            label = name.removeprefix("by_").replace("_", " x ")
            per_method = [(method, record.breakdowns[name]) for method, record in ranked if name in record.breakdowns]
            names = {m for _, record in ranked for m in record.metrics}
            shown = stem_column(metric, {k for _, rows in per_method for r in rows for k in r})
            lines = curve(f"{shown} by {label}, all methods", per_method, shown, names, number)
            side_by_side = lines or comparison(f"{shown} by {label}, all methods", per_method, shown, names, higher, number)
            if side_by_side:
                maps.append(side_by_side)
                continue
            for method, rows in per_method:
                one = heatmap(f"{method}: {shown} by {label}", rows, shown, names, higher, number)
                if one:
                    maps.append(one)
        return maps

    @staticmethod
    def task_info(task: str) -> dict[str, Any]:
        try:
            cls = TASKS.get(task)
        except HarnessError:
            return {}
        spec = cls.spec
        return {"description": spec.description, "paper": spec.paper, "version": spec.version}

    def method_page(self, into: Path, method: str, frame: pd.DataFrame) -> None:
        page = str(frame.iloc[0]["method_page"])
        csv_name, json_name = write_downloads(frame, into / "methods", page)
        self.render("method.html", into / "methods" / f"{page}.html", 1, method=method, info=self.method_info(method),
                    rows=rows_of(frame.sort_values(["task", "created_at"], ascending=[True, False])),
                    recorded_params=sorted(set(frame["params_key"])), csv=csv_name, json=json_name)

    @staticmethod
    def method_info(method: str) -> dict[str, Any]:
        """Description, paper and parameter schema from the registry, when this installation has the method."""
        try:
            cls = METHODS.get(method)
        except HarnessError:
            return {}
        fields = [{"name": n, "default": f.default, "description": f.description or ""} for n, f in cls.Params.model_fields.items()]
        return {"description": cls.description, "paper": cls.paper, "version": cls.version, "family": cls.family, "params": fields}


@dataclass
class RunPage:
    """What one run's pages need: the record, its board row, and its record and samples-log paths as pages print them."""

    record: ResultRecord
    path: Path
    row: dict[str, Any]
    record_shown: str
    log_shown: str | None
    pair: Pair | None = None  # the run and its board's reference, to be paired on their samples
    ranked: bool = False  # the run takes part in its board's ranks (its metric is resampled for paired tests)


def render(env: Environment, template: str, target: Path, depth: int, **context: Any) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(env.get_template(template).render(root="../" * depth, **context))


@functools.lru_cache(maxsize=1)
def shared_environment() -> Environment:
    return environment()


def write_run_pages(into: Path, run: RunPage) -> tuple[Versus | None, Resampled | None]:
    """The run page, its record.json and, when it has samples, samples.js (the rows, compressed) and samples.html
    (which renders them in the browser, 50 a page); returns the run's pairing with its reference (pair_versus) and,
    for a ranked run, its metric resampled for the board's paired tests, both done here while its samples are read.
    The samples log itself is never copied: it stays in results/."""
    env, record = shared_environment(), run.record
    page = safe_name(record.run_id)
    folder = into / "runs" / page
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run.path, folder / "record.json")
    rows, texts = record_log(record, run.path)
    log_shown = run.log_shown if rows else None
    render(env, "run.html", into / "runs" / f"{page}.html", 1, r=record, page=page, row=run.row,
           record_path=run.record_shown, n_samples=len(rows), samples_log=log_shown,
           per_page=SAMPLES_PER_PAGE, command=reproduce_command(record))
    if rows:
        table, binary = sample_rows(rows, texts, record.main_metric, golds(record), number)
        metric = stem_column(record.main_metric, {k for r in rows for k in r.get("scores", {})})
        (folder / "samples.js").write_text(samples_script(table))
        render(env, "samples.html", folder / "samples.html", 2, r=record, page=page, n_samples=len(rows), binary=binary,
               metric=metric, per_page=SAMPLES_PER_PAGE, samples_log=log_shown, raw_limit=RAW_LIMIT)
    return (pair_versus(run.pair) if run.pair else None,
            resample_run(LoadedRecord(record, run.path)) if run.ranked else None)


def samples_script(table: list[dict[str, Any]]) -> str:
    """One JavaScript assignment holding the rows (sample_rows) gzip-compressed and base64-encoded: a <script src> loads
    it from file:// as well as over http (where fetch() would not), and base64 can never close the script or inject
    markup. A lone surrogate (which JSON can carry but UTF-8 cannot) is written as its escape."""
    try:
        data = orjson.dumps({"rows": table})
    except orjson.JSONEncodeError:
        data = json.dumps({"rows": table}, allow_nan=False).encode()
    packed = base64.b64encode(gzip.compress(data, compresslevel=4, mtime=0)).decode("ascii")
    return f'window.{SAMPLES_GLOBAL} = "{packed}";\n'


def prepare_out(out: Path) -> None:
    """Refuse to replace a folder that harness did not generate."""
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out} is a file: choose a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARKER).exists():
        raise HarnessError(f"{out} is not empty and was not generated by `harness site`: choose another --out or empty it")


def warm_worker(task_names: list[str]) -> None:
    """A site worker's start: the records' tasks imported (golds and pairing load them); one that fails to load is left
    to the run page that needs it."""
    for name in task_names:
        try:
            TASKS.get(name)
        except Exception:  # noqa: BLE001 - a task that does not load is reported where a page uses it
            continue


def build_site(results: Path, out: Path, receipt: Path | None = None, jobs: int | None = None,
               verified: Path | None = None) -> "SiteBuilder":
    """Build into a temporary sibling folder, then swap it in, so a failed build leaves the old site intact."""
    prepare_out(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise HarnessError(f"cannot write the site into {out.parent} ({exc.strerror}): choose a writable --out") from None
    try:
        with Workers(jobs) as workers:
            paths = list(record_paths(results))
            if len(paths) >= 2 * RUNS_PER_PROCESS:  # records sit under results/<task>/ (a guess: it only warms)
                workers.start(warm_worker, sorted({p.relative_to(results).parts[0] for p in paths} & set(TASKS.names())))
            builder = SiteBuilder(results, receipt, workers, verified)
            builder.build(staging)
        staging.chmod(0o755)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return builder


BUILD_INPUTS = (".json", ".samples.jsonl", ".samples.jsonl.gz")


def needs_build(results: Path, out: Path) -> bool:
    """True when `out` has no finished build, or a record or samples log under `results` (or a folder there, which
    changes when a file is added or removed) is newer than the build's marker file."""
    marker = out / SITE_MARKER
    if not marker.exists():
        return True
    built = marker.stat().st_mtime
    if not results.exists():
        return False
    for path in [results, *results.rglob("*")]:
        if ".locks" in path.parts:
            continue
        if (path.is_dir() or path.name.endswith(BUILD_INPUTS)) and path.stat().st_mtime > built:
            return True
    return False


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files under the site folder only (SimpleHTTPRequestHandler's `directory`); no per-request log lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def site_server(out: Path, port: int) -> ThreadingHTTPServer:
    """An HTTP server for the built folder on 127.0.0.1 only (HarnessError when the port cannot be had)."""
    if not 0 <= port <= 65535:
        raise HarnessError(f"--port {port} is not a port number: choose one from 1024 to 65535, e.g. --port 8000")
    handler = functools.partial(QuietHandler, directory=str(out.resolve()))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise HarnessError(f"port {port} on 127.0.0.1 is in use (another server?): choose another with --port N, "
                               f"e.g. --port {port + 1 if port < 65535 else 8001}") from None
        raise HarnessError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}): choose another with --port N "
                           f"(1024-65535)") from None


def serve(server: ThreadingHTTPServer, out: Path) -> None:
    """Serve the built site until Ctrl-C, then return normally (the caller exits 0)."""
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    # Ctrl-C (and a plain kill) stop the server even where the shell started it with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"serving {out}/ at {url} (loopback only; Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.server_close()
