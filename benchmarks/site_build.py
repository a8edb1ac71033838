"""How long `harness site` takes for many records: generates N synthetic passkey records, then times the build.

    python benchmarks/site_build.py [--records 1000]

Records are spread over 50 methods, 4 hardware keys and seeds (10 samples each, every one valid for
`harness validate`); the build renders every page, plot, heatmap, per-run samples file and download.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.site import build_site  # noqa: E402
from tests.synthetic import write_passkey_record  # noqa: E402

HARDWARE = ["cpu-2c-amd-epyc", "cpu-16c-intel-xeon", "cuda-nvidia-h100-80gb-hbm3", "cuda-nvidia-h200"]
METHODS = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results, site = Path(tmp) / "results", Path(tmp) / "site"
        start = time.perf_counter()
        for i in range(args.records):
            method, hardware, seed = i % METHODS, (i // METHODS) % len(HARDWARE), i // (METHODS * len(HARDWARE))
            write_passkey_record(results, f"method-{method:02d}", (method % 11) / 10, (method + 1) * 2_000_000,
                                 0.5 + method / 50, run_index=i, hardware=HARDWARE[hardware], seed=seed)
        generated = time.perf_counter() - start
        start = time.perf_counter()
        count = len(build_site(results, site).items)
        built = time.perf_counter() - start
        pages = sum(1 for _ in site.rglob("*.html"))
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(f"generated {args.records} records in {generated:.1f} s")
    print(f"harness site: {count} records -> {pages} pages, {size / 2**20:.1f} MiB, built in {built:.1f} s "
          f"({built / count * 1000:.1f} ms per record)")


if __name__ == "__main__":
    main()
