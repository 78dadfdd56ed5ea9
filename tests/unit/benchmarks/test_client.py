"""The benchmark's light keep-alive client: the same requests as httpx, one connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from benchmarks.client import HEADERS, LightClient, Target


class _Echo(BaseHTTPRequestHandler):
    """Answers what it was asked: method, path, query, the benchmark's headers, body."""

    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn

    def log_message(self, *_args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(200)

    def do_PUT(self) -> None:
        self._answer(201)

    def _answer(self, status: int) -> None:
        length = int(self.headers.get("content-length") or 0)
        path, _, query = self.path.partition("?")
        body = orjson.dumps(
            {
                "method": self.command,
                "path": path,
                "query": query,
                "version": self.headers.get("openstack-api-version"),
                "token": self.headers.get("x-auth-token"),
                "type": self.headers.get("content-type"),
                "body": self.rfile.read(length).decode(),
                "peer": self.client_address[1],
            }
        )
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_light_client_sends_what_httpx_sends(server: ThreadingHTTPServer) -> None:
    target = Target("echo", base_url=f"http://127.0.0.1:{server.server_port}")
    params = {"resources": "VCPU:1,MEMORY_MB:512", "limit": "50"}
    try:
        light, heavy = target.light(), target.client()
        assert isinstance(light, LightClient)
        got = light.get("/allocation_candidates", params=params)
        want = heavy.get("/allocation_candidates", params=params)
        assert got.status_code == want.status_code == 200
        seen, expected = got.json(), want.json()
        assert parse_qs(seen.pop("query")) == parse_qs(expected.pop("query"))
        assert seen.pop("peer") != expected.pop("peer")  # each client has its connection
        assert seen == expected
        assert seen["version"] == HEADERS["openstack-api-version"]
        put = light.put("/allocations/x", json={"a": [1, None]})
        assert put.status_code == 201
        assert orjson.loads(put.json()["body"]) == {"a": [1, None]}
        assert put.json()["type"] == "application/json"
        assert put.json()["peer"] == got.json()["peer"]  # one keep-alive connection
    finally:
        target.close()


def test_light_client_failures_are_transport_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LightClient(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(httpx.TransportError):
        client.get("/")
    assert client.conn is None
