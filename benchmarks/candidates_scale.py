"""Latency of GET /allocation_candidates (and /resource_providers) at scale, in process.

Usage::

    python -m benchmarks.candidates_scale [N[,N...]] [DB_URL] [--runs R]
        [--modes sql,memory] [--json FILE]

Builds ``N`` compute nodes (default 5000) directly in the database with
``tests.candidate_data.TreeBuilder``: every tenth compute has two NUMA
children (PCPU, MEMORY_MB), five sharing storage providers serve the
computes through aggregates, each compute has two of four traits and two
aggregates, and every inventory has some usage (seeded, so every run builds
the same data). Then it times each request shape through the full WSGI app
(no HTTP server) and prints the median of ``R`` runs (default 5), the number
of allocation requests and a digest of the response body (and the median
CPU time of this process per request: on a shared machine it is disturbed
less than the wall clock), so that two
versions of the engine can be compared for identical answers.

Each shape is timed in every ``--modes`` in the same run, one after the
other: ``sql`` researches by SQL on every request (``[allotment]
in_memory_candidates = false``), ``memory`` reads the worker's in-memory model
(the default). The model is loaded by a first, untimed request (its load time
is printed) and each mode gets one untimed warm-up request per shape. Several
sizes (``1000,5000,50000``) are built and timed one after the other; ``--json``
appends one record per size, mode and shape (for ``benchmarks.scale_chart``).

The data goes straight into the database (``TreeBuilder``, plain SQL inserts
that also write the change feed), not through the API: at N=50,000 the API
loader would take hours here.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from allotment.store import changes, schema
from allotment.store import tables as t
from allotment.store.candidates import model as model_mod
from allotment.store.engine import Database, utcnow
from allotment.store.standard import STANDARD_RESOURCE_CLASS_IDS
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
    "claim-10": (
        "/allocation_candidates",
        "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=10",
    ),
    "none": ("/allocation_candidates", "resources=VCPU:2000,MEMORY_MB:2048&limit=1000"),
    "rp-resources": ("/resource_providers", "resources=VCPU:2,MEMORY_MB:2048,DISK_GB:20"),
}
MODES = {"sql": False, "memory": True}
# GET /allocation_candidates/explain (docs/explain.md) is timed beside each
# candidate query with the same query string, in the same mode; its goal is at most 2x.
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


def build_bulk(db: Database, computes: int) -> float:
    """The same data as ``build`` (same seed, names, uuids, usage), inserted in bulk.

    Rows are generated in Python and written with one multi-row insert per
    table and batch (provider ids chosen here, so roots and parents need no
    second pass); then one change-feed row tells running models to reload.
    Minutes instead of an hour at N=50,000 on a busy machine.
    """
    rng = random.Random(1)
    start = time.perf_counter()
    now = utcnow()
    rc_ids = dict(STANDARD_RESOURCE_CLASS_IDS)
    providers: list[dict[str, Any]] = []
    inventories: list[dict[str, Any]] = []
    allocations: list[dict[str, Any]] = []
    traits: list[tuple[int, str]] = []
    aggregates: list[tuple[int, str]] = []

    def add(
        name: str,
        parent: dict[str, Any] | None,
        inventory: dict[str, dict[str, Any]],
        used: dict[str, int],
        trait_names: list[str] = (),  # type: ignore[assignment]
        agg_names: list[str] = (),  # type: ignore[assignment]
    ) -> dict[str, Any]:
        pid = len(providers) + 1
        row = {
            "id": pid,
            "uuid": make_uuid(name),
            "name": name,
            "generation": 0,
            "created_at": now,
            "parent_provider_id": parent["id"] if parent else None,
            "root_provider_id": parent["root_provider_id"] if parent else pid,
        }
        providers.append(row)
        for rc, fields in sorted(inventory.items()):
            inventories.append(
                {
                    "resource_provider_id": pid,
                    "resource_class_id": rc_ids[rc],
                    "total": fields["total"],
                    "reserved": 0,
                    "min_unit": 1,
                    "max_unit": 2147483647,
                    "step_size": 1,
                    "allocation_ratio": fields.get("allocation_ratio", 1.0),
                    "created_at": now,
                }
            )
            amount = used.get(rc, 0)
            first = amount // 2
            for consumer, part in ((f"{pid}-a", first), (f"{pid}-b", amount - first)):
                if part:
                    allocations.append(
                        {
                            "resource_provider_id": pid,
                            "resource_class_id": rc_ids[rc],
                            "consumer_id": make_uuid(consumer + rc),
                            "used": part,
                            "created_at": now,
                        }
                    )
        traits.extend((pid, t) for t in sorted(set(trait_names)))
        aggregates.extend((pid, a) for a in sorted({make_uuid(a) for a in agg_names}))
        return row

    for a in range(5):
        add(
            f"ss{a}",
            None,
            {"DISK_GB": {"total": 100000}},
            {"DISK_GB": 50000},
            ["MISC_SHARES_VIA_AGGREGATE"],
            [f"agg{a}"],
        )
    for i in range(computes):
        used = {
            "VCPU": rng.randint(0, 900),
            "MEMORY_MB": rng.randint(0, 190000),
            "DISK_GB": rng.randint(0, 1000),
        }
        compute = add(
            f"cn{i}",
            None,
            {
                "VCPU": {"total": 64, "allocation_ratio": 16.0},
                "MEMORY_MB": {"total": 262144, "allocation_ratio": 1.5},
                "DISK_GB": {"total": 2000},
            },
            used,
            rng.sample(_TRAITS, 2),
            [f"agg{i // 20 % 5}", f"cell{i // 20}"],
        )
        if i % 10 == 0:
            for n in range(2):
                add(
                    f"cn{i}-numa{n}",
                    compute,
                    {"PCPU": {"total": 16}, "MEMORY_MB": {"total": 65536}},
                    {"PCPU": rng.randint(0, 8)},
                )
    with db.write() as conn:
        names = sorted({name for _, name in traits})
        known = dict(conn.execute(sa.select(t.traits.c.name, t.traits.c.id)).all())
        missing = [n for n in names if n not in known]
        if missing:
            conn.execute(t.traits.insert(), [{"name": n, "created_at": now} for n in missing])
            known = dict(conn.execute(sa.select(t.traits.c.name, t.traits.c.id)).all())
        uuids = sorted({uuid for _, uuid in aggregates})
        _insert(conn, t.placement_aggregates, [{"uuid": u, "created_at": now} for u in uuids])
        agg_ids = dict(
            conn.execute(
                sa.select(t.placement_aggregates.c.uuid, t.placement_aggregates.c.id)
            ).all()
        )
        _insert(conn, t.resource_providers, providers)
        _insert(conn, t.inventories, inventories)
        _insert(conn, t.allocations, allocations)
        _insert(
            conn,
            t.resource_provider_traits,
            [
                {"resource_provider_id": pid, "trait_id": known[n], "created_at": now}
                for pid, n in traits
            ],
        )
        _insert(
            conn,
            t.resource_provider_aggregates,
            [
                {"resource_provider_id": pid, "aggregate_id": agg_ids[u], "created_at": now}
                for pid, u in aggregates
            ],
        )
        if db.backend == "postgresql":
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('resource_providers', 'id'), "
                "(SELECT max(id) FROM resource_providers))"
            )
        changes.record_all(conn)
    return time.perf_counter() - start


def _insert(conn: Any, table: sa.Table, rows: list[dict[str, Any]], batch: int = 5000) -> None:
    for begin in range(0, len(rows), batch):
        conn.execute(table.insert(), rows[begin : begin + batch])


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


def environ(
    path: str, query: str, version: str = "1.39", method: str = "GET", body: bytes = b""
) -> dict[str, Any]:
    """The WSGI environ of one admin request (a GET unless told)."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_X_AUTH_TOKEN": "admin",
        "HTTP_OPENSTACK_API_VERSION": f"placement {version}",
    }


def request(
    app: Any, path: str, query: str, version: str = "1.39", method: str = "GET", body: bytes = b""
) -> tuple[int, bytes]:
    """One request (a GET unless told) through the WSGI app: status code and raw body."""
    status: list[str] = []
    answer = b"".join(
        app(
            environ(path, query, version, method, body),
            lambda s, h, exc_info=None: status.append(s),
        )
    )
    return int(status[0].split()[0]), answer


def _median(
    app: Any, path: str, query: str, runs: int, before: Callable[[], None] | None = None
) -> tuple[float, float, int, bytes]:
    """Median wall and CPU ms of ``runs`` requests after one untimed warm-up
    (``before``, untimed, runs before each timed request)."""
    request(app, path, query)  # warm-up, untimed
    times, cpu = [], []
    code, body = 0, b""
    for _ in range(runs):
        if before is not None:
            before()
        start, start_cpu = time.perf_counter(), time.process_time()
        code, body = request(app, path, query)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times) * 1000, statistics.median(cpu) * 1000, code, body


def _timed(
    label: str, field: str, wall: float, cpu: float, query_cpu: float, record: dict[str, Any]
) -> str:
    """Record an explain timing beside its query's (``<field>_median_ms`` etc.);
    the text for the printed line."""
    ratio = cpu / max(query_cpu, 1e-6)
    record.update(
        {f"{field}_median_ms": wall, f"{field}_median_cpu_ms": cpu, f"{field}_cpu_ratio": ratio}
    )
    return f"  {label} {wall:8.1f} ms (cpu {cpu:7.1f} ms, cpu ratio {ratio:.1f}x)"


def measure(
    apps: dict[str, Any],
    runs: int,
    explain: bool = True,
    forget: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Each shape in each mode (same run, one after the other); one record per pair.

    With ``explain``, each candidate shape's explain is timed right after it in
    the same mode (``explain_*`` fields and the CPU ratio explain / query): warm
    (the in-memory model's per-tree memo filled by the warm-up) and, in memory
    mode, cold (``forget`` empties the memo before each request: every tree
    planned and counted anew, as after a model load or a change of every tree).
    """
    records = []
    for name, (path, query) in QUERIES.items():
        for mode, app in apps.items():
            median, median_cpu, code, body = _median(app, path, query, runs)
            data = orjson.loads(body)
            count = len(data.get("allocation_requests", data.get("resource_providers", [])))
            digest = hashlib.sha1(body).hexdigest()[:10]
            line = (
                f"{name:13s} {mode:6s} median {median:8.1f} ms (cpu {median_cpu:7.1f} ms)  "
                f"n={count:<6d} code={code} digest={digest}"
            )
            record: dict[str, Any] = {
                "shape": name,
                "mode": mode,
                "median_ms": median,
                "median_cpu_ms": median_cpu,
                "count": count,
                "code": code,
                "digest": digest,
            }
            if explain and path == "/allocation_candidates":
                ex_median, ex_cpu, ex_code, ex_body = _median(app, EXPLAIN, query, runs)
                verdict = orjson.loads(ex_body)["verdict"]["step"] if ex_code == 200 else "-"
                line += _timed("explain", "explain", ex_median, ex_cpu, median_cpu, record)
                line += f" verdict={verdict}"
                record["explain_verdict"] = verdict
                if mode == "memory" and forget is not None:
                    cold, cold_cpu, _, cold_body = _median(app, EXPLAIN, query, runs, forget)
                    if cold_body != ex_body:
                        raise SystemExit(f"{name}: explain differs with and without the memo")
                    line += _timed("cold", "explain_cold", cold, cold_cpu, median_cpu, record)
            print(line, flush=True)
            records.append(record)
    return records


def rss_mib() -> float:
    """This process's resident set (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("computes", nargs="?", default="5000", help="N, or N,N,... in turn")
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
    parser.add_argument("--slow-load", action="store_true", help="load row by row with TreeBuilder")
    parser.add_argument("--modes", default="sql,memory", help="sql, memory or both")
    parser.add_argument("--json", default=None, help="append the records to this JSON file")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    for computes in [int(n) for n in str(args.computes).split(",") if n]:
        run_size(args, computes, modes)


def run_size(args: argparse.Namespace, computes: int, modes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.url or f"sqlite:///{Path(tmp) / 'scale.sqlite'}")
        schema.upgrade(db)
        backend = db.url.get_backend_name()
        if not args.no_load:
            schema.reset_data(db)
            loader = build if args.slow_load else build_bulk
            seconds = loader(db, computes)
            print(f"load {seconds:.1f} s ({backend}, N={computes})", flush=True)
        if not args.no_analyze:
            analyze(db)
        apps = {mode: _app(db, in_memory_candidates=MODES[mode]) for mode in modes}
        if "memory" in apps:
            before = rss_mib()
            start = time.perf_counter()
            request(apps["memory"], *QUERIES["claim-10"])
            print(
                f"model load {time.perf_counter() - start:.2f} s, "
                f"RSS {before:.0f} -> {rss_mib():.0f} MiB",
                flush=True,
            )
        tree_memo = model_mod.model_for(db.engine).tree_memo
        records = measure(apps, args.runs, explain=not args.no_explain, forget=tree_memo.clear)
        db.dispose()
    if args.json:
        out = Path(args.json)
        old = orjson.loads(out.read_bytes()) if out.exists() else []
        old.extend({"backend": backend, "computes": computes, **r} for r in records)
        out.write_bytes(orjson.dumps(old, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
