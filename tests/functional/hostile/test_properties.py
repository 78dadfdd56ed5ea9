"""Hostile values in every field of every body and query, on every backend.

Each example takes a valid request (a body or query that the seeded
database would accept), replaces one field - a value, a key, a path
segment or a query parameter - by a hostile value (NUL and control
characters, trailing spaces, 4-byte characters, lone surrogates, huge and
negative numbers, deep nesting, long lists and strings, wrong types) and
sends it at one of several microversions. The properties: never a 5xx, and
every error is the placement JSON document, with a ``code`` from 1.23.

CI runs a few examples per test and backend. The long run, by hand:

    ALLOTMENT_HOSTILE_EXAMPLES=1200 ALLOTMENT_HOSTILE_REPORT=/tmp/hostile.json \\
        .venv/bin/pytest -n 0 -m hostile tests/functional/hostile

(the report file gets the number of requests per backend and status).
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.config import Settings
from allotment.http import error_codes
from allotment.http import microversion as mv
from allotment.store.engine import Database
from tests.functional.hostile.conftest import make_client

pytestmark = pytest.mark.hostile

RP = "11111111-2222-4333-8444-555555555555"
CHILD = "11111111-2222-4333-8444-666666666666"
AGG = "aaaaaaaa-2222-4333-8444-555555555555"
CONSUMER = "cccccccc-2222-4333-8444-555555555555"
NEW_CONSUMER = "cccccccc-2222-4333-8444-666666666666"

EXAMPLES = int(os.environ.get("ALLOTMENT_HOSTILE_EXAMPLES", "25"))
# Versions where behaviour changes, then the newest.
VERSIONS = ["1.0", "1.6", "1.10", "1.14", "1.20", "1.26", "1.28", "1.30", "1.34", "1.36"]
VERSIONS.append(str(mv.MAX_VERSION))
COUNTS: Counter[tuple[str, int]] = Counter()

# --- hostile values ----------------------------------------------------------
HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "CUSTOM_\x00",
    "",
    " ",
    "tp ",
    " tp",
    "hostile-rp ",
    "\r\nX-Injected: 1",
    "\x1b[31m",
    "\u202e\u2028\u2029",
    "\U0001f600" * 3,
    "\ud800",
    "\udfff",
    "%00",
    "../../etc/passwd",
    "' OR '1'='1' --",
    "\\",
    "x" * 256,
    "CUSTOM_" + "X" * 300,
    "é" * 200,
    RP,
    RP.upper(),
    "in:" + AGG,
    "VCPU:1",
]
HOSTILE_NUMBERS: list[Any] = [
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**53 + 1,
    2**63,
    -(2**63),
    2**64,
    10**30,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    0,
    -1,
    0.5,
    True,
    None,
]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_SHAPES: list[Any] = [
    [],
    {},
    _nested(40),
    _nested(200),
    list(range(1001)),
    ["CUSTOM_HOSTILE"] * 1001,
    {f"K{i}": i for i in range(1001)},
    {"\x00": 1},
    {"": None},
    [None],
    ["x" * 10_000],
]
_text = st.text(max_size=30)
_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
)
_json = st.recursive(
    _json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_text, children, max_size=3)
    ),
    max_leaves=8,
)
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(HOSTILE_SHAPES),
    _json,
)
# Query strings carry text only; surrogates cannot be percent-encoded.
_query_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
HOSTILE_QUERY = st.one_of(
    st.sampled_from([t for t in HOSTILE_TEXT if "\ud800" not in t and "\udfff" not in t]),
    st.sampled_from(
        [str(n) for n in HOSTILE_NUMBERS] + ["VCPU:" + str(2**31), "VCPU:" + "9" * 5000]
    ),
    st.sampled_from(["in:" + ",".join([AGG] * 300), ",".join(["CUSTOM_HOSTILE"] * 300)]),
    _query_text,
)

# --- valid requests to start from --------------------------------------------
_INVENTORY = {
    "total": 8,
    "reserved": 0,
    "min_unit": 1,
    "max_unit": 8,
    "step_size": 1,
    "allocation_ratio": 1.0,
}
_CONSUMER = {
    "allocations": {RP: {"resources": {"VCPU": 1}}},
    "project_id": "p",
    "user_id": "u",
    "consumer_generation": None,
    "consumer_type": "INSTANCE",
    "mappings": {"": [RP]},
}
BODIES: list[tuple[str, str, Any]] = [
    (
        "POST",
        "/resource_providers",
        {"name": "n", "uuid": str(uuid.UUID(int=7)), "parent_provider_uuid": RP},
    ),
    ("PUT", f"/resource_providers/{RP}", {"name": "hostile-rp", "parent_provider_uuid": None}),
    (
        "PUT",
        f"/resource_providers/{RP}/inventories",
        {"resource_provider_generation": 1, "inventories": {"VCPU": _INVENTORY}},
    ),
    ("POST", f"/resource_providers/{RP}/inventories", {"resource_class": "DISK_GB", **_INVENTORY}),
    (
        "PUT",
        f"/resource_providers/{RP}/inventories/VCPU",
        {"resource_provider_generation": 1, **_INVENTORY},
    ),
    (
        "PUT",
        f"/resource_providers/{RP}/aggregates",
        {"aggregates": [AGG], "resource_provider_generation": 1},
    ),
    (
        "PUT",
        f"/resource_providers/{RP}/traits",
        {"traits": ["CUSTOM_HOSTILE"], "resource_provider_generation": 1},
    ),
    ("POST", "/resource_classes", {"name": "CUSTOM_NEW"}),
    ("PUT", "/resource_classes/CUSTOM_HOSTILE", {"name": "CUSTOM_OTHER"}),
    ("POST", "/allocations", {NEW_CONSUMER: _CONSUMER}),
    ("PUT", f"/allocations/{NEW_CONSUMER}", _CONSUMER),
    (
        "PUT",
        f"/allocations/{NEW_CONSUMER}",
        {
            "allocations": [{"resource_provider": {"uuid": RP}, "resources": {"VCPU": 1}}],
            "project_id": "p",
            "user_id": "u",
        },
    ),
    (
        "POST",
        "/reshaper",
        {
            "inventories": {
                RP: {"resource_provider_generation": 1, "inventories": {"VCPU": _INVENTORY}}
            },
            "allocations": {NEW_CONSUMER: _CONSUMER},
        },
    ),
]
QUERIES: list[tuple[str, dict[str, str]]] = [
    (
        "/resource_providers",
        {
            "name": "hostile-rp",
            "uuid": RP,
            "member_of": f"in:{AGG}",
            "resources": "VCPU:1",
            "in_tree": RP,
            "required": "CUSTOM_HOSTILE",
        },
    ),
    (
        "/allocation_candidates",
        {
            "resources": "VCPU:1",
            "required": "CUSTOM_HOSTILE",
            "member_of": AGG,
            "in_tree": RP,
            "limit": "5",
            "group_policy": "none",
            "resources1": "VCPU:1",
            "root_required": "CUSTOM_HOSTILE",
            "resources_A": "VCPU:1",
            "same_subtree": "_A",
        },
    ),
    # The explain extension parses the same query as /allocation_candidates.
    (
        "/allocation_candidates/explain",
        {
            "resources": "VCPU:1",
            "required": "CUSTOM_HOSTILE",
            "member_of": AGG,
            "in_tree": RP,
            "limit": "5",
            "group_policy": "none",
            "resources1": "VCPU:1",
            "root_required": "CUSTOM_HOSTILE",
            "same_subtree": "_A",
            "resources_A": "VCPU:1",
        },
    ),
    ("/usages", {"project_id": "p", "user_id": "u", "consumer_type": "INSTANCE"}),
    ("/traits", {"name": "in:CUSTOM_HOSTILE", "associated": "true"}),
    (f"/resource_providers/{RP}/allocations", {}),
]
PATHS = [
    ("GET", "/resource_providers/{}"),
    ("PUT", "/resource_providers/{}"),
    ("DELETE", "/resource_providers/{}"),
    ("GET", "/resource_providers/{}/inventories"),
    ("GET", f"/resource_providers/{RP}/inventories/{{}}"),
    ("DELETE", f"/resource_providers/{RP}/inventories/{{}}"),
    ("GET", "/allocations/{}"),
    ("DELETE", "/allocations/{}"),
    ("GET", "/traits/{}"),
    ("PUT", "/traits/{}"),
    ("GET", "/resource_classes/{}"),
    ("PUT", "/resource_classes/{}"),
    ("GET", "/resource_providers/{}/usages"),
]


def _seed(client: httpx.Client) -> None:
    def ok(response: httpx.Response) -> None:
        assert response.status_code < 300, response.text

    ok(client.post("/resource_providers", json={"name": "hostile-rp", "uuid": RP}))
    ok(
        client.post(
            "/resource_providers",
            json={"name": "hostile-child", "uuid": CHILD, "parent_provider_uuid": RP},
        )
    )
    ok(client.post("/resource_classes", json={"name": "CUSTOM_HOSTILE"}))
    ok(client.put("/traits/CUSTOM_HOSTILE"))
    inventories = {
        "VCPU": {"total": 64},
        "MEMORY_MB": {"total": 4096},
        "CUSTOM_HOSTILE": {"total": 9},
    }
    ok(
        client.put(
            f"/resource_providers/{RP}/inventories",
            json={"resource_provider_generation": 0, "inventories": inventories},
        )
    )
    ok(
        client.put(
            f"/resource_providers/{RP}/aggregates",
            json={"aggregates": [AGG], "resource_provider_generation": 1},
        )
    )
    ok(
        client.put(
            f"/resource_providers/{RP}/traits",
            json={"traits": ["CUSTOM_HOSTILE"], "resource_provider_generation": 2},
        )
    )
    body = {**_CONSUMER, "allocations": {RP: {"resources": {"VCPU": 2}}}}
    del body["mappings"]
    ok(client.put(f"/allocations/{CONSUMER}", json=body))


@pytest.fixture
def hostile(db: Database, settings: Settings) -> Iterator[tuple[httpx.Client, str]]:
    with make_client(settings, db) as client:
        _seed(client)
        yield client, db.backend
    report = os.environ.get("ALLOTMENT_HOSTILE_REPORT")
    if report:
        previous: dict[str, int] = {}
        if os.path.exists(report):
            with open(report) as handle:
                previous = json.load(handle)
        for (backend, status), count in COUNTS.items():
            key = f"{backend} {status}"
            previous[key] = previous.get(key, 0) + count
        with open(report, "w") as handle:
            json.dump(previous, handle, indent=1, sort_keys=True)
    COUNTS.clear()


def _leaves(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside ``value``, containers included."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*prefix, index))


def _replace(body: Any, path: tuple[Any, ...], new: Any, as_key: bool) -> Any:
    if not path:
        return new
    out = copy.deepcopy(body)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if as_key and isinstance(parent, dict) and isinstance(new, str):
        parent[new] = parent.pop(last)
    else:
        parent[last] = new
    return out


def _send(
    client: httpx.Client, backend: str, method: str, url: str, version: str, content: bytes | None
) -> None:
    headers = {"openstack-api-version": f"placement {version}"}
    if content is not None:
        headers["content-type"] = "application/json"
    response = client.request(method, url, content=content, headers=headers)
    COUNTS[(backend, response.status_code)] += 1
    assert response.status_code < 500, (method, url, version, content, response.text[:3000])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), response.text
        [error] = response.json()["errors"]
        assert error["status"] == response.status_code
        if tuple(int(p) for p in version.split(".")) >= (1, 23):
            assert error["code"] in error_codes.ALL, error


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@SETTINGS
@given(data=st.data())
def test_hostile_body_fields(hostile: tuple[httpx.Client, str], data: st.DataObject) -> None:
    client, backend = hostile
    method, url, template = data.draw(st.sampled_from(BODIES))
    path = data.draw(st.sampled_from(list(_leaves(template))))
    value = data.draw(HOSTILE)
    body = _replace(template, path, value, as_key=data.draw(st.booleans()))
    content = json.dumps(body).encode()
    _send(client, backend, method, url, data.draw(st.sampled_from(VERSIONS)), content)


@SETTINGS
@given(data=st.data())
def test_hostile_query_values(hostile: tuple[httpx.Client, str], data: st.DataObject) -> None:
    client, backend = hostile
    url, valid = data.draw(st.sampled_from(QUERIES))
    names = data.draw(st.lists(st.sampled_from(sorted(valid) or ["x"]), max_size=4, unique=True))
    params = [(name, valid.get(name, "1")) for name in names]
    hostile_name = data.draw(st.one_of(st.sampled_from(sorted(valid) or ["x"]), _query_text))
    params.append((hostile_name, data.draw(HOSTILE_QUERY)))
    query = urlencode(params)
    _send(client, backend, "GET", f"{url}?{query}", data.draw(st.sampled_from(VERSIONS)), None)


@SETTINGS
@given(data=st.data())
def test_hostile_path_segments(hostile: tuple[httpx.Client, str], data: st.DataObject) -> None:
    client, backend = hostile
    method, template = data.draw(st.sampled_from(PATHS))
    segment = data.draw(HOSTILE_QUERY.filter(bool))
    url = template.format(quote(segment, safe=""))
    content = b'{"name": "CUSTOM_X"}' if method == "PUT" else None
    _send(client, backend, method, url, data.draw(st.sampled_from(VERSIONS)), content)
