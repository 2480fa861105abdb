"""Size of the committed dataset file: bytes per graph of the xz JSON-lines export, and the size
projected to 20k graphs (the budget is 50 MB), beside gzip of the same lines for comparison.

    .venv/bin/python bench/dataset_export.py --db var/dataset/edgeperf.sqlite
"""

from __future__ import annotations

import argparse
import gzip
import lzma
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataset.export import export_dataset
from dataset.store import DEFAULT_DB_URL, Store

BUDGET_MB = 50.0
TARGET_GRAPHS = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB_URL, help="dataset store URL or SQLite path")
    args = parser.parse_args()
    store = Store(args.db)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ds.jsonl.xz"
        t0 = time.perf_counter()
        counts = export_dataset(store, path)
        export_s = time.perf_counter() - t0
        xz_bytes = path.stat().st_size
        with lzma.open(path, "rb") as fh:
            raw = fh.read()
    gz_bytes = len(gzip.compress(raw, compresslevel=9))
    graphs = max(1, counts["graphs"])
    print(f"rows: {counts}")
    print(f"raw JSON lines: {len(raw) / 1e6:.2f} MB ({len(raw) / graphs:.0f} B/graph)")
    for name, size in (("xz -9", xz_bytes), ("gzip -9", gz_bytes)):
        projected_mb = size / graphs * TARGET_GRAPHS / 1e6
        print(
            f"{name:8s}: {size / 1e6:.3f} MB, {size / graphs:.0f} B/graph, "
            f"{TARGET_GRAPHS} graphs -> {projected_mb:.1f} MB (budget {BUDGET_MB:.0f} MB)"
        )
    print(f"export time: {export_s:.2f} s")
    store.dispose()


if __name__ == "__main__":
    main()
