"""``allotment serve``'s workers share the connections a burst of clients opens.

Keep-alive clients (a scheduler's connection pool, the benchmark's claimers)
stay on the worker that accepted them, so a worker that takes a whole burst
keeps all of that load while the others idle: new connections are spread as
they are accepted, and the ones a worker took alone are moved as it answers.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import time
from collections import Counter
from pathlib import Path

from tests.servers import Server

CLIENTS = 16
LOG_SECONDS = 10.0
READY_SECONDS = 60.0


def _request_id(sock: socket.socket) -> str:
    """Send ``GET /`` on a kept-alive connection; the answer's request id."""
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\naccept: application/json\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    found = re.search(r"(?im)^x-openstack-request-id: (\S+)", head)
    assert found, head
    return found.group(1)


def _workers_by_request(log_path: Path, wanted: set[str]) -> dict[str, str]:
    """Request id -> pid of the worker that logged its access line."""
    deadline = time.monotonic() + LOG_SECONDS
    while True:
        found = {}
        for line in log_path.read_text(errors="replace").splitlines():
            match = re.search(r"^\S+ \S+ (\d+) INFO allotment\.access \[(req-[0-9a-f-]+)", line)
            if match and match.group(2) in wanted:
                found[match.group(2)] = match.group(1)
        if len(found) == len(wanted) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _wait_for_both_workers(server: Server) -> None:
    """Until each worker has answered once (the second may still be starting
    after ``wait_ready``): one connection at a time, bounded."""
    deadline = time.monotonic() + READY_SECONDS
    seen: set[str] = set()
    while len(seen) < 2 and time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            request_id = _request_id(sock)
        seen.update(_workers_by_request(server.log_path, {request_id}).values())
    assert len(seen) == 2, server.log_path.read_text()[-3000:]


def _logging_server(tmp_path: Path) -> Server:
    """Two workers whose access lines name the worker (pid) of each request."""
    return Server(
        f"sqlite:///{tmp_path / 'front.sqlite'}",
        tmp_path / "server.log",
        workers=2,
        env={"ALLOTMENT_ACCESS_LOG": "true", "ALLOTMENT_LOG_FORMAT": "plain"},
    )


def test_a_burst_of_keep_alive_clients_is_shared_by_the_workers(tmp_path: Path) -> None:
    server = _logging_server(tmp_path)
    sockets: list[socket.socket] = []
    try:
        server.wait_ready()
        _wait_for_both_workers(server)
        sockets = [
            socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(CLIENTS)
        ]
        ids = {_request_id(sock) for sock in sockets}
        workers = _workers_by_request(server.log_path, ids)
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
    assert len(workers) == CLIENTS, server.log_path.read_text()[-3000:]
    served = Counter(workers.values())
    # An even share is 8 each; before, one worker took all 16.
    print(served)
    assert len(served) == 2 and min(served.values()) >= CLIENTS // 4, served


def test_connections_reset_at_once_do_not_stop_the_accepting(tmp_path: Path) -> None:
    server = Server(f"sqlite:///{tmp_path / 'reset.sqlite'}", tmp_path / "server.log", workers=2)
    try:
        server.wait_ready()
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            # Close with a reset (linger on, zero seconds), before any request.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        for _ in range(8):  # both workers still accept and answer
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                assert _request_id(sock).startswith("req-")
    finally:
        server.stop()


def _exchange(sock: socket.socket) -> tuple[str, bool]:
    """``GET /`` read whole on a kept-alive connection: its request id, and
    whether the server closes the connection after it."""
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\naccept: application/json\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    text = head.decode("latin-1")
    length = int(re.search(r"(?im)^content-length: (\d+)", text).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection in the body"
        body += chunk
    found = re.search(r"(?im)^x-openstack-request-id: (\S+)", text)
    assert found, text
    return found.group(1), bool(re.search(r"(?im)^connection: close", text))


def _round(server: Server, sockets: list[socket.socket]) -> list[str]:
    """One request on each connection, reconnecting those the server closed
    after answering, as HTTP/1.1 clients do; the request ids."""
    ids = []
    for index, sock in enumerate(sockets):
        request_id, closes = _exchange(sock)
        ids.append(request_id)
        if closes:
            sock.close()
            sockets[index] = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return ids


def test_connections_one_worker_took_alone_are_spread_again(tmp_path: Path) -> None:
    """Clients that connected while the other worker could not accept (it was
    starting, restarting or, here, stopped) move to it once it can."""
    server = _logging_server(tmp_path)
    sockets: list[socket.socket] = []
    stopped = None
    try:
        server.wait_ready()
        _wait_for_both_workers(server)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            request_id = _request_id(sock)
        stopped = int(_workers_by_request(server.log_path, {request_id})[request_id])
        os.kill(stopped, signal.SIGSTOP)
        sockets = [
            socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(CLIENTS)
        ]
        first = _round(server, sockets)
        alone = Counter(_workers_by_request(server.log_path, set(first)).values())
        assert alone == Counter({alone.most_common(1)[0][0]: CLIENTS}), alone
        os.kill(stopped, signal.SIGCONT)
        stopped = None
        last: list[str] = []
        for _ in range(100):  # bounded: a shed per 50 ms needs about 8 rounds
            last = _round(server, sockets)
            time.sleep(0.02)
        spread = Counter(_workers_by_request(server.log_path, set(last)).values())
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)
        for sock in sockets:
            sock.close()
        server.stop()
    assert len(spread) == 2 and min(spread.values()) >= CLIENTS // 2 - 1, spread
