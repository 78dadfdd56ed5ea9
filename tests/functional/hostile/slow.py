"""Helpers for slow-client tests and measurements: slow sockets (and the server
they talk to, from ``tests.servers``)."""

from __future__ import annotations

import socket

# Re-exported for benchmarks/slow_clients.py, which starts its servers from here.
from tests.servers import ROOT as ROOT
from tests.servers import Server as Server
from tests.servers import free_port as free_port
from tests.servers import get as get


def slow_clients(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that each send part of a request and stop there:
    half of them in the head, half in a declared body."""
    sockets = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2:
            sock.sendall(b"GET /resource_providers HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            sock.sendall(
                b"POST /resource_providers HTTP/1.1\r\nHost: x\r\nx-auth-token: admin\r\n"
                b"content-type: application/json\r\ncontent-length: 100\r\n\r\n{"
            )
        sockets.append(sock)
    return sockets


def still_open(sock: socket.socket) -> bool:
    """True while the server has neither answered nor closed ``sock``."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True  # nothing to read: no answer, no close
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False  # an answer or the end of the stream
