"""Every host of the configured database down: 503 with a JSON error, never 500."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from allotment import config
from allotment.app import make_app
from tests.inprocess import call_json


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(app: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return call_json(app, method, path, body, version="1.38")


@pytest.mark.parametrize("scheme", ["mysql+pymysql://root", "postgresql+psycopg://postgres"])
def test_every_host_down_answers_503(scheme: str) -> None:
    hosts = f"127.0.0.1:{_dead_port()},127.0.0.1:{_dead_port()}"
    settings = config.Settings(database_url=f"{scheme}@{hosts}/placement", access_log=False)
    app = make_app(settings, prepare=False)
    consumer = "11111111-1111-4111-8111-111111111111"
    claim = {
        "allocations": {},
        "project_id": "p",
        "user_id": "u",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    for method, path, body in (
        ("GET", "/resource_providers", None),
        ("POST", "/resource_providers", {"name": "x"}),
        ("PUT", f"/allocations/{consumer}", claim),
        ("GET", "/allocation_candidates?resources=VCPU:1", None),
    ):
        status, payload = _call(app, method, path, body)
        assert status == 503, (method, path, status, payload)
        assert payload["errors"][0]["status"] == 503
    status, _ = _call(app, "GET", "/healthcheck")
    assert status == 503
