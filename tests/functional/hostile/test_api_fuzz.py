"""Property-based fuzzing of every route in the route table, in process, on every backend.

For each route of ``allotment.http.routes.ROUTES`` (so routes added later are
covered without touching this file) hypothesis throws random methods, path
segments, query strings, JSON and non-JSON bodies, content types, accept
headers, tokens and microversions at the app, and checks two properties:

* the server never fails (no 5xx), and
* every client error carries the placement error document.

The database is seeded with a provider, a custom class and trait and an
aggregate, and known-good values are mixed into the random ones (and the
hostile ones of ``test_properties``), so the fuzzer reaches the handlers'
deeper paths and not only their validation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import error_codes, errors, routes
from allotment.http import microversion as mv
from allotment.store import aggregate, schema, trait
from allotment.store import resource_class as rc_store
from allotment.store.engine import Database
from allotment.store.tables import resource_providers
from tests.functional.hostile.test_properties import HOSTILE_TEXT

PROVIDER = "5b3e5f2a-4c1d-4e8f-9a7b-6c5d4e3f2a1b"
AGGREGATE = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
CONSUMER = "c0c0c0c0-1111-4222-8333-444455556666"

KNOWN_VALUES = [
    PROVIDER,
    AGGREGATE,
    CONSUMER,
    str(uuid.UUID(int=0)),
    PROVIDER.replace("-", ""),
    "VCPU",
    "MEMORY_MB",
    "DISK_GB",
    "CUSTOM_FUZZ",
    "CUSTOM_NEW",
    "HW_CPU_X86_AVX2",
    "MISC_SHARES_VIA_AGGREGATE",
    "CUSTOM_",
    "",
    "0",
    "1",
    "-1",
    "2147483648",
    "true",
    "FALSE",
    "in:",
    "in:CUSTOM_FUZZ,HW_CPU_X86_AVX2",
    "startswith:CUSTOM",
    "!HW_CPU_X86_AVX2",
    f"in:{AGGREGATE}",
    f"!{AGGREGATE}",
    f"!in:{AGGREGATE},{PROVIDER}",
    "VCPU:1",
    "VCPU:1,MEMORY_MB:512",
    "DISK_GB:0",
    "VCPU",
    "_A,_B",
    "isolate",
    "none",
    "all",
    "unknown",
    *(text for text in HOSTILE_TEXT if not any("\ud800" <= c <= "\udfff" for c in text)),
]
QUERY_NAMES = [
    "name",
    "associated",
    "uuid",
    "member_of",
    "resources",
    "in_tree",
    "required",
    "limit",
    "group_policy",
    "project_id",
    "user_id",
    "consumer_type",
    "root_required",
    "same_subtree",
    "resources1",
    "required1",
    "member_of1",
    "in_tree1",
    "resources_A",
    "required_B",
    "member_of_A",
]
BODY_KEYS = [
    "name",
    "uuid",
    "parent_provider_uuid",
    "traits",
    "aggregates",
    "resource_provider_generation",
    "inventories",
    "resource_class",
    "total",
    "reserved",
    "min_unit",
    "max_unit",
    "step_size",
    "allocation_ratio",
    "allocations",
    "resources",
    "resource_provider",
    "project_id",
    "user_id",
    "consumer_generation",
    "consumer_type",
    "mappings",
    "generation",
    PROVIDER,
    CONSUMER,
    "VCPU",
    "CUSTOM_FUZZ",
]
# Valid choices are repeated so that most requests get past negotiation,
# authentication and authorization into the handlers.
_GOOD_VERSIONS = [f"placement 1.{minor}" for minor, _ in mv.VERSIONS] + ["placement latest"]
VERSIONS = _GOOD_VERSIONS * 3 + [
    None,
    "placement 1.40",
    "placement 2.0",
    "placement 1.x",
    "placement",
    "compute 2.1",
    "compute 2.1, placement 1.30",
    "placement 01.010",
]
CONTENT_TYPES = ["application/json"] * 6 + [
    None,
    "application/json; charset=utf-8",
    "text/plain",
    "",
    "application/xml",
    "APPLICATION/JSON",
]
ACCEPTS = [None] * 6 + [
    "application/json",
    "*/*",
    "text/html",
    "application/*",
    "text/html, */*;q=0.1",
]
TOKENS = ["admin"] * 10 + [None, "user", "user:project"]
# Path parameters get values that name seeded rows half of the time.
SEGMENT_VALUES = {
    "uuid": [PROVIDER, PROVIDER.upper(), str(uuid.UUID(int=0))],
    "consumer_uuid": [CONSUMER, "not-a-uuid"],
    "name": ["CUSTOM_FUZZ", "CUSTOM_NEW", "VCPU", "HW_CPU_X86_AVX2", "CUSTOM_lower"],
    "resource_class": ["VCPU", "CUSTOM_FUZZ", "DISK_GB", "NOPE"],
}

# Text without surrogates (they cannot be percent-encoded as UTF-8).
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_value = st.one_of(st.sampled_from(KNOWN_VALUES), _text)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-1, max_value=5),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _value,
)
_json = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(BODY_KEYS), _text), children, max_size=5),
    ),
    max_leaves=20,
)
_body = st.one_of(
    st.none(),
    _json.map(lambda data: json.dumps(data).encode()),
    st.dictionaries(st.sampled_from(BODY_KEYS), _json, max_size=4).map(
        lambda data: json.dumps(data).encode()
    ),
    st.binary(max_size=40),
    st.sampled_from([b"", b"{", b"[oops", b"null", b'{"traits": ["\\u0000"]}']),
)
# Query values in the shapes the grammars parse: "in:a,b", "!x", "RC:N,RC:N", ...
_amount = st.tuples(
    st.sampled_from(["VCPU", "DISK_GB", "CUSTOM_FUZZ", "NOPE", "vcpu", ""]),
    st.sampled_from(["1", "0", "-1", "x", "", "99999999999", "1.5"]),
).map(":".join)
_query_value = st.one_of(
    _value,
    st.tuples(
        st.sampled_from(["", "in:", "startswith:", "!", "!in:", "in:!", "!!"]),
        st.lists(st.one_of(_value, _amount), min_size=1, max_size=3).map(",".join),
    ).map("".join),
)
# The parameters each searchable route knows, so that a good share of the
# queries passes the unknown-parameter check and reaches the grammar parsers.
# Routes not listed here get names from the whole list.
QUERY_HINTS = {
    "/traits": ["name", "associated"],
    "/resource_providers": ["name", "uuid", "member_of", "resources", "in_tree", "required"],
    "/usages": ["project_id", "user_id", "consumer_type"],
    "/allocation_candidates": [
        "resources",
        "required",
        "member_of",
        "in_tree",
        "limit",
        "group_policy",
        "root_required",
        "same_subtree",
        "resources1",
        "required1",
        "member_of1",
        "in_tree1",
        "resources_A",
        "required_B",
        "member_of_A",
    ],
}


def _query(route: routes.Route) -> st.SearchStrategy[str]:
    known = st.sampled_from(QUERY_HINTS.get(route.template, QUERY_NAMES))
    any_name = st.one_of(known, st.sampled_from(QUERY_NAMES), _text)
    return st.one_of(
        st.lists(st.tuples(known, _query_value), max_size=3),  # passes the name check
        st.lists(st.tuples(any_name, _query_value), max_size=4),
    ).map(urlencode)


@pytest.fixture
def client(backend_db: Database) -> Iterator[httpx.Client]:
    """The seeded app on each backend (the data is reset for each route's test)."""
    schema.reset_data(backend_db)
    backend_db.run_write(_seed)
    url = backend_db.url.render_as_string(hide_password=False)
    app = make_app(Settings(database_url=url, access_log=False), db=backend_db, prepare=False)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://placement") as c:
        yield c


def _seed(conn: sa.Connection) -> None:
    provider_id = conn.execute(
        resource_providers.insert().values(uuid=PROVIDER, name="fuzz-rp", generation=0)
    ).inserted_primary_key[0]
    conn.execute(
        sa.update(resource_providers)
        .where(resource_providers.c.id == provider_id)
        .values(root_provider_id=provider_id)
    )
    rc_store.create(conn, "CUSTOM_FUZZ")
    trait.ensure(conn, "CUSTOM_FUZZ")
    aggregate.set_provider_aggregates(conn, provider_id, [AGGREGATE])


def _path(route: routes.Route, segments: dict[str, str]) -> str:
    out = route.template
    for name, value in segments.items():
        out = out.replace("{" + name + "}", quote(value, safe=""))
    return out


def _segments(draw: st.DrawFn, route: routes.Route) -> dict[str, str]:
    names = [part[1:-1] for part in route.template.split("/") if part.startswith("{")]
    return {
        name: draw(
            st.one_of(
                st.sampled_from(SEGMENT_VALUES.get(name, KNOWN_VALUES[:1])),
                _value.filter(lambda v: v != ""),
            )
        )
        for name in names
    }


def _url(route: routes.Route, segments: dict[str, str], query: str) -> str:
    return _path(route, segments) + (f"?{query}" if query else "")


@st.composite
def wild_requests(draw: st.DrawFn, route: routes.Route) -> dict[str, Any]:
    """Anything goes: methods, versions, tokens, content types and accept headers."""
    method = draw(st.sampled_from([*route.methods, "PATCH"]))
    headers = {}
    for header, choices in (
        ("openstack-api-version", VERSIONS),
        ("content-type", CONTENT_TYPES),
        ("accept", ACCEPTS),
        ("x-auth-token", TOKENS),
    ):
        value = draw(st.sampled_from(choices))
        if value is not None:
            headers[header] = value
    url = _url(route, _segments(draw, route), draw(_query(route)))
    return {"method": method, "url": url, "headers": headers, "content": draw(_body)}


@st.composite
def handler_requests(draw: st.DrawFn, route: routes.Route) -> dict[str, Any]:
    """A valid envelope (admin, JSON, a version the endpoint exists at), so every
    request reaches its handler with random path, query and body."""
    method = draw(st.sampled_from(sorted(route.methods)))
    first = route.methods[method].min_version.minor
    minor = draw(st.integers(min_value=first, max_value=mv.MAX_VERSION.minor))
    # The service role too: POST /reshaper allows nothing else.
    headers = {
        "x-auth-token": "admin",
        "x-roles": "admin,service",
        "content-type": "application/json",
        "openstack-api-version": f"placement 1.{minor}",
    }
    url = _url(route, _segments(draw, route), draw(_query(route)))
    return {"method": method, "url": url, "headers": headers, "content": draw(_body)}


def _check_error_document(response: httpx.Response, request: dict[str, Any]) -> None:
    media_type = errors.error_media_type(request["headers"].get("accept"))
    if media_type != "application/json" and response.status_code != 401:
        # Upstream (webob) renders errors as HTML or plain text for such clients.
        assert response.headers.get("content-type", "").startswith(media_type), request
        return
    assert response.headers.get("content-type", "").startswith("application/json"), request
    document = response.json()
    if response.status_code == 401 and "errors" not in document:
        # The authentication layer's 401 keeps upstream's own shape (spec A4).
        assert str(document.get("code")).startswith("401") and document.get("title"), document
        return
    assert isinstance(document, dict) and list(document) == ["errors"], document
    [error] = document["errors"]
    assert error["status"] == response.status_code, document
    assert isinstance(error["title"], str) and error["title"], document
    assert isinstance(error["detail"], str), document
    assert error["request_id"] == response.headers["x-openstack-request-id"], document
    if "code" in error:
        assert error["code"] in error_codes.ALL, document


def _check(client: httpx.Client, request: dict[str, Any]) -> None:
    response = client.request(**request)
    status = response.status_code
    assert status < 500, (request, status, response.text)
    if status >= 400:
        _check_error_document(response, request)


# Bounded so the whole file runs in well under a minute; no example database
# is written into the checkout.
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
WILD_SETTINGS = settings(
    max_examples=15, deadline=None, database=None, suppress_health_check=_HEALTH
)
HANDLER_SETTINGS = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=_HEALTH
)
ROUTE_IDS = {"ids": lambda r: r.template}


@pytest.mark.parametrize("route", routes.ROUTES, **ROUTE_IDS)
@WILD_SETTINGS
@given(data=st.data())
def test_route_survives_wild_requests(
    client: httpx.Client, route: routes.Route, data: st.DataObject
) -> None:
    _check(client, data.draw(wild_requests(route)))


@pytest.mark.parametrize("route", routes.ROUTES, **ROUTE_IDS)
@HANDLER_SETTINGS
@given(data=st.data())
def test_handler_survives_random_input(
    client: httpx.Client, route: routes.Route, data: st.DataObject
) -> None:
    _check(client, data.draw(handler_requests(route)))
