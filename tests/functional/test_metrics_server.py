"""``/metrics`` under a real 2-worker server: the counts add up across workers.

The server (``python -m allotment serve --workers 2``) gets N requests from
several client threads at once, so both workers answer some; ``/metrics``,
whichever worker answers it, reports exactly N, the sum of every worker's
samples. Then one worker is killed: gunicorn replaces it, its counters
stay in the total and its live gauges (pool) leave the sum.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.servers import ROOT
from tests.servers import free_port as _free_port

REQUESTS = 60
ROUTE = "/resource_providers"
START_TIMEOUT = 30.0


def _get(port: int, path: str, version: str = "1.20") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"x-auth-token": "admin", "openstack-api-version": f"placement {version}"}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _count(exposition: str, route: str) -> float:
    """The total of allotment_http_requests_total over every label set of ``route``."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith("allotment_http_requests_total{") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _gauge(exposition: str, name: str) -> float:
    found = re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", exposition, re.M)
    return sum(float(value) for value in found)


def _worker_pids(metrics_dir: Path) -> set[int]:
    return {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("*.db")}


@pytest.fixture
def server(tmp_path: Path):
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ALLOTMENT_ACCESS_LOG": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allotment",
            "--database",
            f"sqlite:///{tmp_path / 'placement.db'}",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if _get(port, "/metrics")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        process.wait(timeout=10)
        log.close()
        pytest.fail((tmp_path / "server.log").read_text()[-3000:])
    yield port, metrics_dir
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    log.close()


def test_two_workers_report_every_request(server: tuple[int, Path]) -> None:
    port, metrics_dir = server
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: _get(port, ROUTE)[0], range(REQUESTS)))
    assert statuses == [200] * REQUESTS
    status, exposition = _get(port, "/metrics")
    assert status == 200
    assert _count(exposition, ROUTE) == REQUESTS
    # The same total whichever worker answers the scrape.
    for _ in range(4):
        assert _count(_get(port, "/metrics")[1], ROUTE) == REQUESTS
    assert "process_cpu_seconds_total" in exposition
    assert "python_info" in exposition
    assert 'allotment_db_query_duration_seconds_count{backend="sqlite"}' in exposition

    # Kill one worker: its counters stay in the total, its live gauges go.
    pids = _worker_pids(metrics_dir)
    assert pids, "no worker wrote samples"
    victim = max(pids)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not any(metrics_dir.glob(f"gauge_live*_{victim}.db")):
            break
        time.sleep(0.2)
    assert not any(metrics_dir.glob(f"gauge_live*_{victim}.db")), "dead worker's gauges kept"
    for _ in range(3):
        status, exposition = _get(port, "/metrics")
        assert status == 200
        assert _count(exposition, ROUTE) == REQUESTS
