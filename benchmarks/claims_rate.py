"""The claims scenario alone, through gunicorn, on data a benchmark run left behind,
with the CPU split between the server, the clients and the database.

Usage::

    python -m benchmarks.claims_rate DB_URL [--clients 16,64] [--workers 2]
        [--threads 4] [--claims-per-client 100] [--seed 42] [--n 1000]

``DB_URL`` holds a cloud loaded by ``python -m benchmarks --sizes N
--keep-databases`` (its ``bench_allotment_n<N>`` database, or a copy:
``CREATE DATABASE copy TEMPLATE bench_allotment_n1000``); the claims stay in
it. The server runs as in the benchmark (``allotment serve``, ``--workers`` x
``--threads``) and each client count runs ``scenarios.run_claims``, the same
requests as ``python -m benchmarks --scenarios claims``, without the load
phase. Besides claims/s, conflicts, failed requests and providers over
capacity, it prints the CPU seconds spent during each run by the server's
processes, by this process (the clients) and, on PostgreSQL, by the
database's backends, each per claim, with the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks import datagen, scenarios, servers
from benchmarks.client import Target

TICKS = os.sysconf("SC_CLK_TCK")
BACKENDS_QUERY = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of ``pid`` (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _tree_cpu(pid: int) -> dict[int, float]:
    return {p: _cpu_seconds(p) for p in servers.process_tree(pid)}


def _database_cpu(engine: sa.Engine | None) -> dict[int, float]:
    if engine is None:
        return {}
    with engine.connect() as conn:
        pids = [row[0] for row in conn.exec_driver_sql(BACKENDS_QUERY)]
    return {pid: _cpu_seconds(pid) for pid in pids}


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def run(args: argparse.Namespace) -> None:
    cloud = datagen.generate(args.n, args.seed)
    # Not the benchmark's seed: its consumers are in the database already.
    run_seed = args.run_seed if args.run_seed is not None else int(time.time())
    budget = scenarios.Budget(claims_per_client=args.claims_per_client)
    engine = sa.create_engine(args.url) if args.url.startswith("postgresql") else None
    with tempfile.TemporaryDirectory() as work:
        server = servers.allotment_server(
            args.url, args.workers, args.threads, Path(work) / "server.log"
        )
        server.start()
        assert server.process is not None
        target = Target("allotment", base_url=server.base_url)
        try:
            touched: set[str] = set()
            for clients in (int(c) for c in args.clients.split(",")):
                server_cpu, db_cpu = _tree_cpu(server.process.pid), _database_cpu(engine)
                client_cpu = time.process_time()
                result = scenarios.run_claims(target, cloud, clients, budget, run_seed + clients)
                client_cpu = time.process_time() - client_cpu
                server_spent = _spent(server_cpu, _tree_cpu(server.process.pid))
                db_spent = _spent(db_cpu, _database_cpu(engine))
                touched.update(result.pop("touched_providers"))
                claims = max(1, result["claims"])
                print(
                    f"x{clients}: {result['claims_per_s']:.1f} claims/s ({result['claims']} in "
                    f"{result['seconds']:.1f} s), conflicts {result['conflicts']}, failed "
                    f"{result['errors']}; CPU ms per claim: server "
                    f"{server_spent / claims * 1000:.1f}, clients "
                    f"{client_cpu / claims * 1000:.1f}, database {db_spent / claims * 1000:.1f}; "
                    f"load average {Path('/proc/loadavg').read_text().split()[:3]}",
                    flush=True,
                )
            over = scenarios.over_capacity(target, sorted(touched))
            print(f"providers over capacity: {len(over)}", *over[:5], sep="\n  ")
        finally:
            target.close()
            server.stop()
            if engine is not None:
                engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--clients", default="16,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--claims-per-client", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42, help="the cloud's seed")
    parser.add_argument("--run-seed", type=int, default=None, help="the clients' (default: now)")
    parser.add_argument("--n", type=int, default=1000, help="the cloud's size (for its projects)")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
