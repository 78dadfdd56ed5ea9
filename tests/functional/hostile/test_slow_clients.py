"""Slow clients are held by the front's event loop, not by the app's threads.

The server runs with 2 workers of 4 threads: before the asyncio front, 8
connections trickling a head or a body froze it. Here 200 such connections
are held open while ordinary requests keep being answered, and each slow
connection is answered 408 and closed once its time is up. Waits are
generous and bounded; no timing is asserted.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.functional.hostile.slow import Server, get, slow_clients, still_open

SLOW = 200


@pytest.fixture
def server(tmp_path: Path):
    running = Server(
        f"sqlite:///{tmp_path / 'slow.sqlite'}",
        tmp_path / "server.log",
        env={"ALLOTMENT_HEADER_TIMEOUT": "20", "ALLOTMENT_BODY_TIMEOUT": "20"},
    )
    try:
        if not running.wait_ready():
            pytest.fail(f"server did not start:\n{running.log_path.read_text()[-3000:]}")
        yield running
    finally:
        running.stop()


def test_normal_requests_are_answered_while_slow_clients_are_held(server: Server) -> None:
    sockets = slow_clients(server.port, SLOW)
    try:
        for _ in range(20):
            status, body = get(server.port, "/resource_providers", timeout=15.0)
            assert status == 200 and b"resource_providers" in body
        held = sum(still_open(sock) for sock in sockets)
        assert held == SLOW, f"only {held} of {SLOW} slow connections still held"
        # Then each is answered 408 (placement JSON) and closed, within a bounded wait.
        deadline = time.monotonic() + 90
        answered = 0
        for sock in sockets:
            sock.settimeout(max(deadline - time.monotonic(), 0.1))
            data = sock.recv(65536)
            answered += data.startswith(b"HTTP/1.1 408") and b'"code"' in data
        assert answered == SLOW
    finally:
        for sock in sockets:
            sock.close()


def test_shutdown_does_not_wait_for_slow_clients(server: Server) -> None:
    sockets = slow_clients(server.port, 50)
    try:
        assert get(server.port, "/", timeout=15.0)[0] == 200
        os.killpg(server.process.pid, signal.SIGTERM)
        # Idle and half-sent connections are closed at once: well within
        # gunicorn's 30 s graceful timeout.
        assert server.process.wait(timeout=20) == 0
    finally:
        for sock in sockets:
            sock.close()
