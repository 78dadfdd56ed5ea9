"""``allotment serve``'s front over real sockets: limits answered as placement JSON."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.hostile.slow import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("front")
    running = Server(
        f"sqlite:///{tmp / 'front.sqlite'}",
        tmp / "server.log",
        env={
            "ALLOTMENT_HEADER_TIMEOUT": "2",
            "ALLOTMENT_BODY_TIMEOUT": "2",
            "ALLOTMENT_MAX_REQUEST_LINE": "2048",
            "ALLOTMENT_MAX_HEADER_SIZE": "4096",
            "ALLOTMENT_MAX_BODY_SIZE": "10000",
        },
    )
    try:
        if not running.wait_ready():
            pytest.fail(f"server did not start:\n{Path(running.log_path).read_text()[-3000:]}")
        yield running
    finally:
        running.stop()


def _exchange(server: Server, raw: bytes, timeout: float = 20.0) -> bytes:
    """Send ``raw`` and read until the server closes (bounded by ``timeout``)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def _status_and_error(data: bytes) -> tuple[int, dict]:
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    [error] = json.loads(body)["errors"]
    assert error["status"] == status and error["code"].startswith("placement.")
    return status, error


def test_long_request_line_is_a_json_414(server: Server) -> None:
    raw = b"GET /resource_providers?member_of=" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert _status_and_error(_exchange(server, raw))[0] == 414


def test_large_headers_are_a_json_431(server: Server) -> None:
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
    assert _status_and_error(_exchange(server, raw))[0] == 431


@pytest.mark.parametrize("length", [b"99999999999999999999", b"10001"])
def test_absurd_content_length_is_answered_at_once(server: Server, length: bytes) -> None:
    raw = (
        b"POST /resource_providers HTTP/1.1\r\nHost: x\r\nx-auth-token: admin\r\n"
        b"content-type: application/json\r\ncontent-length: " + length + b"\r\n\r\n"
    )
    assert _status_and_error(_exchange(server, raw))[0] == 413


def test_chunked_body_is_read(server: Server) -> None:
    body = json.dumps({"name": "chunky", "uuid": str(uuid.uuid4())}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]))
    raw = (
        b"POST /resource_providers HTTP/1.1\r\nHost: x\r\nx-auth-token: admin\r\n"
        b"openstack-api-version: placement latest\r\nconnection: close\r\n"
        b"content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    data = _exchange(server, raw)
    assert data.startswith(b"HTTP/1.1 200"), data
    assert b'"chunky"' in data


def test_chunked_body_over_the_limit_is_a_413(server: Server) -> None:
    raw = (
        b"POST /resource_providers HTTP/1.1\r\nHost: x\r\nx-auth-token: admin\r\n"
        b"content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        + b"".join(b"1000\r\n" + b"a" * 4096 + b"\r\n" for _ in range(4))
    )
    assert _status_and_error(_exchange(server, raw))[0] == 413


def test_slow_head_and_slow_body_are_408(server: Server) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\n"
    assert _status_and_error(_exchange(server, head))[0] == 408
    body = (
        b"POST /resource_providers HTTP/1.1\r\nHost: x\r\nx-auth-token: admin\r\n"
        b"content-type: application/json\r\ncontent-length: 50\r\n\r\n{"
    )
    assert _status_and_error(_exchange(server, body))[0] == 408


def test_keep_alive_serves_several_requests_then_idles_out(server: Server) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    data = _exchange(server, request * 3)  # pipelined, then idle until keepalive_timeout
    assert data.count(b"HTTP/1.1 200") == 3


def test_malformed_request_is_a_json_400(server: Server) -> None:
    assert _status_and_error(_exchange(server, b"NOT HTTP AT ALL\r\n\r\n"))[0] == 400
