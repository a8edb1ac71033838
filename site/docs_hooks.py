"""mkdocs hook: fills the generated parts of a page (harness.docs) from the installed code and the committed records."""

from __future__ import annotations

import os
from pathlib import Path

from harness.docs import render

ROOT = Path(__file__).resolve().parent.parent


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 (mkdocs' signature)
    results = Path(os.environ.get("HARNESS_DOCS_RESULTS", ROOT / "results"))
    receipt = os.environ.get("HARNESS_DOCS_RECEIPT")
    return render(markdown, results, Path(receipt) if receipt else None)
