"""The leaderboard's data layer and builder: boards, ranks, Pareto fronts, downloads, escaping, failed records."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.site.board_table import load_all, pareto_front, records_frame
from tests.conftest import HOSTILE_METHOD as XSS
from tests.conftest import ROOT, harness_cli
from tests.synthetic import write_passkey_record

HOSTILE_OUTPUT = '<script>alert("sample")</script><img src=x onerror="alert(2)">'


def read_samples_script(path: Path) -> list[dict[str, Any]]:
    """The rows a samples.js holds (the inverse of harness.site.build.samples_script)."""
    text = path.read_text()
    packed = text[text.index('"') + 1:text.rindex('"')]
    return json.loads(gzip.decompress(base64.b64decode(packed)))["rows"]


def with_sample_output(path: Path, generated: str) -> str:
    """Give a record's first incorrect sample the output text `generated`, re-scored, with the record's metrics,
    breakdowns and samples sha256 made again so that it still validates; returns that sample's id."""
    from harness.checks.integrity import samples_path
    from harness.contracts.record import Artifacts
    from harness.contracts.registry import TASKS
    from harness.records.store import SampleLog, load_record, samples_sha256, write_record

    record = load_record(path)
    task = TASKS.get(record.task.name)(record.task.options)
    samples = task.samples(record.task.split, record.config.limit, record.config.seed)
    log = SampleLog(samples_path(record, path))
    rows = log.read()
    row = next(r for r in rows if r["scores"][record.main_metric] == 0)
    row["output"] = {**row["output"], "generated": generated}
    row["scores"] = task.score(next(s for s in samples if s.id == row["id"]), row["output"])
    log.rewrite(rows)
    record.metrics = task.metrics_of(rows, record.config.seed)
    record.breakdowns = task.breakdowns(samples, [r["scores"] for r in rows])
    record.artifacts = Artifacts(samples=record.artifacts.samples, sha256=samples_sha256(log.path))
    write_record(path, record)
    return row["id"]


@pytest.fixture(scope="module")
def results(tmp_path_factory, hostile_method) -> Path:
    out = tmp_path_factory.mktemp("results")
    write_passkey_record(out, "full", 0.9, 100_000_000, 2.0, run_index=1)
    write_passkey_record(out, "snapkv", 0.6, 50_000_000, 1.5, run_index=2)
    with_sample_output(write_passkey_record(out, XSS, 0.3, 30_000_000, 1.0, run_index=3), HOSTILE_OUTPUT)
    write_passkey_record(out, "lacache", 0.0, 0, 0.0, run_index=4, status="failed")
    write_passkey_record(out, "lacache", 0.2, 50_000_000, 1.5, run_index=5, hardware="cuda-nvidia-h100")
    write_passkey_record(out, "snapkv", 0.1, 50_000_000, 1.5, run_index=0)  # an older run of snapkv's configuration
    return out


@pytest.fixture(scope="module")
def site(results, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "site"
    proc = harness_cli("site", "--results", str(results), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_pareto_front_keeps_exactly_the_undominated_points():
    xs, ys = [1.0, 2.0, 3.0, 2.5, 1.0], [0.5, 0.7, 0.9, 0.6, 0.4]
    assert pareto_front(xs, ys, higher_is_better=True) == [0, 1, 2]
    assert pareto_front(xs, [-y for y in ys], higher_is_better=False) == [0, 1, 2]  # perplexity-like metrics
    assert pareto_front([1.0, 1.0], [0.5, 0.5], True) == [0, 1]  # equal points do not dominate each other


def test_ranks_are_per_board_and_only_for_current_complete_runs(results):
    from harness.site.paired_ranks import with_ranks

    items = load_all(results)
    frame = with_ranks(records_frame(items), {i.record.run_id: i for i in items}).set_index("run_id")
    cpu = frame[frame["hardware"] == "cpu-2c-test"]
    assert cpu["board"].nunique() == 1 and frame["board"].nunique() == 2
    ranked = cpu[cpu["rank"].notna()].sort_values("rank")
    assert list(ranked["method"]) == ["full", "snapkv", XSS]
    assert frame.loc[frame["hardware"] == "cuda-nvidia-h100", "rank"].tolist() == [1]  # leads its own board only
    failed = frame[frame["status"] == "failed"]
    assert len(failed) == 1 and failed["rank"].isna().all()
    old = frame.loc["20261101T000000-00000000"]
    assert not old["current"] and pd.isna(old["rank"])


def test_site_pages_downloads_and_escaping(site):
    index = (site / "index.html").read_text()
    assert "passkey" in index and "no results yet" in index  # registered tasks without results are listed too
    task = (site / "tasks" / "passkey.html").read_text()
    assert XSS not in task and "&lt;script&gt;alert(1)&lt;/script&gt;" in task
    assert "failed" in task and "cuda-nvidia-h100" in task and "polyline" in task and "depth \\ length" in task
    assert "1 older run(s)" in task
    for html in site.rglob("*.html"):
        assert XSS not in html.read_text(), html
        assert "http://" not in html.read_text() and "src=\"https" not in html.read_text(), html  # nothing external to load
    [cpu_csv] = [p for p in (site / "tasks").glob("passkey--*.csv") if "cpu-2c-test" in p.read_text()]
    rows = list(csv.DictReader(cpu_csv.open()))
    assert [r["method"] for r in rows] == ["full", "snapkv", XSS, "lacache"]
    assert [r["status"] for r in rows] == ["complete", "complete", "complete", "failed"]
    assert json.loads(cpu_csv.with_suffix(".json").read_text())[0]["value"] == pytest.approx(float(rows[0]["value"]))
    run_pages = list((site / "runs").glob("*.html"))
    assert len(run_pages) == 6
    assert any("made-up failure" in p.read_text() for p in run_pages)


def test_site_refuses_to_replace_a_foreign_folder_and_rebuilds_its_own(results, site, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    proc = harness_cli("site", "--results", str(results), "--out", str(foreign))
    assert proc.returncode == 2 and "was not generated by `harness site`" in proc.stderr and "Traceback" not in proc.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"
    (site / "stale.html").write_text("old")
    assert harness_cli("site", "--results", str(results), "--out", str(site)).returncode == 0
    assert not (site / "stale.html").exists() and (site / "index.html").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = harness_cli("site", "--results", str(empty), "--out", str(tmp_path / "s"))
    assert proc.returncode == 2 and "no result records found" in proc.stderr


def test_capability_maps_put_methods_side_by_side_when_one_key_is_fixed():
    from harness.site.plots import comparison, heatmap

    rows_a = [{"category": "trend", "horizon": 96, "n": 2, "near_optimal": 1.0}, {"category": "noise", "horizon": 96, "n": 2, "near_optimal": 0.5}]
    rows_b = [{"category": "trend", "horizon": 96, "n": 2, "near_optimal": 0.0}]
    names = {"near_optimal"}
    side = comparison("map", [("a", rows_a), ("b", rows_b)], "near_optimal", names, True, str)
    assert side.col_key == "method" and side.cols == ["a", "b"] and [r for r, _ in side.rows] == ["noise", "trend"]
    assert side.rows[0][1][1] is None and side.rows[1][1][0][0] == "1.0"  # b has no noise series; a is perfect on trends
    assert side.rows[1][1][0][1] != side.rows[1][1][1][1]  # best and worst get different colours
    two_way = rows_a + [{"category": "trend", "horizon": 24, "n": 2, "near_optimal": 1.0},
               {"category": "periodic", "horizon": 24, "n": 2, "near_optimal": 0.0}]
    assert comparison("map", [("a", two_way)], "near_optimal", names, True, str) is None  # both keys vary
    per_method = heatmap("a", two_way, "near_optimal", names, True, str)
    assert per_method.row_key == "category" and per_method.cols == [24, 96]  # more distinct values run down the rows


def test_a_breakdown_may_report_the_main_metrics_stem():
    from harness.site.samples_page import stem_column as breakdown_metric

    assert breakdown_metric("uap_novel", {"pattern", "n", "uap", "recall_at_1"}) == "uap"  # per-pattern μAP for uap_novel
    assert breakdown_metric("auroc", {"domain", "auroc", "auroc_low"}) == "auroc"  # the metric itself wins
    assert breakdown_metric("exact_match", {"depth", "n", "partial"}) == "exact_match"  # no stem: nothing to draw


def test_each_run_is_paired_with_its_boards_reference(results):
    from harness.site.versus_reference import Comparer, with_versus

    items = load_all(results)
    by_run = {i.record.run_id: i for i in items}
    frame = with_versus(records_frame(items), by_run)
    cpu = frame[(frame["hardware"] == "cpu-2c-test") & frame["current"]].set_index("method")
    assert cpu.loc["full", "delta_how"] == "reference" and cpu.loc["full", "memory_ratio"] == 1.0
    snap = cpu.loc["snapkv"]
    assert snap["delta_how"] == "paired" and snap["delta_n"] == 10
    assert snap["delta"] == pytest.approx(0.6 - 0.9)
    assert snap["delta_low"] < snap["delta"] < snap["delta_high"]
    assert snap["memory_ratio"] == pytest.approx(0.5) and snap["memory_what"] == "KV cache while answering"
    assert snap["latency_ratio"] == pytest.approx(0.75) and snap["latency_what"] == "time per output token p50"
    assert pd.isna(cpu.loc["lacache", "delta"])  # failed: nothing to compare
    h100 = frame[frame["hardware"] == "cuda-nvidia-h100"].iloc[0]
    assert h100["reference"] == "full" and pd.isna(h100["delta"])  # no full run on that hardware: no cross-machine ratio
    task = __import__("harness.contracts.registry", fromlist=["TASKS"]).TASKS.get("passkey")({})
    run = str(snap["run_id"])
    comparer = Comparer(by_run)
    assert comparer.faithful(task, "exact_match", run, 0.6) and not comparer.faithful(task, "exact_match", run, 0.7)


def test_ticks_are_round_and_cover_the_values():
    from harness.site.axis_ticks import linear_ticks
    from harness.site.plots import log_unit_ticks

    low, high, ticks = linear_ticks(0.06, 0.76)
    assert (low, high) == (0.0, 0.8) and ticks == [0.0, 0.2, 0.4, 0.6, 0.8]
    low, high, ticks = linear_ticks(20.36, 25.06)
    assert low <= 20.36 and high >= 25.06 and len(set(ticks)) == len(ticks)
    assert all(abs(t - round(t)) < 1e-9 for t in ticks)  # step 1
    low, high, ticks = log_unit_ticks(6.5 * 1024, 3 * 1024 ** 2, "bytes")  # log axes: 1, 10, 100 of each unit
    assert (low, high) == (1024, 10 * 1024 ** 2) and [t for _, t in ticks] == ["1 KiB", "10 KiB", "100 KiB", "1 MiB", "10 MiB"]
    assert [t for _, t in log_unit_ticks(0.0049, 0.3, "seconds")[2]] == ["1 ms", "10 ms", "100 ms", "1 s"]


def test_labels_never_overlap_and_stay_inside_the_canvas():
    from harness.site.plot_labels import CHAR_WIDTH, Box, place_labels

    canvas = Box(0, 0, 300, 200)
    points = [(150 + dx, 100 + dy, f"method{k}") for k, (dx, dy) in enumerate([(0, 0), (2, 1), (4, -1), (1, 3), (290 - 150, -90)])]
    placed = place_labels([(x, y, t) for x, y, t in points], canvas)
    boxes = []
    for (x, y, text), spot in zip(points, placed):
        if spot is None:
            continue
        width = CHAR_WIDTH * len(text) + 2
        left = spot.x if spot.anchor == "start" else spot.x - width if spot.anchor == "end" else spot.x - width / 2
        box = Box(left, spot.y - 12, left + width, spot.y)
        assert box.inside(canvas), text
        assert not any(box.overlaps(b) for b in boxes), text
        boxes.append(box)
    assert placed[4] is not None and placed[4].anchor == "end"  # at the right edge the label goes left, not off-canvas
    assert place_labels([(5, 5, "x" * 80)], canvas) == [None]  # too long for the canvas: left out, never clipped


def place_labels_checking_every_box(points, canvas, blocked=()):
    """The quadratic placement the indexed one must reproduce: each candidate against every box placed before it."""
    from harness.site.plot_labels import CHAR_WIDTH, MARKER, Box, candidates

    markers = [Box(x - MARKER, y - MARKER, x + MARKER, y + MARKER) for x, y, _ in points]
    taken, out = markers + list(blocked), []
    for (x, y, text), own in zip(points, markers):
        spot = next(((p, box) for p, box in candidates(x, y, CHAR_WIDTH * len(text) + 2)
                     if box.inside(canvas) and not any(box.overlaps(t) for t in taken if t != own)), None)
        if spot is not None:
            taken.append(spot[1])
        out.append(spot and spot[0])
    return out


def test_labels_are_those_of_checking_every_box():
    import random

    from harness.site.plot_labels import Box, place_labels

    rng = random.Random(29)
    for _ in range(400):
        canvas = Box(65.0, 17.0, 65.0 + rng.choice([120, 300, 378]), 17.0 + rng.choice([80, 238]))
        cx, cy = (canvas.left + canvas.right) / 2, (canvas.top + canvas.bottom) / 2
        shape = rng.choice(["spread", "cluster", "grid"])
        points = []
        for _ in range(rng.randint(0, 40)):
            if shape == "spread":
                x, y = rng.uniform(canvas.left - 10, canvas.right + 10), rng.uniform(canvas.top - 10, canvas.bottom + 10)
            elif shape == "cluster":  # points a pixel apart or on top of one another, as near-identical runs draw
                x, y = cx + rng.uniform(0, 1) * rng.randint(0, 1), cy + rng.uniform(0, 1) * rng.randint(0, 1)
            else:  # on a 6 px lattice: boxes that exactly touch (touching is not overlapping)
                x, y = cx + 6 * rng.randint(-6, 6), cy + 6 * rng.randint(-4, 4)
            points.append((x, y, "m" * rng.randint(0, 14)))
        points += points[:1] * rng.randint(0, 3)  # repeated points: each ignores the others' markers, as its own
        blocked = [Box(x, y, x + rng.uniform(0, 200), y + rng.uniform(0, 30))
                   for x, y in ((rng.uniform(0, canvas.right), rng.uniform(0, canvas.bottom)) for _ in range(rng.randint(0, 2)))]
        assert place_labels(points, canvas, blocked) == place_labels_checking_every_box(points, canvas, blocked)


def test_label_placement_compares_a_bounded_number_of_boxes_per_point(monkeypatch):
    """Thousands of points (on one spot, in a one-pixel cluster, spread over the plot): the box comparisons grow
    linearly with the points, where checking every placed box makes about 16 n^2 / 2 of them (36 million at 3,000)."""
    import random

    from harness.site.plot_labels import Box, place_labels

    comparisons = 0
    overlaps = Box.overlaps

    def counted(self, other):
        nonlocal comparisons
        comparisons += 1
        return overlaps(self, other)

    monkeypatch.setattr(Box, "overlaps", counted)
    rng = random.Random(3)
    canvas = Box(65, 17, 443, 255)
    n = 3000
    layouts = {"one spot": [(250.0, 130.0, "full")] * n,
               "cluster": [(250 + rng.uniform(0, 1), 130 + rng.uniform(0, 1), f"method-{i}") for i in range(n)],
               "spread": [(rng.uniform(65, 443), rng.uniform(17, 255), f"method-{i}") for i in range(n)]}
    for name, points in layouts.items():
        comparisons = 0
        placed = place_labels(points, canvas)
        assert comparisons <= 64 * n, name
        assert sum(p is not None for p in placed) < 100, name  # a crowded plot labels a few points, lists the rest


def test_scatter_lists_methods_without_a_value_and_draws_chance():
    from harness.site.plots import scatter

    rows = [{"method": "a", "value": 0.7, "ci_low": 0.6, "ci_high": 0.8, "cost": 10.0, "run_page": "a"},
            {"method": "b", "value": 0.55, "ci_low": None, "ci_high": None, "cost": 20.0, "run_page": "b"},
            {"method": "c", "value": 0.6, "ci_low": 0.5, "ci_high": 0.7, "cost": None, "run_page": "c"}]
    plot = scatter("t", "cost", "auroc", rows, "cost", True, "bytes", str, str, chance=0.5, reference="b")
    assert plot.missing == ["c"] and [p.label for p in plot.points] == ["a", "b"]
    assert plot.chance is not None and plot.points[0].py_low > plot.points[0].py > plot.points[0].py_high
    assert [p.reference for p in plot.points] == [False, True]
    assert min(y for y, _ in plot.y_ticks) >= plot.plot_top and plot.chance[0] <= plot.plot_bottom
    assert [label for _, label in plot.x_ticks] == ["10 B", "12 B", "14 B", "16 B", "18 B", "20 B"]


def test_pages_use_relative_paths_and_samples_show_gold_and_outcome(site, results):
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert str(results) not in text and str(results.resolve()) not in text, html
    run = next(p for p in (site / "runs").glob("*.html") if "snapkv on passkey" in p.read_text() and "older" not in p.read_text())
    assert f"harness verify {results.name}/passkey/snapkv/" in run.read_text()
    assert f'href="{run.stem}/samples.html"' in run.read_text() and "samples-1.html" not in run.read_text()
    rows = read_samples_script(site / "runs" / run.stem / "samples.js")
    assert {r["outcome"] for r in rows} == {"correct", "incorrect"} and len(rows) == 10
    assert rows[0]["input"] == "length=1024 · depth=0.0" and rows[0]["id"] == "len1024-depth0.00"
    assert all(r["score_text"] == ("1.000" if r["outcome"] == "correct" else "0.000") for r in rows)
    assert json.loads(rows[0]["raw"])["id"] == rows[0]["id"]  # the raw log row (the page indents it)
    from harness.contracts.registry import TASKS
    from tests.synthetic import PASSKEY_OPTIONS

    golds = [s.target for s in TASKS.get("passkey")(PASSKEY_OPTIONS).samples("offline", None, 0)]
    assert [r["gold"] for r in rows] == golds


def test_samples_are_one_compressed_script_per_run_and_logs_are_never_copied(site, results):
    from harness.checks.integrity import samples_path
    from harness.records.store import SampleLog, load_record

    assert not list(site.rglob("*.jsonl*")) and not list(site.rglob("samples-*.html"))  # no copies, no 50-row pages
    scripts = sorted(site.glob("runs/*/samples.js"))
    assert len(scripts) == 5 and len(list(site.glob("runs/*/samples.html"))) == 5  # the failed run has no samples
    for script in scripts:
        text = script.read_text()
        assert text.startswith('window.HARNESS_SAMPLES = "') and text.endswith('";\n') and text.count("\n") == 1
        assert "<" not in text and ">" not in text  # base64: nothing in it can close the <script> or open markup
        page = (script.parent / "samples.html").read_text()
        assert '<script src="samples.js"></script>' in page and page.index("samples.js") < page.index("assets/site.js")
    [hostile] = [s for s in scripts if any(r["output"] == HOSTILE_OUTPUT for r in read_samples_script(s))]
    path = next(p for p in results.rglob(f"{hostile.parent.name}.json"))
    log_rows = SampleLog(samples_path(load_record(path), path)).read()
    assert [r["id"] for r in read_samples_script(hostile)] == [r["id"] for r in log_rows]  # every row, in log order
    assert HOSTILE_OUTPUT not in (hostile.parent / "samples.html").read_text()
    assert "samples log is <code>results" in (hostile.parent.parent / f"{hostile.parent.name}.html").read_text()


def test_site_builds_into_build_site_by_default(results, tmp_path):
    proc = harness_cli("site", "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "build" / "site" / "index.html").exists() and "build/site/" in proc.stdout
    assert not (tmp_path / "site").exists()


def test_serve_rebuilds_only_when_a_record_is_newer(results, tmp_path):
    from harness.site.build import SITE_MARKER, build_site, needs_build

    out = tmp_path / "site"
    assert needs_build(results, out)  # nothing built yet
    build_site(results, out)
    assert not needs_build(results, out)
    record = next(results.rglob("*.json"))
    later = (out / SITE_MARKER).stat().st_mtime + 10
    os.utime(record, (later, later))
    assert needs_build(results, out)
    os.utime(record, (later - 20, later - 20))
    assert not needs_build(results, out)
    os.utime(record.parent, (later, later))  # a record added or removed changes its folder
    assert needs_build(results, out)


def serving(*args: str) -> tuple[subprocess.Popen, str]:
    """`harness site --serve` in a subprocess; returns it and the URL it prints, once it listens."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "site", "--serve", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in iter(proc.stdout.readline, "")], daemon=True).start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if "serving" in line:
            return proc, re.search(r"http://127\.0\.0\.1:\d+/index\.html", line).group(0)
    proc.kill()
    raise AssertionError(f"no URL printed: {proc.stderr.read()}")


def test_serve_on_loopback_stops_cleanly_on_ctrl_c(results, tmp_path):
    out = tmp_path / "served"
    proc, url = serving("--port", "0", "--results", str(results), "--out", str(out))
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
        index = opener.open(url, timeout=30).read().decode()
        assert "<h1>Leaderboard</h1>" in index
        run = next(out.glob("runs/*/samples.js")).parent.name
        script = opener.open(url.replace("index.html", f"runs/{run}/samples.js"), timeout=30)
        assert script.headers["Content-Type"].startswith("text/javascript")
        assert (out / "index.html").exists()  # built first: there was no build there
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in stderr and "interrupted" not in stderr, stderr


def test_serve_on_a_busy_port_is_one_line_and_exit_2(site, results):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = harness_cli("site", "--serve", "--port", str(port), "--results", str(results), "--out", str(site), timeout=60)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.splitlines()
    assert f"port {port}" in line and "--port N" in line and "Traceback" not in proc.stderr


def test_home_matrix_verdicts():
    from harness.site.home_matrix import cost_verdict, verdict

    base = {"higher_is_better": True, "delta": -0.3, "delta_low": -0.5, "delta_high": -0.1, "delta_how": "paired"}
    assert verdict(base) == "worse"
    assert verdict({**base, "delta_high": 0.1}) == "same"
    assert verdict({**base, "higher_is_better": False}) == "better"  # lower perplexity is better
    assert verdict({**base, "delta_how": "unpaired", "delta_low": None}) == "leans-worse"
    assert verdict({**base, "delta_how": "reference"}) == "reference"
    assert [cost_verdict(r) for r in (0.5, 1.0, 1.5, None)] == ["saves", "even", "costs", "none"]


@pytest.mark.parametrize("default_first", [True, False])
def test_a_tie_in_usual_options_goes_to_the_tasks_defaults(default_first):
    import pandas as pd

    from harness.site.board_table import canonical, usual_options
    from tasks.copy_detection.task import CopyDetectionOptions

    isc = CopyDetectionOptions().model_dump(mode="json")
    anypattern = CopyDetectionOptions(preset="anypattern").model_dump(mode="json")
    assert isc != anypattern
    keys = [canonical(isc)] * 5 + [canonical(anypattern)] * 5
    frame = pd.DataFrame({"options_key": keys if default_first else keys[::-1]})
    assert usual_options(frame, "copy_detection") == isc  # five records each: the defaults win the tie
    frame = pd.DataFrame({"options_key": [canonical(anypattern)] * 6 + [canonical(isc)] * 5})
    assert usual_options(frame, "copy_detection") == anypattern  # no tie: the most common options


def test_samples_pages_cut_long_raw_rows_and_keep_short_ones_whole():
    from harness.site.samples_page import RAW_LIMIT, raw_json

    short_row = json.dumps({"id": "q1", "scores": {"score_1": 0.5}})
    assert raw_json(short_row) == short_row  # the log's line, whole
    long_row = json.dumps({"id": "q2", "scores": {f"score_{i}": 0.123456 for i in range(1, 201)}})
    shown = raw_json(long_row)
    assert len(shown) < RAW_LIMIT + 60 and shown.endswith("(cut: the whole row is in the run's samples log)")
    assert shown.startswith('{"id": "q2"') and "\n" not in shown[:RAW_LIMIT]


def test_csv_downloads_quote_cells_a_spreadsheet_would_run_as_formulas(tmp_path):
    from harness.site.build import write_downloads

    names = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "plain", "a=b"]
    frame = pd.DataFrame({"method": names, "value": [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "delta": [-0.25] * 7})
    csv_name, json_name = write_downloads(frame, tmp_path, "board")
    rows = list(csv.DictReader((tmp_path / csv_name).open()))
    assert [r["method"] for r in rows] == ["'" + n for n in names[:5]] + names[5:]
    assert rows[0]["value"] == "-0.5" and rows[0]["delta"] == "-0.25"  # numbers stay numbers, signs and all
    assert [r["method"] for r in json.loads((tmp_path / json_name).read_text())] == names  # JSON keeps the names as they are


def test_a_long_one_key_breakdown_is_drawn_as_lines_on_a_log_axis_when_it_spans_decades():
    from harness.site.plots import CURVE_MIN_POINTS, curve

    flat = [{"position": p, "n": 8, "nll": 2.3, "perplexity": 10.0} for p in range(0, 4096, 256)]
    rising = [{"position": p, "n": 8, "nll": 2.3, "perplexity": 10.0 if p < 2048 else 900.0} for p in range(0, 4096, 256)]
    lines = curve("ppl", [("streamingllm", flat), ("full", rising)], "perplexity", {"nll", "perplexity"}, str)
    assert [line.label for line in lines.lines] == ["streamingllm", "full"] and lines.lines[0].style != lines.lines[1].style
    assert lines.y_label == "perplexity (log scale)" and lines.x_label == "position"  # 10 to 900: 90x, so log
    assert len(lines.lines[1].points.split()) == len(rising)
    ys = [float(p.split(",")[1]) for p in lines.lines[1].points.split()]
    assert ys[0] > ys[-1]  # higher perplexity is drawn higher (smaller SVG y)
    assert "10.0 at position 0 to 900.0 at 3840" in lines.lines[1].tooltip
    short = [r for r in flat[:CURVE_MIN_POINTS - 1]]
    assert curve("ppl", [("a", short)], "perplexity", {"nll", "perplexity"}, str) is None  # few keys: a table instead
    two_keys = [{"depth": d, "length": 1, "exact_match": 1.0} for d in range(10)] + [{"depth": 0, "length": 2, "exact_match": 0.0}]
    assert curve("em", [("a", two_keys)], "exact_match", {"exact_match"}, str) is None


def test_a_swept_run_is_labelled_by_the_values_that_tell_it_apart():
    from harness.site.board_table import LABEL_PARAMS_CHARS, label_runs, run_label

    def row(method, board, params, current=True):
        return {"method": method, "board": board, "params_key": json.dumps(params, sort_keys=True), "current": current}

    frame = pd.DataFrame([row("lacache", "a", {"budget": 0.25, "span": 16}), row("lacache", "a", {"budget": 0.75, "span": 16}),
                          row("full", "a", {"budget": 0.5}), row("lacache", "b", {"budget": 0.25, "span": 16}),
                          row("lacache", "a", {"budget": 0.5, "span": 16}, current=False)])
    assert label_runs(frame).tolist() == ["lacache budget=0.25", "lacache budget=0.75", "full", "lacache", "lacache"]
    long = run_label("m", {"x" * 80: 1})
    assert long.startswith("m x") and long.endswith("…") and len(long) == len("m ") + LABEL_PARAMS_CHARS


def test_the_home_matrix_shows_every_run_even_off_the_main_board():
    from harness.site.build import rows_of
    from harness.site.home_matrix import matrices

    def row(label, board, value, **extra):
        return {"current": True, "hardware": "cpu-2c-test", "family": "long_context", "task": "passkey", "board": board,
                "label": label, "method_page": label.split()[0], "main_metric": "exact_match", "higher_is_better": True,
                "reference": "full", "task_page": "passkey", "status": "complete", "value": value, "delta_how": "paired",
                "delta": value - 0.9, "delta_low": value - 1.0, "delta_high": value - 0.8, "memory_ratio": 0.5,
                "latency_ratio": 1.3, "latency_unstable": True, **extra}

    frame = pd.DataFrame([row("full", "main", 0.9, delta_how="reference"), row("snapkv", "main", 0.5),
                          row("lacache budget=0.25", "main", 0.4), row("lacache budget=0.75", "main", 0.7),
                          row("knorm", "limit8", 0.2), row("full", "limit8", 0.8)])
    [matrix] = matrices(frame, rows_of)["cpu-2c-test"]
    rows = {label: cells[0] for label, _, cells in matrix.rows}
    assert set(rows) == {"full", "snapkv", "lacache budget=0.25", "lacache budget=0.75", "knorm"}  # one row per swept value
    assert rows["knorm"].elsewhere == "tasks/passkey.html#board-limit8"  # only on a smaller board: shown, marked
    assert rows["full"].elsewhere is None and rows["full"].row["value"] == 0.9  # the main board's run wins
    assert matrix.tasks[0].href == "tasks/passkey.html#board-main"


def test_a_latency_ratio_from_unstable_timings_is_flagged_either_side():
    from harness.site.versus_reference import ratio, unstable

    keys = [("latency:ttft", "ttft p50")]
    row = pd.Series({"latency:ttft": 1.5, "unstable:ttft": False})
    ref = pd.Series({"latency:ttft": 2.0, "unstable:ttft": True})
    value, what, key = ratio(row, ref, keys)
    assert (value, what, key) == (0.75, "ttft p50", "latency:ttft")
    assert not unstable(row, key) and unstable(ref, key)  # the reference's timings make the ratio unstable
    assert not unstable(pd.Series({"latency:ttft": 1.0}), key) and not unstable(row, "")  # older frames: no flag, no claim
