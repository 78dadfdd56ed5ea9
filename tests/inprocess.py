"""Call a WSGI app in-process, as the tests that need no HTTP client do."""

from __future__ import annotations

import io
from typing import Any

import orjson

from allotment.http import microversion as mv

LATEST = str(mv.MAX_VERSION)


def call(app: Any, method: str, path: str, body: Any = None, version: str = LATEST) -> tuple:
    raw = orjson.dumps(body) if body is not None else b""
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json" if raw else "",
        "HTTP_X_AUTH_TOKEN": "admin",
        "HTTP_OPENSTACK_API_VERSION": f"placement {version}",
    }
    seen: dict[str, Any] = {}

    def start(status: str, headers: list, exc_info: Any = None) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    out = b"".join(app(environ, start))
    return seen["status"], out, seen["headers"]


def call_json(
    app: Any, method: str, path: str, body: Any = None, version: str = LATEST
) -> tuple[int, Any]:
    """``call`` with the body parsed as JSON (None when empty)."""
    status, out, _ = call(app, method, path, body, version)
    return status, (orjson.loads(out) if out else None)
