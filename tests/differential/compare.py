"""Normalise two answers to one request and list how they differ.

Compared: the status, the headers a client can see (``content-type``,
``openstack-api-version``, ``vary``, ``allow``, ``location``, ``cache-control``
and the presence of ``last-modified``) and the body (JSON parsed; request ids
blanked; list order ignored because upstream builds many lists from sets).
Ignored: ``date``, ``server``, ``connection``, ``content-length`` and the
request-id headers, which differ between any two servers or requests.

A JSON-schema error is compared up to its first sentence ("JSON does not
validate: 0 is less than the minimum of 1"): after it jsonschema prints the
whole failing schema, and allotment's schemas are its own (same rules, other
key order and spelling), so that dump is not upstream's text. See
docs/testing.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

COMPARED_HEADERS = (
    "content-type",
    "openstack-api-version",
    "vary",
    "allow",
    "location",
    "cache-control",
)
REQUEST_ID = re.compile(r"req-[0-9a-f-]{36}")
# Lists upstream renders from a Python set of strings: their order changes from
# one upstream process to the next, so they are compared sorted.
SET_ORDERED = (
    re.compile(r"(No such trait )([^ ]+(?:, [^ ]+)*)(  )"),
    # The quotes are escaped (&#x27;) in an HTML error page.
    re.compile(
        r"(on resource provider (?:'|&#x27;))([0-9a-f-]+(?:, [0-9a-f-]+)+)((?:'|&#x27;) invalid)"
    ),
)
SCHEMA_DUMP = re.compile(
    r"((?:JSON does not validate|Invalid query string parameters): .*?)  Failed validating .*",
    re.S,
)
# The same dump in an HTML error page (newlines kept, quotes escaped).
SCHEMA_DUMP_HTML = re.compile(r"\n\nFailed validating .*?(?=\n </body>)", re.S)


@dataclass(frozen=True)
class Difference:
    """One way in which the answers differ; ``kind`` groups similar differences."""

    call: str
    kind: str
    ours: Any
    theirs: Any

    def __str__(self) -> str:
        return f"{self.call}: {self.kind}\n  allotment: {self.ours!r}\n  placement: {self.theirs!r}"


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, str):
        value = SCHEMA_DUMP.sub(r"\1  ", REQUEST_ID.sub("req-ID", value))
        value = SCHEMA_DUMP_HTML.sub("", value)
        for pattern in SET_ORDERED:
            value = pattern.sub(_sorted_list, value)
        return value
    return value


def _sorted_list(match: re.Match[str]) -> str:
    items = sorted(match.group(2).split(", "))
    return match.group(1) + ", ".join(items) + match.group(3)


def body_of(response: httpx.Response) -> Any:
    text = response.content
    if not text:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return _canonical(json.loads(text))
        except ValueError:
            pass
    return _canonical(text.decode("utf-8", "replace"))


def _header(response: httpx.Response, name: str) -> str | None:
    value = response.headers.get(name)
    if value is None:
        return None
    if name == "allow":
        return ", ".join(sorted(v.strip() for v in value.split(",")))
    if name == "content-type":
        return value.replace(" ", "").lower()
    if name == "location":
        return httpx.URL(value).path
    return value


def _route_kind(method: str, path: str) -> str:
    parts = path.split("?")[0].strip("/").split("/")
    shape = []
    for i, part in enumerate(parts):
        if i % 2 == 1 and parts[0] in ("resource_providers", "allocations"):
            shape.append("{id}")
        elif i == 1 and parts[0] in ("resource_classes", "traits"):
            shape.append("{name}")
        elif i == 3:
            shape.append("{rc}")
        else:
            shape.append(part)
    return f"{method} /{'/'.join(shape)}"


def differences(
    call: str, method: str, path: str, ours: httpx.Response, theirs: httpx.Response
) -> list[Difference]:
    route = _route_kind(method, path)
    found: list[Difference] = []
    if ours.status_code != theirs.status_code:
        found.append(
            Difference(
                call,
                f"{route} status {ours.status_code} vs {theirs.status_code}",
                ours.text[:400],
                theirs.text[:400],
            )
        )
        return found
    status = ours.status_code
    for name in COMPARED_HEADERS:
        a, b = _header(ours, name), _header(theirs, name)
        if a != b:
            found.append(Difference(call, f"{route} {status} header {name}", a, b))
    a_lm, b_lm = "last-modified" in ours.headers, "last-modified" in theirs.headers
    if a_lm != b_lm:
        found.append(Difference(call, f"{route} {status} last-modified presence", a_lm, b_lm))
    a_body, b_body = body_of(ours), body_of(theirs)
    if a_body != b_body:
        found.append(Difference(call, f"{route} {status} body", a_body, b_body))
    return found
