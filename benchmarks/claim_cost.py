"""What one claim costs the server, in process: CPU, statements and round trips.

Usage::

    python -m benchmarks.claim_cost DB_URL [--claims C] [--workers W] [--profile]

Runs the claims scenario's two requests (``GET /allocation_candidates`` with
``limit=50``, then ``PUT /allocations/{new}`` at 1.39 with
``consumer_generation: null`` for a random candidate) ``C`` times, one claim
at a time, through ``W`` WSGI apps on the same database, each with its own
engine and in-memory model (the gunicorn workers of a server). The apps take
turns, so every ``GET`` first applies the previous claim's write made by
another "worker", as under the benchmark. Prints, per request kind, the
median CPU time of this process and wall time, and the mean number of SQL
statements and of transactions (each a ``BEGIN`` and a ``COMMIT`` round trip
on PostgreSQL and MySQL) and connection checkouts, with the load average.
``--profile`` prints the 30 most expensive functions (cProfile, CPU clock).

The data is whatever an earlier run left in ``DB_URL`` (``python -m
benchmarks ... --keep-databases`` or ``benchmarks.candidates_scale``); the
claims it writes stay there.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from allotment.app import make_app
from allotment.config import Settings
from allotment.store.engine import Database
from benchmarks.candidates_scale import request

COUNTED = ("statements", "transactions", "checkouts")
QUERY = "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=50"


def call(app: Any, method: str, path: str, query: str = "", body: bytes = b"") -> tuple[int, bytes]:
    """One request through the WSGI app at microversion 1.39: status and body."""
    return request(app, path, query, method=method, body=body)


class Tally:
    """Statements, transactions and checkouts an engine sends, by request kind."""

    def __init__(self, engines: list[sa.Engine]) -> None:
        self.kind = "setup"
        self.counts: Counter[tuple[str, str]] = Counter()
        for engine in engines:
            sa.event.listen(engine, "before_cursor_execute", self._statement)
            sa.event.listen(engine, "begin", self._begin)
            sa.event.listen(engine.pool, "checkout", self._checkout)

    def _statement(self, *_args: object) -> None:
        self.counts[(self.kind, "statements")] += 1

    def _begin(self, *_args: object) -> None:
        self.counts[(self.kind, "transactions")] += 1

    def _checkout(self, *_args: object) -> None:
        self.counts[(self.kind, "checkouts")] += 1


def claim(app: Any, rng: random.Random, tally: Tally, times: dict[str, list[float]]) -> int:
    """One claim through ``app``; the PUT's status."""
    tally.kind = "get"
    wall, cpu = time.perf_counter(), time.process_time()
    code, body = call(app, "GET", "/allocation_candidates", QUERY)
    times["get cpu"].append(time.process_time() - cpu)
    times["get wall"].append(time.perf_counter() - wall)
    assert code == 200, body[:300]
    requests = orjson.loads(body)["allocation_requests"]
    put = {
        "allocations": rng.choice(requests)["allocations"],
        "project_id": f"bench-project-{rng.randrange(10)}",
        "user_id": f"bench-user-{rng.randrange(10)}",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    tally.kind = "put"
    wall, cpu = time.perf_counter(), time.process_time()
    code, body = call(
        app, "PUT", f"/allocations/{uuid.UUID(int=rng.getrandbits(128))}", "", orjson.dumps(put)
    )
    times["put cpu"].append(time.process_time() - cpu)
    times["put wall"].append(time.perf_counter() - wall)
    tally.kind = "other"
    if code != 204:
        print(code, body[:300].decode(), file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help="default: fresh consumers each run")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime", help="pstats sort key for --profile")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    dbs = [Database(args.url) for _ in range(args.workers)]
    settings = Settings(database_url=args.url, access_log=False)
    apps = [make_app(settings, db=db, prepare=False) for db in dbs]
    rng = random.Random(args.seed)
    for app in apps:  # load each model, untimed
        call(app, "GET", "/allocation_candidates", QUERY)
    tally = Tally([db.engine for db in dbs])
    times: dict[str, list[float]] = {k: [] for k in ("get cpu", "get wall", "put cpu", "put wall")}
    profile = cProfile.Profile(time.process_time) if args.profile else None
    codes: Counter[int] = Counter()
    if profile:
        profile.enable()
    for i in range(args.claims):
        codes[claim(apps[i % len(apps)], rng, tally, times)] += 1
    if profile:
        profile.disable()
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}; PUT codes {dict(codes)}")
    for kind in ("get", "put"):
        cpu = statistics.median(times[f"{kind} cpu"]) * 1000
        wall = statistics.median(times[f"{kind} wall"]) * 1000
        per = {what: tally.counts[(kind, what)] / args.claims for what in COUNTED}
        print(
            f"{kind}: cpu median {cpu:.2f} ms, wall median {wall:.2f} ms, "
            + ", ".join(f"{what} {n:.2f}" for what, n in per.items())
        )
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    for db in dbs:
        db.dispose()


if __name__ == "__main__":
    main()
