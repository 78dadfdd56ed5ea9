"""``GET /openapi.json``: the document, unauthenticated and cacheable.

``?microversion=1.X`` selects the microversion described (default: the
latest). The answer carries an ETag and may be cached for a day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson

from allotment.http import microversion as mv
from allotment.openapi.generate import document_bytes

StartResponse = Callable[..., Any]


def _answer(start_response: StartResponse, status: str, body: bytes, headers: list) -> list[bytes]:
    start_response(status, [*headers, ("content-length", str(len(body)))])
    return [body]


def openapi_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return _answer(start_response, "405 Method Not Allowed", b"", [("allow", "GET, HEAD")])
    asked = parse_qs(environ.get("QUERY_STRING", "")).get("microversion", ["latest"])[-1]
    try:
        version = mv.parse_version(asked)
    except mv.MicroversionError as error:
        status = "400 Bad Request" if error.status == 400 else "404 Not Found"
        body = orjson.dumps({"error": error.message})
        return _answer(start_response, status, body, [("content-type", "application/json")])
    body = document_bytes(version)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "public, max-age=86400"),
        ("etag", etag),
    ]
    if environ.get("HTTP_IF_NONE_MATCH") == etag:
        return _answer(start_response, "304 Not Modified", b"", headers[1:])
    if environ["REQUEST_METHOD"] == "HEAD":
        start_response("200 OK", [*headers, ("content-length", str(len(body)))])
        return [b""]
    return _answer(start_response, "200 OK", body, headers)
