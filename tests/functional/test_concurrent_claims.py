"""Concurrency proof: several client *processes* claim against the same providers.

The real server (``python -m allotment --database URL serve``, gunicorn with 2 worker
processes) runs on each backend's database; client processes started with
``multiprocessing`` fire PUT and POST /allocations claims at it at the same
moment, offering far more than the providers hold. Afterwards:

* usage of every provider equals the sum of the successful claims on it,
  and never exceeds its capacity;
* every provider's generation is 1 (the inventory write) plus the number of
  successful writes that touched it: no compare-and-swap was lost silently;
* every failure is a 409 carrying a ``placement.*`` code;
* no consumer lacks allocations and no allocation lacks a consumer.

The figures (offered, succeeded, capacity, 409s by code, lost provider
races the server retried internally, seconds) are
printed (``pytest -s``) and attached to the test report as properties.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import random
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from allotment.store import tables
from allotment.store.engine import Database
from tests.servers import Server, request, set_up_providers

PROVIDERS = {
    "aaaaaaaa-0000-4000-8000-00000000000a": 48,
    "bbbbbbbb-0000-4000-8000-00000000000b": 48,
}
CLIENTS = 6
CLAIMS_PER_CLIENT = 12
SERVER_START_TIMEOUT = 30.0
RETRY_LOG = "allocation write retried"


def _claim(rng: random.Random) -> dict[str, dict[str, int]]:
    """One consumer's claim: VCPU on one or both providers, 1-3 each."""
    chosen = rng.sample(sorted(PROVIDERS), rng.choice((1, 2)))
    return {rp: {"VCPU": rng.randint(1, 3)} for rp in chosen}


def _consumer_body(claim: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {
        "allocations": {rp: {"resources": res} for rp, res in claim.items()},
        "project_id": "proj",
        "user_id": "user",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }


def client(port: int, seed: int, barrier: Any, results: Any) -> None:
    """A client process: wait for the others, then claim as fast as it can."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    outcomes = []
    barrier.wait()
    started = time.time()
    for _ in range(CLAIMS_PER_CLIENT):
        if rng.random() < 0.25:  # POST /allocations: two consumers at once
            claims = {str(uuid.UUID(int=rng.getrandbits(128))): _claim(rng) for _ in range(2)}
            status, body = request(
                conn,
                "POST",
                "/allocations",
                {c: _consumer_body(claim) for c, claim in claims.items()},
            )
        else:
            consumer = str(uuid.UUID(int=rng.getrandbits(128)))
            claims = {consumer: _claim(rng)}
            status, body = request(
                conn, "PUT", f"/allocations/{consumer}", _consumer_body(claims[consumer])
            )
        code = body["errors"][0].get("code") if status >= 400 and body else None
        outcomes.append({"status": status, "code": code, "claims": claims})
    conn.close()
    results.put({"started": started, "ended": time.time(), "outcomes": outcomes})


def _run_clients(port: int) -> tuple[list[dict[str, Any]], float]:
    """Every outcome, and the seconds from the common start to the last answer."""
    # fork: the children need nothing from the parent but these arguments.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    barrier = context.Barrier(CLIENTS)
    results = context.Queue()
    workers = [
        context.Process(target=client, args=(port, seed, barrier, results))
        for seed in range(CLIENTS)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    elapsed = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    return [o for r in reports for o in r["outcomes"]], elapsed


def _server_state(port: int) -> dict[str, dict[str, int]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    state = {}
    for rp in PROVIDERS:
        status, body = request(conn, "GET", f"/resource_providers/{rp}/usages")
        assert status == 200
        state[rp] = {
            "used": body["usages"]["VCPU"],
            "generation": body["resource_provider_generation"],
        }
    conn.close()
    return state


def _orphans(db: Database) -> tuple[int, int]:
    """(consumers without allocations, allocations without a consumer)."""
    a, c = tables.allocations, tables.consumers
    with db.read() as conn:
        lonely = conn.execute(
            sa.select(sa.func.count())
            .select_from(c)
            .where(~sa.exists().where(a.c.consumer_id == c.c.uuid))
        ).scalar_one()
        orphaned = conn.execute(
            sa.select(sa.func.count())
            .select_from(a)
            .where(~sa.exists().where(c.c.uuid == a.c.consumer_id))
        ).scalar_one()
    return lonely, orphaned


def test_concurrent_claims_never_overcommit(
    db: Database, tmp_path: Path, record_property: Any
) -> None:
    # Debug logging makes the server log each internal retry of a lost race.
    server = Server(
        db.url.render_as_string(hide_password=False),
        tmp_path / "server.log",
        env={"ALLOTMENT_DEBUG": "true"},
    )
    try:
        server.wait_ready(SERVER_START_TIMEOUT)
        set_up_providers(server.port, PROVIDERS)
        outcomes, elapsed = _run_clients(server.port)
        state = _server_state(server.port)
    finally:
        server.stop()
    retries = server.log_path.read_text().count(RETRY_LOG)

    offered: Counter[str] = Counter()
    granted: Counter[str] = Counter()
    writes_touching: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for outcome in outcomes:
        touched = {rp for claim in outcome["claims"].values() for rp in claim}
        for claim in outcome["claims"].values():
            for rp, res in claim.items():
                offered[rp] += res["VCPU"]
                if outcome["status"] == 204:
                    granted[rp] += res["VCPU"]
        if outcome["status"] == 204:
            writes_touching.update(touched)
        else:
            assert outcome["status"] == 409, outcome
            assert outcome["code"] in ("placement.undefined_code", "placement.concurrent_update"), (
                outcome
            )
            codes[outcome["code"]] += 1

    figures = {
        "backend": db.backend,
        "requests": len(outcomes),
        "succeeded": sum(1 for o in outcomes if o["status"] == 204),
        "offered_vcpu": sum(offered.values()),
        "granted_vcpu": sum(granted.values()),
        "capacity_vcpu": sum(PROVIDERS.values()),
        "409_capacity": codes["placement.undefined_code"],
        "409_concurrent_update": codes["placement.concurrent_update"],
        "server_retries": retries,
        "seconds": round(elapsed, 2),
    }
    print(f"\nconcurrent claims: {json.dumps(figures)}")
    for name, value in figures.items():
        record_property(name, value)

    assert sum(offered.values()) > sum(PROVIDERS.values())  # the test really contends
    for rp, capacity in PROVIDERS.items():
        assert state[rp]["used"] == granted[rp], (rp, state, granted)
        assert state[rp]["used"] <= capacity
        # One bump for the inventory, one per successful write touching it.
        assert state[rp]["generation"] == 1 + writes_touching[rp], (rp, state, writes_touching)
    assert figures["succeeded"] > 0
    assert _orphans(db) == (0, 0)
