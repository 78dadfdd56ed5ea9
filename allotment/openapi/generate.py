"""Build the OpenAPI document of one microversion from the route table."""

from __future__ import annotations

import functools
import re
from typing import Any

import orjson

from allotment import __version__
from allotment.http import error_codes
from allotment.http import microversion as mv
from allotment.http.routes import ROUTES, Endpoint, Route
from allotment.http.schemas import responses

OPENAPI_VERSION = "3.1.0"
TOKEN_HEADER = "X-Auth-Token"
_PATH_PARAM = re.compile(r"\{(\w+)\}")
# A query schema's patternProperties key of the form "^prefix(suffix)?$".
_GROUP_PATTERN = re.compile(r"^\^(\w+)\(")

DESCRIPTION = (
    "The OpenStack Placement API as allotment serves it, at one microversion. "
    "Send the `OpenStack-API-Version` header with the value this document names. "
    "Every error answer is a JSON `errors` list; from microversion 1.23 each "
    "error carries a `code` (the values possible per operation are listed)."
)

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad request: malformed input, invalid parameters or body.",
    401: "No valid authentication token.",
    403: "The policy does not allow this caller.",
    404: "Not found.",
    406: "Unsupported microversion, or an Accept header without JSON.",
    409: "Conflict: generation mismatch, name in use, resource in use or no capacity.",
    415: "The body is not application/json.",
    503: "The database is unavailable; retry after the Retry-After delay.",
}


def document(version: mv.Version = mv.MAX_VERSION) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``version`` (a new dict each call)."""
    paths: dict[str, Any] = {}
    for route in ROUTES:
        operations: dict[str, Any] = {
            method.lower(): _operation(route, endpoint, version)
            for method, endpoint in sorted(route.methods.items())
            if version >= endpoint.min_version
        }
        if not operations:
            continue
        params = _PATH_PARAM.findall(route.template)
        if params:
            operations["parameters"] = [_path_parameter(name) for name in params]
        paths[route.template] = operations
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Placement API (allotment)",
            "version": f"{mv.SERVICE_TYPE} {version} (allotment {__version__})",
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER},
            },
        },
        "security": [{"token": []}],
    }


@functools.lru_cache(maxsize=64)
def document_bytes(version: mv.Version = mv.MAX_VERSION) -> bytes:
    """The document as JSON bytes (sorted keys), computed once per microversion."""
    return orjson.dumps(document(version), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def _path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(route: Route, endpoint: Endpoint, version: mv.Version) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "tags": [_tag(route.template)],
        "parameters": [_version_header(version), *_query_parameters(endpoint, version)],
    }
    if endpoint.policy is None:
        operation["security"] = []
    else:
        operation["x-policy"] = endpoint.policy
    if endpoint.needs_json(version):
        assert endpoint.body is not None
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": endpoint.body(version)}},
        }
    patterns = _parameter_patterns(endpoint, version)
    if patterns:
        operation["x-parameter-patterns"] = patterns
    operation["responses"] = _responses(route, endpoint, version)
    return operation


def _tag(template: str) -> str:
    parts = [p for p in template.split("/") if p and not p.startswith("{")]
    return parts[0] if parts else "root"


def _version_header(version: mv.Version) -> dict[str, Any]:
    return {
        "name": "OpenStack-API-Version",
        "in": "header",
        "required": True,
        "description": "The microversion this document describes.",
        "schema": {"type": "string", "const": f"{mv.SERVICE_TYPE} {version}"},
    }


def _query_schema(endpoint: Endpoint, version: mv.Version) -> dict[str, Any]:
    return endpoint.query(version) if endpoint.query is not None else {}


def _query_parameters(endpoint: Endpoint, version: mv.Version) -> list[dict[str, Any]]:
    schema = _query_schema(endpoint, version)
    required = set(schema.get("required", ()))
    params = []
    names: set[str] = set()
    for name, prop in schema.get("properties", {}).items():
        names.add(name)
        params.append(_query_parameter(name, prop, name in required))
    # Request-group parameters (resources1, required_X...) are patterns: the
    # unsuffixed name is listed, the pattern in x-parameter-patterns.
    for pattern, prop in schema.get("patternProperties", {}).items():
        found = _GROUP_PATTERN.match(pattern)
        if found and found.group(1) not in names:
            names.add(found.group(1))
            param = _query_parameter(found.group(1), prop, False)
            param["description"] = f"Also suffixed for a request group: names matching {pattern}"
            params.append(param)
    return params


def _query_parameter(name: str, prop: dict[str, Any], required: bool) -> dict[str, Any]:
    schema = dict(prop)
    # Query values are strings; an integer-or-string schema (limit) stays a string.
    if isinstance(schema.get("type"), list):
        schema["type"] = "string"
        schema.pop("minimum", None)
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _parameter_patterns(endpoint: Endpoint, version: mv.Version) -> list[str]:
    return sorted(_query_schema(endpoint, version).get("patternProperties", {}))


def error_statuses(route: Route, endpoint: Endpoint, version: mv.Version) -> dict[int, list[str]]:
    """Every error status the endpoint may answer at ``version``, with its codes."""
    out: dict[int, set[str]] = {status: set(codes) for status, codes in endpoint.errors.items()}
    shared = [400, 406, 503]  # bad version header or length, no JSON accepted, database down
    if endpoint.policy is not None:
        shared += [401, 403]
    if "{" in route.template:
        shared.append(404)
    if endpoint.needs_json(version):
        shared.append(415)
    for status in shared:
        out.setdefault(status, set())
    return {
        status: sorted(codes | {error_codes.UNDEFINED}) for status, codes in sorted(out.items())
    }


def _responses(route: Route, endpoint: Endpoint, version: mv.Version) -> dict[str, Any]:
    out: dict[str, Any] = {}
    success = endpoint.responses(version) if endpoint.responses else {200: None}
    for status, schema in sorted(success.items()):
        entry: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "Success")}
        if schema is not None:
            entry["content"] = {"application/json": {"schema": schema}}
        out[str(status)] = entry
    for status, codes in error_statuses(route, endpoint, version).items():
        entry = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": responses.error(codes)}},
        }
        if version.matches(mv.ERROR_CODES):
            entry["x-error-codes"] = codes
        out[str(status)] = entry
    return out
