"""Several allotment servers over one clustered database, clients racing claims
through all of them while the database loses a node; then the checks.

Used by the Galera and the PostgreSQL scale-out tests. Every claim is a
``PUT /allocations/{consumer}`` of a fresh consumer on one or both of two
providers; clients run for a bounded time and a bounded count.
"""

from __future__ import annotations

import http.client
import multiprocessing
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from allotment.store.engine import Database
from tests import servers
from tests.servers import free_port as free_port
from tests.servers import request

# A claim takes 3 VCPU on average. The no-fault phases of a race grant about
# 1,000 claims on this machine and must leave room for the faulty one to
# grant some (a capacity that fills during a race is fine: nothing may go over).
PROVIDERS = {
    "aaaaaaaa-0000-4000-8000-00000000000a": 6000,
    "bbbbbbbb-0000-4000-8000-00000000000b": 6000,
}
MAX_CLAIMS_PER_CLIENT = 2000


class Server(servers.Server):
    """One named server of a race (one worker, four threads), logging to
    ``log_dir/<name>.log``."""

    def __init__(self, name: str, database_url: str, log_dir: Path, workers: int = 1) -> None:
        super().__init__(database_url, log_dir / f"{name}.log", workers=workers, threads=4)
        self.name = name


def set_up_providers(port: int) -> None:
    servers.set_up_providers(port, PROVIDERS)


def _claim_body(claim: dict[str, int]) -> dict[str, Any]:
    return {
        "allocations": {rp: {"resources": {"VCPU": n}} for rp, n in claim.items()},
        "project_id": "proj",
        "user_id": "user",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }


def client(server: str, port: int, seed: int, seconds: float, barrier: Any, results: Any) -> None:
    """Claim through one server until ``seconds`` pass (bounded in count too)."""
    rng = random.Random(seed)
    outcomes = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    barrier.wait()
    stop_at = time.time() + seconds
    for _ in range(MAX_CLAIMS_PER_CLIENT):
        if time.time() >= stop_at:
            break
        consumer = str(uuid.UUID(int=rng.getrandbits(128)))
        chosen = rng.sample(sorted(PROVIDERS), rng.choice((1, 2)))
        claim = {rp: rng.randint(1, 3) for rp in chosen}
        started = time.time()
        try:
            status, body = request(conn, "PUT", f"/allocations/{consumer}", _claim_body(claim))
            code = body["errors"][0].get("code") if status >= 400 and body else None
        except (OSError, http.client.HTTPException) as error:
            status, code = 0, type(error).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        outcomes.append(
            {
                "server": server,
                "consumer": consumer,
                "claim": claim,
                "status": status,
                "code": code,
                "started": started,
                "ended": time.time(),
            }
        )
    conn.close()
    results.put(outcomes)


@dataclass
class Run:
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def race(
    servers: list[Server],
    clients_per_server: int,
    seconds: float,
    disturb: Callable[[dict[str, float]], None],
) -> Run:
    """Clients on every server for ``seconds``; ``disturb(events)`` runs meanwhile
    (in this process) and records the times of what it did in ``events``."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    total = clients_per_server * len(servers)
    barrier = context.Barrier(total + 1)
    results = context.Queue()
    procs = [
        context.Process(
            target=client,
            args=(s.name, s.port, 1000 * i + k, seconds, barrier, results),
        )
        for i, s in enumerate(servers)
        for k in range(clients_per_server)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=60)
    run = Run()
    began = time.time()
    run.events["start"] = began
    try:
        disturb(run.events)
        for _ in procs:
            run.outcomes.extend(results.get(timeout=seconds + 120))
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=10)
    run.seconds = max(o["ended"] for o in run.outcomes) - began
    return run


def statuses_by_server(run: Run) -> dict[str, Counter[int]]:
    result: dict[str, Counter[int]] = {}
    for outcome in run.outcomes:
        result.setdefault(outcome["server"], Counter())[outcome["status"]] += 1
    return result


def granted(run: Run) -> dict[str, dict[str, int]]:
    """consumer -> {provider: VCPU} of every claim answered 204."""
    return {o["consumer"]: o["claim"] for o in run.outcomes if o["status"] == 204}


def uncertain(run: Run) -> set[str]:
    """Consumers whose claim got a 503 or no answer: it may or may not be in."""
    return {o["consumer"] for o in run.outcomes if o["status"] in (0, 503)}


def failure_gap(run: Run, server: str) -> float:
    """Seconds from the first to the last answer of ``server`` that was not 204/409."""
    bad = [o for o in run.outcomes if o["server"] == server and o["status"] not in (204, 409)]
    if not bad:
        return 0.0
    return max(o["ended"] for o in bad) - min(o["started"] for o in bad)


def claims_per_second(run: Run, server: str | None = None) -> float:
    """Granted claims (204) per second."""
    done = [o for o in run.outcomes if o["status"] == 204 and server in (None, o["server"])]
    return len(done) / run.seconds if run.seconds else 0.0


def codes(run: Run, server: str) -> dict[str, int]:
    """Status and error code of the non-204 answers of ``server``."""
    found: Counter[str] = Counter(
        f"{o['status']} {o['code']}"
        for o in run.outcomes
        if o["server"] == server and o["status"] != 204
    )
    return dict(found)


def server_usages(port: int) -> dict[str, tuple[int, int]]:
    """provider -> (VCPU used, generation) as one server answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    state = {}
    for rp in PROVIDERS:
        status, body = request(conn, "GET", f"/resource_providers/{rp}/usages")
        assert status == 200, body
        state[rp] = (body["usages"]["VCPU"], body["resource_provider_generation"])
    conn.close()
    return state


def allocation_rows(url: str, statements: tuple[str, ...] = ()) -> list[tuple[str, str, int]]:
    """Every (consumer, provider uuid, used) in the database at ``url``, read
    after ``statements`` (e.g. Galera's ``SET SESSION wsrep_sync_wait = 1``)."""
    db = Database(url)
    try:
        with db.read() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
            result = conn.execute(
                sa.text(
                    "SELECT a.consumer_id, rp.uuid, a.used FROM allocations a "
                    "JOIN resource_providers rp ON rp.id = a.resource_provider_id"
                )
            )
            return [(c, rp, int(u)) for c, rp, u in result]
    finally:
        db.dispose()


def merge(runs: list[Run]) -> Run:
    """One run of several phases (for the end-of-test checks)."""
    merged = Run()
    for run in runs:
        merged.outcomes.extend(run.outcomes)
    return merged


def check_allocations(
    rows: list[tuple[str, str, int]], run: Run
) -> tuple[dict[str, int], set[str]]:
    """Check one database's allocation rows against the run; returns usage per
    provider and the uncertain consumers found in."""
    by_consumer: dict[str, dict[str, int]] = {}
    for consumer, rp, used in rows:
        by_consumer.setdefault(consumer, {})[rp] = used
    got = granted(run)
    missing = {c for c in got if by_consumer.get(c) != got[c]}
    assert not missing, f"granted claims missing or changed: {sorted(missing)[:5]}"
    extra = set(by_consumer) - set(got)
    assert extra <= uncertain(run), f"allocations nobody was granted: {sorted(extra)[:5]}"
    usage: Counter[str] = Counter()
    for claim in by_consumer.values():
        for rp, used in claim.items():
            usage[rp] += used
    for rp, capacity in PROVIDERS.items():
        assert usage[rp] <= capacity, f"{rp} over capacity: {usage[rp]} > {capacity}"
    return dict(usage), extra


def figures(run: Run, servers: list[Server]) -> dict[str, Any]:
    return {
        "seconds": round(run.seconds, 1),
        "requests": len(run.outcomes),
        "granted": len(granted(run)),
        "claims_per_second": round(claims_per_second(run), 1),
        "per_server": {
            s.name: {
                "statuses": dict(statuses_by_server(run).get(s.name, {})),
                "errors": codes(run, s.name),
                "claims_per_second": round(claims_per_second(run, s.name), 1),
                "failure_gap_seconds": round(failure_gap(run, s.name), 2),
            }
            for s in servers
        },
        "events": {k: round(v - run.events["start"], 2) for k, v in run.events.items()},
    }
