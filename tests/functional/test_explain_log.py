"""An empty GET /allocation_candidates logs the explain funnel as one DEBUG line."""

from __future__ import annotations

import io
import logging
import sys
from typing import Any

import orjson
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.http.handlers import allocation_candidate
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder

LOGGER = "allotment.http.handlers.allocation_candidate"


def _get(app: Any, query: str) -> tuple[dict, str]:
    """The body and the response's request id."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/allocation_candidates",
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_X_AUTH_TOKEN": "admin",
        "HTTP_OPENSTACK_API_VERSION": "placement latest",
    }
    status: list[str] = []
    headers: dict[str, str] = {}

    def start(code: str, pairs: list, exc_info: Any = None) -> None:
        status.append(code)
        headers.update((k.lower(), v) for k, v in pairs)

    body = b"".join(app(environ, start))
    assert status[0].startswith("200"), body
    return orjson.loads(body), headers["x-openstack-request-id"]


@pytest.fixture
def app(db: Database, settings: Settings) -> Any:
    with db.write() as conn:
        builder = TreeBuilder(conn)
        builder.provider("cn1", inventory={"VCPU": 8}, used={"VCPU": 6})
        builder.provider("cn2", inventory={"VCPU": 4})
    return make_app(settings, db=db, prepare=False)


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_an_empty_answer_logs_one_line_with_the_funnel(app: Any, caplog) -> None:
    logging.getLogger(LOGGER).propagate = True
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        body, request_id = _get(app, "resources=VCPU:5")
    assert body["allocation_requests"] == []
    lines = _lines(caplog)
    assert len(lines) == 1
    line = lines[0]
    assert f"request {request_id}:" in line
    assert "capacity: the unnumbered group: no provider has free capacity for VCPU:5" in line
    assert "providers 2 > classes 2 > min_unit 2 > max_unit 2 > step_size 2 > capacity 0" in line
    assert "\n" not in line


def test_candidates_or_info_level_log_nothing(app: Any, caplog, monkeypatch) -> None:
    logging.getLogger(LOGGER).propagate = True
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert _get(app, "resources=VCPU:2")[0]["allocation_requests"]
    assert _lines(caplog) == []

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("explain must not run unless DEBUG is on")

    monkeypatch.setattr(allocation_candidate, "explain", boom)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert _get(app, "resources=VCPU:5")[0]["allocation_requests"] == []
    assert _lines(caplog) == []
