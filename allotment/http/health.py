"""``GET /healthcheck`` for load balancers: is this process able to serve?

Answered before authentication and microversion handling, so probes need no
token and no headers. 200 ``{"status": "ok"}`` when the database answers
``SELECT 1``; 503 ``{"status": "unavailable", ...}`` when it does not (the
reason is logged, not returned). ``HEAD`` gives the same status without a
body. Every answer says ``Cache-Control: no-cache``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import sqlalchemy as sa

from allotment.store.engine import Database

LOG = logging.getLogger(__name__)

PATH = "/healthcheck"
METHODS = ("GET", "HEAD")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def database_ok(db: Database) -> bool:
    """Whether the database answers a trivial query."""
    try:
        with db.read() as conn:
            conn.execute(sa.text("SELECT 1")).scalar_one()
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        LOG.warning("health check: database unavailable: %s", error)
        return False
    return True


class HealthCheck:
    """Serves ``/healthcheck``; every other path goes to the app."""

    def __init__(self, app: WSGIApp, db: Database):
        self.app = app
        self.db = db

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        if environ.get("PATH_INFO") != PATH:
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in METHODS:
            return _send(
                start_response,
                "405 Method Not Allowed",
                {"status": "error", "reason": f"method {method} not allowed"},
                [("Allow", ", ".join(METHODS))],
                method,
            )
        if database_ok(self.db):
            return _send(start_response, "200 OK", {"status": "ok"}, [], method)
        return _send(
            start_response,
            "503 Service Unavailable",
            {"status": "unavailable", "reason": "database unavailable"},
            [],
            method,
        )


def _send(
    start_response: StartResponse,
    status: str,
    body: dict[str, Any],
    headers: list[tuple[str, str]],
    method: str,
) -> list[bytes]:
    payload = orjson.dumps(body)
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-cache"),
            *headers,
        ],
    )
    return [b""] if method == "HEAD" else [payload]
