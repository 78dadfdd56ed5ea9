"""Check answers against the OpenAPI document: the response schemas as test oracles.

``Conformance`` wraps the WSGI app in tests: for every request that reached
an operation it checks that the status is documented for that operation at
the request's microversion, that a JSON body matches the documented schema
(error bodies included, with their ``code``), and that an undocumented body
does not appear. Problems are collected, not raised, so a test can report
them all at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import jsonschema
import orjson

from allotment.http import microversion as mv
from allotment.http.request import ENV_ROUTE, ENV_VERSION
from allotment.openapi.generate import document

StartResponse = Callable[..., Any]


@functools.lru_cache(maxsize=64)
def _operations(version: mv.Version) -> dict[str, Any]:
    return document(version)["paths"]


@functools.lru_cache(maxsize=4096)
def _validator(version: mv.Version, template: str, method: str, status: str) -> Any:
    response = _operations(version)[template][method]["responses"][status]
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def problems_with(
    environ: dict[str, Any], status: int, content_type: str, body: bytes
) -> list[str]:
    """What is wrong with one answer, judged by the document (empty: conforms)."""
    template = environ.get(ENV_ROUTE)
    version = environ.get(ENV_VERSION)
    method = environ.get("REQUEST_METHOD", "").lower()
    if template is None or version is None or method == "head":
        return []  # never reached an operation (unknown path, bad microversion)
    where = f"{method.upper()} {template} at {version} -> {status}"
    operation = _operations(version).get(template, {}).get(method)
    if operation is None:
        # A method the route lacks, or below its first microversion.
        return [] if status in (404, 405) else [f"{where}: operation not documented"]
    if str(status) not in operation["responses"]:
        return [f"{where}: status not documented"]
    validator = _validator(version, template, method, str(status))
    if not body:
        return [f"{where}: documented body missing"] if validator is not None else []
    if not content_type.startswith("application/json"):
        return []  # an HTML or text error asked for by the Accept header
    if validator is None:
        return [f"{where}: body not documented"]
    error = jsonschema.exceptions.best_match(validator.iter_errors(orjson.loads(body)))
    return [] if error is None else [f"{where}: {error.message} at {list(error.absolute_path)}"]


class Conformance:
    """WSGI middleware collecting ``problems`` of every answer (see module doc)."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.problems: list[str] = []
        self.checked = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        seen: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            seen["type"] = next((v for k, v in headers if k.lower() == "content-type"), "")
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, start))
        self.checked += 1
        self.problems += problems_with(environ, seen["status"], seen["type"], body)
        return [body]
