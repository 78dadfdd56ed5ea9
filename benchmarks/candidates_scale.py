"""Latency of GET /allocation_candidates (and /resource_providers) at scale, in process.

Usage::

    python -m benchmarks.candidates_scale [N] [DB_URL] [--runs R]

Builds ``N`` compute nodes (default 5000) directly in the database with
``tests.candidate_data.TreeBuilder``: every tenth compute has two NUMA
children (PCPU, MEMORY_MB), five sharing storage providers serve the
computes through aggregates, each compute has two of four traits and two
aggregates, and every inventory has some usage (seeded, so every run builds
the same data). Then it times each request shape through the full WSGI app
(no HTTP server) and prints the median of ``R`` runs (default 5), the number
of allocation requests and a digest of the response body, so that two
versions of the engine can be compared for identical answers.

``DB_URL`` defaults to a temporary SQLite file. For PostgreSQL or MySQL pass
the URL of an existing (possibly empty) database that may be wiped, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/allot_bench``: the schema is
upgraded and every row deleted before loading, and ``ANALYZE`` refreshes the
planner statistics afterwards, as autovacuum would (``--no-analyze`` skips
it). ``--no-load`` skips the loading and times the data an earlier run left
in ``DB_URL``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from allotment.store import schema
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder, make_uuid
from tests.functional.store.test_candidates_wide import _app

_TRAITS = ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "CUSTOM_FAST", "COMPUTE_STATUS_DISABLED"]
_BASE = "resources=VCPU:2,MEMORY_MB:2048,DISK_GB:20"

QUERIES: dict[str, tuple[str, str]] = {
    "simple-1000": ("/allocation_candidates", _BASE + "&limit=1000"),
    "simple-all": ("/allocation_candidates", _BASE),
    "trait": ("/allocation_candidates", _BASE + "&required=HW_CPU_X86_AVX2&limit=1000"),
    "forbidden": (
        "/allocation_candidates",
        _BASE + "&required=!COMPUTE_STATUS_DISABLED&limit=1000",
    ),
    "member_of": (
        "/allocation_candidates",
        _BASE + f"&member_of=in:{make_uuid('agg1')},{make_uuid('agg2')}&limit=1000",
    ),
    "granular": (
        "/allocation_candidates",
        "resources=VCPU:1&resources1=PCPU:2,MEMORY_MB:1024"
        "&resources2=PCPU:2,MEMORY_MB:1024&group_policy=isolate&limit=1000",
    ),
    "sharing": ("/allocation_candidates", _BASE + "&required=MISC_SHARES_VIA_AGGREGATE&limit=1000"),
    "none": ("/allocation_candidates", "resources=VCPU:2000,MEMORY_MB:2048&limit=1000"),
    "rp-resources": ("/resource_providers", "resources=VCPU:2,MEMORY_MB:2048,DISK_GB:20"),
}
# GET /allocation_candidates/explain (docs/explain.md) is timed beside each
# candidate query with the same query string; its goal is at most 2x.
EXPLAIN = "/allocation_candidates/explain"


def build(db: Database, computes: int) -> float:
    """Load the data set; returns the seconds it took."""
    rng = random.Random(1)
    start = time.perf_counter()
    with db.write() as conn:
        builder = TreeBuilder(conn)
        for a in range(5):
            builder.provider(
                f"ss{a}",
                inventory={"DISK_GB": 100000},
                used={"DISK_GB": 50000},
                traits=["MISC_SHARES_VIA_AGGREGATE"],
                aggregates=[f"agg{a}"],
            )
        for i in range(computes):
            builder.provider(
                f"cn{i}",
                inventory={
                    "VCPU": {"total": 64, "allocation_ratio": 16.0},
                    "MEMORY_MB": {"total": 262144, "allocation_ratio": 1.5},
                    "DISK_GB": 2000,
                },
                used={
                    "VCPU": rng.randint(0, 900),
                    "MEMORY_MB": rng.randint(0, 190000),
                    "DISK_GB": rng.randint(0, 1000),
                },
                traits=rng.sample(_TRAITS, 2),
                aggregates=[f"agg{i // 20 % 5}", f"cell{i // 20}"],
            )
            if i % 10 == 0:
                for n in range(2):
                    builder.provider(
                        f"cn{i}-numa{n}",
                        parent=f"cn{i}",
                        inventory={"PCPU": 16, "MEMORY_MB": 65536},
                        used={"PCPU": rng.randint(0, 8)},
                    )
    return time.perf_counter() - start


def analyze(db: Database) -> None:
    """Refresh planner statistics after the bulk load, as autovacuum would (not SQLite)."""
    backend = db.url.get_backend_name()
    with db.engine.begin() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        elif backend in ("mysql", "mariadb"):
            for table in (
                "resource_providers",
                "inventories",
                "allocations",
                "resource_provider_traits",
                "resource_provider_aggregates",
                "placement_aggregates",
                "traits",
                "resource_classes",
            ):
                conn.exec_driver_sql(f"ANALYZE TABLE {table}").all()


def request(app: Any, path: str, query: str, version: str = "1.39") -> tuple[int, bytes]:
    """One GET through the WSGI app: status code and raw body."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_X_AUTH_TOKEN": "admin",
        "HTTP_OPENSTACK_API_VERSION": f"placement {version}",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    return int(status[0].split()[0]), body


def _median(app: Any, path: str, query: str, runs: int) -> tuple[float, float, int, bytes]:
    """Median wall and CPU seconds of ``runs`` requests (CPU time is steadier on a busy host)."""
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        code, body = request(app, path, query)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), statistics.median(cpu), code, body


def measure(app: Any, runs: int, explain: bool = True) -> None:
    for name, (path, query) in QUERIES.items():
        median, cpu, code, body = _median(app, path, query, runs)
        data = orjson.loads(body)
        count = len(data.get("allocation_requests", data.get("resource_providers", [])))
        digest = hashlib.sha1(body).hexdigest()[:10]
        line = (
            f"{name:13s} median {median * 1000:8.1f} ms (cpu {cpu * 1000:7.1f})  "
            f"n={count:<6d} code={code} digest={digest}"
        )
        if explain and path == "/allocation_candidates":
            explained, explained_cpu, code, body = _median(app, EXPLAIN, query, runs)
            verdict = orjson.loads(body)["verdict"]["step"] if code == 200 else "-"
            line += (
                f"  explain {explained * 1000:8.1f} ms (cpu {explained_cpu * 1000:7.1f}, "
                f"cpu ratio {explained_cpu / max(cpu, 1e-9):.1f}x) verdict={verdict}"
            )
        print(line, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("computes", nargs="?", type=int, default=5000)
    parser.add_argument("url", nargs="?", default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="keep the statistics as they are (PostgreSQL, MySQL)",
    )
    parser.add_argument(
        "--no-explain", action="store_true", help="do not time GET /allocation_candidates/explain"
    )
    parser.add_argument(
        "--no-load",
        action="store_true",
        help="time the data already in DB_URL (from an earlier run)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.url or f"sqlite:///{Path(tmp) / 'scale.sqlite'}")
        schema.upgrade(db)
        if not args.no_load:
            schema.reset_data(db)
            print(
                f"load {build(db, args.computes):.1f} s ({db.url.get_backend_name()}, "
                f"N={args.computes})",
                flush=True,
            )
        if not args.no_analyze:
            analyze(db)
        measure(_app(db), args.runs, explain=not args.no_explain)
        db.dispose()


if __name__ == "__main__":
    main()
