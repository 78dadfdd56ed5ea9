"""One explicit case for each way hostile input used to cost a 500, on every backend.

Each test names the finding it reproduces; all of them answered 500 (or
worse) before the shared checks in ``allotment.http`` existed.
"""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest

from allotment.config import Settings
from allotment.store.engine import Database
from tests.functional.hostile.conftest import assert_json_error, make_client
from tests.functional.test_health import unreachable


def _provider(client: httpx.Client, name: str = "rp") -> str:
    rp = str(uuid.uuid4())
    response = client.post("/resource_providers", json={"name": name, "uuid": rp})
    assert response.status_code == 200, response.text
    return rp


def _inventory(client: httpx.Client, rp: str, total: int = 8) -> None:
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": total}}}
    response = client.put(f"/resource_providers/{rp}/inventories", json=body)
    assert response.status_code == 200, response.text


def _post(client: httpx.Client, url: str, raw: bytes, method: str = "POST") -> httpx.Response:
    return client.request(method, url, content=raw, headers={"content-type": "application/json"})


# 1. Deep JSON in a body that fails validation: RecursionError rendering the error.
@pytest.mark.parametrize("depth", [324, 1023])
def test_deeply_nested_body_is_a_400(client: httpx.Client, depth: int) -> None:
    raw = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
    error = assert_json_error(_post(client, "/resource_providers", raw), 400)
    assert "nested" in error["detail"]


def test_nesting_within_the_limit_still_gets_the_schema_message(client: httpx.Client) -> None:
    raw = b'{"name": ' + b"[" * 10 + b"]" * 10 + b"}"
    error = assert_json_error(_post(client, "/resource_providers", raw), 400)
    assert "JSON does not validate" in error["detail"]


# 2. NUL in a path segment, a query value or any body string (PostgreSQL DataError).
@pytest.mark.parametrize(
    "url",
    [
        "/resource_providers?name=%00",
        "/allocations/%00",
        "/usages?project_id=%00",
        "/resource_providers/%00",
        "/traits/CUSTOM_%00",
        "/resource_classes/CUSTOM_A%00",
        "/traits?name=in:%00",
        "/resource_providers?%00=1",
    ],
)
def test_nul_in_path_or_query_is_a_400(client: httpx.Client, url: str) -> None:
    assert_json_error(client.get(url), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a\u0000b"},
        {"name": "ok", "uuid": "\u0000"},
        {"name": "ok", "parent_provider_uuid": "\u0000"},
        {"a\u0000": 1, "name": "ok"},
    ],
)
def test_nul_in_a_body_string_is_a_400(client: httpx.Client, body: dict) -> None:
    assert_json_error(_post(client, "/resource_providers", json.dumps(body).encode()), 400)


def test_nul_in_allocation_owner_is_a_400(client: httpx.Client) -> None:
    rp = _provider(client)
    _inventory(client, rp)
    body = {
        "allocations": {rp: {"resources": {"VCPU": 1}}},
        "project_id": "p\u0000",
        "user_id": "u",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    assert_json_error(client.put(f"/allocations/{uuid.uuid4()}", json=body), 400)


# 3. allocation_ratio -1e308 overflowed the capacity rule.
@pytest.mark.parametrize("ratio", [-1e308, 1e308, -1.0])
def test_absurd_allocation_ratio_is_a_400(client: httpx.Client, ratio: float) -> None:
    rp = _provider(client)
    inventory = {"total": 8, "allocation_ratio": ratio}
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": inventory}}
    assert_json_error(client.put(f"/resource_providers/{rp}/inventories", json=body), 400)
    post = {"resource_class": "VCPU", **inventory}
    assert_json_error(client.post(f"/resource_providers/{rp}/inventories", json=post), 400)
    reshape = {
        "inventories": {
            rp: {"resource_provider_generation": 0, "inventories": {"VCPU": inventory}}
        },
        "allocations": {},
    }
    assert_json_error(client.post("/reshaper", json=reshape), 400)


# 4. PUT inventories with an odd class key and a non-object value: TypeError.
@pytest.mark.parametrize("value", [1, "x", None, [1]])
def test_odd_class_key_with_non_object_value_is_a_400(client: httpx.Client, value: object) -> None:
    rp = _provider(client)
    body = {"resource_provider_generation": 0, "inventories": {"lower-case": value}}
    assert_json_error(client.put(f"/resource_providers/{rp}/inventories", json=body), 400)


# 5. Amounts in queries beyond the 32-bit columns.
@pytest.mark.parametrize("amount", ["2147483648", str(2**63), "9" * 5000])
def test_huge_query_amount_is_a_400(client: httpx.Client, amount: str) -> None:
    assert_json_error(client.get(f"/resource_providers?resources=VCPU:{amount}"), 400)
    assert_json_error(client.get(f"/allocation_candidates?resources=VCPU:{amount}"), 400)


def test_huge_candidate_limit_means_no_limit(client: httpx.Client) -> None:
    response = client.get("/allocation_candidates?resources=VCPU:1&limit=" + "9" * 5000)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("generation", [2**31, -(2**31) - 1, 2**63])
def test_huge_generation_is_a_400(client: httpx.Client, generation: int) -> None:
    rp = _provider(client)
    body = {"resource_provider_generation": generation, "traits": []}
    assert_json_error(client.put(f"/resource_providers/{rp}/traits", json=body), 400)


# 6. MariaDB's PAD SPACE collation made "tp" and "tp " equal.
def test_trailing_spaces_are_significant_everywhere(client: httpx.Client) -> None:
    rp = _provider(client, "x")
    assert _provider(client, "x ")
    _inventory(client, rp)
    for project in ("tp", "tp ", "tp  "):
        body = {
            "allocations": {rp: {"resources": {"VCPU": 1}}},
            "project_id": project,
            "user_id": project,
            "consumer_generation": None,
            "consumer_type": "INSTANCE",
        }
        response = client.put(f"/allocations/{uuid.uuid4()}", json=body)
        assert response.status_code == 204, response.text
    for project in ("tp", "tp ", "tp  "):
        usages = client.get("/usages", params={"project_id": project}).json()["usages"]
        assert usages == {"INSTANCE": {"VCPU": 1, "consumer_count": 1}}, project
    names = client.get("/resource_providers", params={"name": "x "}).json()
    assert [p["name"] for p in names["resource_providers"]] == ["x "]


# 8. Size: the body limit (413), one list's items, and never a huge echo.
def test_body_over_the_limit_is_a_413(client: httpx.Client) -> None:
    raw = json.dumps({"name": "x" * 2_000_000}).encode()
    error = assert_json_error(_post(client, "/resource_providers", raw), 413)
    assert len(error["detail"]) < 1000


def test_a_large_value_is_not_echoed(client: httpx.Client) -> None:
    raw = json.dumps({"name": ["x" * 500_000]}).encode()
    response = _post(client, "/resource_providers", raw)
    assert_json_error(response, 400)
    assert len(response.content) < 10_000


def test_too_many_items_in_one_list_is_a_400(client: httpx.Client) -> None:
    rp = _provider(client)
    traits = [f"CUSTOM_T{i}" for i in range(1001)]
    body = {"resource_provider_generation": 0, "traits": traits}
    error = assert_json_error(client.put(f"/resource_providers/{rp}/traits", json=body), 400)
    assert "1000" in error["detail"]


def test_too_many_consumers_in_one_post_is_a_400(client: httpx.Client) -> None:
    consumer = {"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": None}
    body = {str(uuid.uuid4()): consumer for _ in range(1001)}
    assert_json_error(client.post("/allocations", json=body), 400)


def test_limits_are_configurable(db: Database, settings: Settings) -> None:
    small = settings.replace(max_body_size=100, max_list_items=2, max_json_depth=3)
    with make_client(small, db) as client:
        assert_json_error(
            _post(client, "/resource_providers", b'{"name": "' + b"a" * 200 + b'"}'), 413
        )
        rp = _provider(client)
        body = {"resource_provider_generation": 0, "traits": ["A", "B", "C"]}
        assert_json_error(client.put(f"/resource_providers/{rp}/traits", json=body), 400)
        assert_json_error(_post(client, "/resource_providers", b'{"name": [[[1]]]}'), 400)


# 7. Content-Length absurd values are answered at once.
@pytest.mark.parametrize("length", ["99999999999999999999", "1048577"])
def test_absurd_content_length_is_a_413(client: httpx.Client, length: str) -> None:
    # httpx would send the real length; build the request by hand.
    request = client.build_request(
        "POST", "/resource_providers", content=b"{}", headers={"content-type": "application/json"}
    )
    request.headers["content-length"] = length
    assert_json_error(client.send(request), 413)


# 9. Control characters from the client are escaped in the log.
def test_control_characters_are_escaped_in_log_lines(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(settings.replace(access_log=True), db) as client:
        with caplog.at_level(logging.INFO, logger="allotment.access"):
            client.get("/resource_providers/x%0d%0aFORGED%00line%1b?q=%0a")
    [line] = [r.getMessage() for r in caplog.records if r.name == "allotment.access"]
    assert "\n" not in line and "\r" not in line and "\x00" not in line and "\x1b" not in line
    assert "\\x0d\\x0aFORGED\\x00line\\x1b" in line


# 10. A chunked body (no Content-Length) is read.
def test_chunked_body_is_read(client: httpx.Client) -> None:
    def chunks():
        yield b'{"name": "chunked", '
        yield b'"uuid": "' + str(uuid.uuid4()).encode() + b'"}'

    response = client.post(
        "/resource_providers", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "chunked"


def test_chunked_body_over_the_limit_is_a_413(db: Database, settings: Settings) -> None:
    def chunks():
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 100
        yield b'"}'

    with make_client(settings.replace(max_body_size=500), db) as client:
        response = client.post(
            "/resource_providers", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_json_error(response, 413)


# 11. The database down: 503 with Retry-After and one warning line, no traceback.
def test_database_down_is_a_503_with_retry_after(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    broken = unreachable(db)
    try:
        with make_client(settings, broken) as client, caplog.at_level(logging.WARNING):
            response = client.get("/resource_providers")
            error = assert_json_error(response, 503)
            assert response.headers["retry-after"].isdigit()
            assert "database" in error["detail"].lower()
            assert client.post("/resource_providers", json={"name": "x"}).status_code == 503
    finally:
        broken.dispose()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    # One line says "unavailable" for each request (the write path may add
    # a line for its one reconnection attempt); never a traceback or an error.
    assert all(r.exc_info is None and r.levelno == logging.WARNING for r in warnings)
    assert sum("unavailable" in r.getMessage() for r in warnings) == 2, [
        r.getMessage() for r in warnings
    ]
    with make_client(settings, db) as client:
        assert client.get("/resource_providers").status_code == 200


def test_allocations_per_write_are_bounded(db: Database, settings: Settings) -> None:
    with make_client(settings.replace(max_allocations_per_write=3), db) as client:
        providers = [_provider(client, f"rp{i}") for i in range(2)]
        for rp in providers:
            _inventory(client, rp)

        def consumer() -> dict:
            allocations = {rp: {"resources": {"VCPU": 1}} for rp in providers}
            return {
                "allocations": allocations,
                "project_id": "p",
                "user_id": "u",
                "consumer_generation": None,
                "consumer_type": "INSTANCE",
            }

        body = {str(uuid.uuid4()): consumer() for _ in range(2)}
        error = assert_json_error(client.post("/allocations", json=body), 400)
        assert "at most 3" in error["detail"]
        body = {str(uuid.uuid4()): consumer()}
        assert client.post("/allocations", json=body).status_code == 204
