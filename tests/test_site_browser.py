"""The built site in a real browser: Debian's chromium driven by Playwright, served over loopback."""

from __future__ import annotations

import csv
import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import harness_cli
from tests.synthetic import write_passkey_record

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
XSS = "<script>alert(1)</script>"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`, done by "
                    "`scripts/setup.sh --with-browser`)")
    results = tmp_path_factory.mktemp("results")
    write_passkey_record(results, "full", 0.9, 100_000_000, 2.0, run_index=1)
    write_passkey_record(results, "snapkv", 0.5, 50_000_000, 1.5, run_index=2)
    write_passkey_record(results, XSS, 0.7, 30_000_000, 1.0, run_index=3)
    write_passkey_record(results, "lacache", 0.0, 0, 0.0, run_index=4, status="failed")
    site = tmp_path_factory.mktemp("www") / "site"
    proc = harness_cli("site", "--results", str(results), "--out", str(site))
    assert proc.returncode == 0, proc.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def page(served_site):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.failed_requests = []
        page.on("requestfailed", lambda r: page.failed_requests.append(r.url))
        page.goto(served_site + "/index.html")
        yield page
        browser.close()


def method_column(page) -> list[str]:
    return page.locator("table.sortable tbody tr td:nth-child(2)").all_inner_texts()


def test_home_to_task_sort_filter_download_and_run(page, tmp_path):
    expect(page.locator("h1")).to_have_text("Leaderboard")
    expect(page.get_by_text("long context")).to_be_visible()
    leader = page.locator("div.leader").first
    expect(leader).to_contain_text("full")

    page.get_by_role("link", name="passkey", exact=True).click()
    expect(page.locator("h1")).to_have_text("passkey")
    assert method_column(page) == ["full", XSS, "snapkv", "lacache"]  # by rank; the failed run last, unranked
    expect(page.locator("table.sortable").get_by_text("failed")).to_be_visible()

    header = page.locator("table.sortable thead th", has_text="exact_match")
    header.click()
    assert method_column(page) == ["snapkv", XSS, "full", "lacache"]  # ascending; missing values sink
    expect(header).to_have_attribute("aria-sort", "ascending")
    header.click()
    assert method_column(page) == ["full", XSS, "snapkv", "lacache"]

    # a method name that is markup is shown as text and never runs
    expect(page.get_by_role("link", name=XSS, exact=True)).to_have_text(XSS)
    assert page.dialogs == []

    page.get_by_placeholder("method, model, status...").fill("snap")
    expect(page.locator("table.sortable tbody tr:visible")).to_have_count(1)
    page.get_by_placeholder("method, model, status...").fill("")

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    saved = tmp_path / "table.csv"
    info.value.save_as(saved)
    rows = list(csv.DictReader(saved.open()))
    assert [r["method"] for r in rows] == ["full", XSS, "snapkv", "lacache"]
    assert float(rows[0]["value"]) > float(rows[2]["value"])

    page.locator("table.sortable tbody tr", has_text="snapkv").get_by_role("link", name="20261101").click()
    expect(page.locator("h1")).to_have_text("snapkv on passkey")
    expect(page.locator("pre.command")).to_have_text(  # rebuilt from the record's configuration
        "harness run --method snapkv --task passkey --split offline --seed 0 --model test/tiny-llama --method-arg budget=0.5 "
        "--task-arg 'depths=[0.0,0.25,0.5,0.75,1.0]' --task-arg 'lengths=[1024,2048]'")
    page.get_by_role("link", name="page 1").click()
    expect(page.locator("table.samples tbody tr")).to_have_count(10)
    assert page.failed_requests == []


def test_method_page_lists_every_result(page, served_site):
    page.goto(served_site + "/index.html")
    page.get_by_role("link", name="lacache", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("lacache")
    expect(page.get_by_text("ladder", exact=False).first).to_be_visible()  # the registry's description
    expect(page.locator("#table-method tbody tr")).to_have_count(1)
    expect(page.locator("#table-method")).to_contain_text("failed")
