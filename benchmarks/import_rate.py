"""Measure ``allotment db import`` throughput (rows/s) on a realistic source.

    python benchmarks/import_rate.py [--source sqlite|postgresql|mysql]
                                     [--target sqlite|postgresql|mysql]
                                     [--trees 2500] [--batch-size 5000] [--shape nova_api|upstream]

Run from the repository root. The default 2,500 compute trees make a source
of 10,051 providers, 100,000 allocations, 30,000 consumers and 20,000
inventories (tests/sources.py builds it). PostgreSQL and MySQL databases are
created on the test servers (ALLOTMENT_TEST_POSTGRESQL_URL /
ALLOTMENT_TEST_MYSQL_URL); SQLite files go to a temporary directory. The
figure printed is rows copied (every table) divided by the wall time of the
whole import, verification included.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from allotment.store import importer, schema  # noqa: E402
from allotment.store.engine import Database  # noqa: E402
from tests import databases  # noqa: E402
from tests.sources import build_source  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", choices=databases.BACKENDS, default="sqlite")
    parser.add_argument("--target", choices=databases.BACKENDS, default="sqlite")
    parser.add_argument("--shape", choices=("nova_api", "upstream"), default="nova_api")
    parser.add_argument("--trees", type=int, default=2500)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="import-bench-"))
    source_url = databases.create_database(args.source, "allot_bench_import_src", tmp)
    started = time.monotonic()
    build_source(source_url, args.shape, trees=args.trees, instances_per_tree=12)
    print(f"built {args.shape} source on {args.source} in {time.monotonic() - started:.1f}s")
    target = Database(databases.create_database(args.target, "allot_bench_import_tgt", tmp))
    schema.upgrade(target)
    report = importer.run_import(
        source_url, target, importer.ImportOptions(batch_size=args.batch_size)
    )
    target.dispose()
    counts = {c.table: c.source for c in report.counts}
    print(
        f"source: {counts['resource_providers']} providers, {counts['allocations']} "
        f"allocations, {counts['consumers']} consumers, {counts['inventories']} inventories"
    )
    print(
        f"import {args.source} -> {args.target}: {report.rows} rows in {report.seconds:.1f}s "
        f"= {report.rate:,.0f} rows/s (verified: {'ok' if report.ok else 'MISMATCH'})"
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
