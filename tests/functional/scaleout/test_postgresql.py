"""Three allotment servers on one PostgreSQL, which crashes and restarts mid-run.

The server is a private instance (initdb into a temporary directory, a free
port): the test stops it with ``pg_ctl -m immediate`` (a crash: every
connection drops, crash recovery on the next start) and starts it again.
One API server names a second, dead host after the live one in libpq's
multi-host form, so that form is exercised too. Afterwards: no 500
anywhere (only 204, 409 and 503 while the database was down), every
granted claim present, nothing over capacity, every server agrees.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allotment.store.engine import Database
from tests.functional.scaleout import harness
from tests.functional.scaleout.pg_instance import PostgresInstance, bindir

SECONDS = 18.0
CLIENTS_PER_SERVER = 3
CRASH_AT, DOWN_FOR = 5.0, 3.0


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresInstance]:
    if bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL server binaries are not installed")
        pytest.skip("PostgreSQL server binaries are not installed")
    instance = PostgresInstance(harness.free_port())
    try:
        instance.init()
        instance.start()
        yield instance
    finally:
        instance.destroy()


def test_claims_through_three_servers_survive_a_restart(
    postgres: PostgresInstance, tmp_path: Path, record_property: Any
) -> None:
    admin = Database(postgres.url())
    with admin.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "CREATE DATABASE placement"
        )
    admin.dispose()
    dead = f"127.0.0.1:{harness.free_port()}"
    servers: list[harness.Server] = []
    try:
        first = harness.Server("api1", postgres.url("placement"), tmp_path)
        servers.append(first)
        first.wait_ready()
        servers.append(harness.Server("api2", postgres.url("placement"), tmp_path))
        servers.append(
            harness.Server("multihost", postgres.url("placement", extra_hosts=(dead,)), tmp_path)
        )
        for server in servers[1:]:
            server.wait_ready()
        harness.set_up_providers(first.port)

        def disturb(events: dict[str, float]) -> None:
            time.sleep(CRASH_AT)
            postgres.stop("immediate")
            events["crashed"] = time.time()
            time.sleep(DOWN_FOR)
            postgres.start()
            events["started"] = time.time()

        run = harness.race(servers, CLIENTS_PER_SERVER, SECONDS, disturb)
        usages = {s.name: harness.server_usages(s.port) for s in servers}
    finally:
        for server in servers:
            server.stop()

    figures = harness.figures(run, servers)
    print(f"\npostgresql scale-out: {json.dumps(figures)}")
    record_property("figures", json.dumps(figures))

    by_server = harness.statuses_by_server(run)
    for name, statuses in by_server.items():
        assert set(statuses) <= {204, 409, 503}, (name, statuses)
        assert statuses[204] > 0, (name, statuses)
    usage, _ = harness.check_allocations(harness.allocation_rows(postgres.url("placement")), run)
    for name, state in usages.items():
        assert {rp: used for rp, (used, _) in state.items()} == {
            rp: usage.get(rp, 0) for rp in harness.PROVIDERS
        }, name
    assert len({json.dumps(state, sort_keys=True) for state in usages.values()}) == 1
