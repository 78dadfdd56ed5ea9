"""Four allotment servers on a 3-node MariaDB Galera cluster, one node killed mid-run.

Servers ``node1``..``node3`` each write through one Galera node; server
``all`` is configured with all three hosts (round-robin, so its pool holds
connections to every node). Clients race claims through all four while
node 2 is killed (SIGKILL) and brought back. Afterwards:

* no 500 anywhere; only 204, 409 (capacity / concurrent update) and, from
  the server pinned to the dead node, 503;
* the server with all three hosts answers no 5xx but 503 for requests in
  flight on the dead node (in practice: none at all);
* every granted claim is on every node, nothing over capacity, the three
  nodes hold identical allocations and every server reports the same usages.

The figures (claims/s, failure gap per server) are printed (``pytest -s``)
and recorded as test properties; docs/scale-out.md quotes them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allotment.store.engine import Database
from tests.functional.scaleout import harness

ROOT = Path(__file__).resolve().parents[3]
SECONDS = 24.0
MEASURE_SECONDS = 6.0
CLIENTS_PER_SERVER = 3
KILL_AT, DOWN_FOR = 6.0, 6.0
KILLED = 2


def _load_cluster_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "galera_cluster", ROOT / "scripts/galera_cluster.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


galera = _load_cluster_module()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    why = galera.available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Galera unavailable in CI: {why}")
        pytest.skip(why)
    # Not under pytest's tmp_path: the nodes run as the mysql user when we are root.
    base = Path(tempfile.mkdtemp(prefix="allotment-galera-"))
    base.chmod(0o755)
    instance = galera.Cluster(base / "cluster")
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database(cluster: Any) -> Iterator[str]:
    name = f"allotment_scaleout_{os.getpid()}"
    admin = Database(cluster.url(1, database="mysql"))
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield name
    finally:
        with admin.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


def test_claims_through_four_servers_survive_a_node_loss(
    cluster: Any, database: str, tmp_path: Path, record_property: Any
) -> None:
    servers: list[harness.Server] = []
    try:
        first = harness.Server("node1", cluster.url(1, database), tmp_path)
        servers.append(first)
        first.wait_ready()  # it upgrades the schema; the others find it at head
        for n in (2, 3):
            servers.append(harness.Server(f"node{n}", cluster.url(n, database), tmp_path))
        servers.append(
            harness.Server("all", cluster.url(None, database) + "?failover=round-robin", tmp_path)
        )
        for server in servers[1:]:
            server.wait_ready()
        harness.set_up_providers(first.port)
        # Throughput with no fault: one server, then the three pinned servers.
        measured = {
            "one_server": harness.race(servers[:1], 3, MEASURE_SECONDS, lambda e: None),
            "three_servers": harness.race(servers[:3], 1, MEASURE_SECONDS, lambda e: None),
        }

        def disturb(events: dict[str, float]) -> None:
            time.sleep(KILL_AT)
            cluster.kill(KILLED)
            events["killed"] = time.time()
            time.sleep(DOWN_FOR)
            cluster.restart(KILLED, wait=False)
            events["restarted"] = time.time()
            cluster.wait_synced(KILLED)
            events["synced"] = time.time()

        run = harness.race(servers, CLIENTS_PER_SERVER, SECONDS, disturb)
        time.sleep(1.0)  # let the last writes apply on every node
        usages = {s.name: harness.server_usages(s.port) for s in servers}
    finally:
        for server in servers:
            server.stop()

    figures = harness.figures(run, servers)
    figures["no_fault"] = {
        name: harness.figures(phase, servers[:1] if name == "one_server" else servers[:3])
        for name, phase in measured.items()
    }
    print(f"\ngalera scale-out: {json.dumps(figures)}")
    record_property("figures", json.dumps(figures))

    by_server = harness.statuses_by_server(run)
    for name, statuses in by_server.items():
        assert set(statuses) <= {204, 409, 503}, (name, statuses)
    assert set(by_server["all"]) <= {204, 409, 503}
    # Only requests in flight when the node died may get 503 on the failover server.
    assert by_server["all"][503] <= CLIENTS_PER_SERVER, by_server["all"]
    for name in ("node1", "node3"):
        assert by_server[name][503] == 0, (name, by_server[name])
    assert len(harness.granted(run)) > 0

    per_node = [
        harness.allocation_rows(cluster.url(n, database), ("SET SESSION wsrep_sync_wait = 1",))
        for n in (1, 2, 3)
    ]
    everything = harness.merge([run, *measured.values()])
    for phase in measured.values():
        assert set(harness.statuses_by_server(phase)["node1"]) <= {204, 409}
    usage, _ = harness.check_allocations(per_node[0], everything)
    assert sorted(per_node[1]) == sorted(per_node[0]) == sorted(per_node[2])
    for name, state in usages.items():
        assert {rp: used for rp, (used, _) in state.items()} == {
            rp: usage.get(rp, 0) for rp in harness.PROVIDERS
        }, name
    assert len({json.dumps(state, sort_keys=True) for state in usages.values()}) == 1
