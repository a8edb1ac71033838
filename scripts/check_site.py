"""The browser check on a sample of a built leaderboard's pages (CI runs it on the site built from results/): the
home page, the claims page, every task page, and a seeded sample of method, run and samples pages, at 1400 and 390 px. A page that
scrolls sideways, a plot label that overlaps or is clipped, a samples page that does not render, or any console
error is one line; exit 1 when there is any.

Usage: python scripts/check_site.py build/site [--runs 12]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_site_browser import CHROMIUM, CHROMIUM_ARGS, WIDTHS, page_problems  # noqa: E402


def sample_pages(site: Path, runs: int, seed: int = 0) -> list[str]:
    """The home page, the claims page, every task page, and a seeded sample of the method, run and samples pages."""
    rng = random.Random(seed)

    def pick(pattern: str, count: int) -> list[str]:
        found = sorted(p.relative_to(site).as_posix() for p in site.glob(pattern))
        return sorted(rng.sample(found, min(count, len(found))))

    return ["index.html", "claims.html", *pick("tasks/*.html", 1_000), *pick("methods/*.html", runs // 2), *pick("runs/*.html", runs),
            *pick("runs/*/samples.html", runs)]


def problems_of(site: Path, pages: list[str]) -> list[str]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            return page_problems(browser, site, pages)
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=12, help="run and samples pages to sample (default 12)")
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        print(f"error: {args.site} holds no built site: run `harness site --out {args.site}` first", file=sys.stderr)
        return 2
    pages = sample_pages(args.site, args.runs)
    problems = problems_of(args.site, pages)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    print(f"{len(pages)} page(s) checked at {', '.join(f'{w} px' for w in WIDTHS)}, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
