"""HTTP plumbing shared by the loader and the scenarios.

A ``Target`` is one placement server: a base URL (a real server on the
loopback interface) or an in-process WSGI app (the smoke test). Every thread
gets its own keep-alive ``httpx.Client`` so worker threads never share a
connection pool, and ``parallel`` runs a function over items with a bounded
thread pool.

The claims scenario's clients share the machine's cores with the server, and
httpx costs several times the CPU of the standard library's ``http.client``
per request: ``Target.light()`` is this thread's ``LightClient``, one
keep-alive connection that sends the same requests (same headers, same JSON)
and answers what the scenario reads of a response.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

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
    _clients: list[httpx.Client | LightClient] = field(default_factory=list, repr=False)
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

    def light(self) -> LightClient | httpx.Client:
        """This thread's ``LightClient`` (the httpx client for an in-process app)."""
        if self.app is not None:
            return self.client()
        client = getattr(self._local, "light", None)
        if client is None:
            client = self._local.light = LightClient(self.base_url, self.timeout)
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


class LightResponse:
    """What the scenarios read of an answer: its status and its body."""

    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    def json(self) -> Any:
        return orjson.loads(self.content)


class LightClient:
    """One keep-alive HTTP/1.1 connection to a loopback server (``http.client``).

    A failed exchange closes the connection (the next request opens a new
    one) and raises httpx's ``TimeoutException`` or ``TransportError``, as the
    httpx client would, so the scenarios count it the same way.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, params: dict[str, str] | None = None) -> LightResponse:
        return self.request("GET", f"{path}?{urlencode(params)}" if params else path)

    def put(self, path: str, json: Any) -> LightResponse:
        return self.request("PUT", path, orjson.dumps(json))

    def request(self, method: str, path: str, body: bytes | None = None) -> LightResponse:
        headers = dict(HEADERS)
        if body is not None:
            headers["content-type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            content = response.read()
        except TimeoutError as error:
            self.close()
            raise httpx.TimeoutException(f"{method} {path}: {error}") from error
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise httpx.TransportError(f"{method} {path}: {error}") from error
        if response.will_close:
            self.close()
        return LightResponse(response.status, content)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


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
