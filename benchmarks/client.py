"""HTTP plumbing shared by the loader and the scenarios.

A ``Target`` is one placement server: a base URL (a real server on the
loopback interface) or an in-process WSGI app (the smoke test). Every thread
gets its own keep-alive ``httpx.Client`` so worker threads never share a
connection pool, and ``parallel`` runs a function over items with a bounded
thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

MICROVERSION = "placement 1.39"
HEADERS = {
    "x-auth-token": "admin",
    "openstack-api-version": MICROVERSION,
    "accept": "application/json",
}
T = TypeVar("T")
R = TypeVar("R")


class BenchError(RuntimeError):
    """A request answered with a status the harness did not expect."""

    def __init__(self, response: httpx.Response, expected: tuple[int, ...]) -> None:
        request = response.request
        body = response.text[:400].replace("\n", " ")
        super().__init__(
            f"{request.method} {request.url.raw_path.decode()[:200]} -> {response.status_code} "
            f"(expected {', '.join(map(str, expected))}): {body}"
        )


@dataclass
class Target:
    """One server under test: a loopback URL or an in-process WSGI app."""

    name: str
    base_url: str = "http://allotment.test"
    app: Any = None
    timeout: float = 300.0
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self) -> httpx.Client:
        """This thread's keep-alive client (created on first use)."""
        client = getattr(self._local, "client", None)
        if client is None:
            transport = httpx.WSGITransport(app=self.app) if self.app is not None else None
            client = httpx.Client(
                base_url=self.base_url,
                headers=HEADERS,
                timeout=self.timeout,
                transport=transport,
                limits=httpx.Limits(max_keepalive_connections=4),
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def request(self, method: str, path: str, *expected: int, **kwargs: Any) -> httpx.Response:
        """Send one request; raise ``BenchError`` unless the status is in ``expected``."""
        response = self.client().request(method, path, **kwargs)
        if expected and response.status_code not in expected:
            raise BenchError(response, expected)
        return response

    def timed(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, float]:
        """Send one request and return it with its wall-clock latency in seconds."""
        client = self.client()
        start = time.perf_counter()
        response = client.request(method, path, **kwargs)
        _ = response.content  # the body is part of the latency
        return response, time.perf_counter() - start

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._local = threading.local()


def parallel(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """``fn`` over ``items`` on ``concurrency`` threads; results in item order.

    The first exception raised by ``fn`` is re-raised here (after the pool
    drains), so a broken server stops a phase instead of hiding in a log.
    """
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(fn, items))
