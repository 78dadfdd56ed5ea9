"""A large no-limit answer is streamed (no Content-Length), byte for byte the answer
the same search gives rendered whole: in process, under wsgiref, through the
fixture's intercept and under ``allotment serve``'s front (chunked)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import microversion as mv
from allotment.http.handlers import allocation_candidate
from allotment.store.engine import Database
from allotment.testing import PlacementFixture
from allotment.testing.server import LoopbackServer
from tests import inprocess
from tests.candidate_data import TreeBuilder
from tests.servers import Server

QUERIES = {
    "simple": "resources=VCPU:1,DISK_GB:10",
    "nested": "resources=VCPU:1,PCPU:1",
    "granular": "resources=VCPU:1&resources_A=PCPU:1&group_policy=none",
}
# Where each query finds candidates: nested trees from 1.29, string suffixes from 1.33.
SINCE = {"simple": "1.10", "nested": "1.29", "granular": "1.34"}
VERSIONS = ("1.10", "1.12", "1.29", "1.34", "1.36", "1.39")
# Far beyond any answer here: the limited search is rendered whole.
WHOLE = "&limit=1000000"


def build(db: Database, computes: int = 30) -> None:
    """Computes (every third with two PCPU children), some local disk, one sharing pool."""
    with db.write() as conn:
        builder = TreeBuilder(conn)
        builder.provider(
            "pool",
            inventory={"DISK_GB": 10000},
            traits=["MISC_SHARES_VIA_AGGREGATE"],
            aggregates=["agg"],
        )
        for i in range(computes):
            inventory: dict[str, Any] = {"VCPU": 8}
            if i % 2:
                inventory["DISK_GB"] = 500
            builder.provider(f"cn{i}", inventory=inventory, aggregates=["agg"])
            if i % 3 == 0:
                for n in range(2):
                    builder.provider(f"cn{i}-numa{n}", parent=f"cn{i}", inventory={"PCPU": 4})


def call(app: Any, query: str, version: str) -> tuple[int, dict[str, str], bytes]:
    status, body, headers = inprocess.call(
        app, "GET", f"/allocation_candidates?{query}", None, version
    )
    return status, {name.lower(): value for name, value in headers.items()}, body


@pytest.fixture
def stream_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocation_candidate, "STREAM_ABOVE", 0)


@pytest.mark.parametrize("in_memory", [True, False], ids=["model", "sql"])
def test_streamed_answer_is_the_whole_answer(
    db: Database, monkeypatch: pytest.MonkeyPatch, in_memory: bool
) -> None:
    build(db)
    url = db.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, access_log=False, in_memory_candidates=in_memory)
    app = make_app(settings, db=db, prepare=False)
    for name, query in QUERIES.items():
        for version in VERSIONS:
            if mv.parse_version(version) < mv.parse_version(SINCE[name]):
                continue
            monkeypatch.setattr(allocation_candidate, "STREAM_ABOVE", 0)
            status, headers, body = call(app, query, version)
            assert status == 200, (name, version, body[:300])
            assert "content-length" not in headers
            assert headers["content-type"] == "application/json"
            assert body.count(b'"allocations"') > 10
            # The same pieces, joined: sent with a Content-Length.
            monkeypatch.setattr(allocation_candidate, "STREAM_ABOVE", 1 << 40)
            _, joined_headers, joined = call(app, query, version)
            assert joined_headers["content-length"] == str(len(joined))
            assert body == joined, (name, version)
            if mv.parse_version(version).matches(mv.CANDIDATES_LIMIT):
                # A limited search, rendered whole by ``render``.
                _, _, whole = call(app, query + WHOLE, version)
                assert body == whole, (name, version)


def test_small_answer_keeps_its_content_length(db: Database) -> None:
    build(db, computes=3)
    app = make_app(Settings(database_url=db.url.render_as_string(), access_log=False), db=db)
    _, headers, body = call(app, QUERIES["simple"], "1.39")
    assert headers["content-length"] == str(len(body))
    assert body == call(app, QUERIES["simple"] + WHOLE, "1.39")[2]


def _http_get(port: int, query: str) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "GET",
            f"/allocation_candidates?{query}",
            headers={"x-auth-token": "admin", "openstack-api-version": "placement 1.39"},
        )
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_streamed_over_wsgiref(db: Database, stream_everything: None) -> None:
    build(db)
    app = make_app(Settings(database_url=db.url.render_as_string(), access_log=False), db=db)
    server = LoopbackServer(app).start()
    try:
        response, body = _http_get(server.port, QUERIES["simple"])
        _, whole = _http_get(server.port, QUERIES["simple"] + WHOLE)
    finally:
        server.stop()
    assert response.status == 200
    assert response.getheader("content-length") is None
    assert body == whole


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, Database]]:
    url = f"sqlite:///{tmp_path / 'streamed.sqlite'}"
    server = Server(url, tmp_path / "server.log", workers=1, threads=2)
    db = Database(url)
    try:
        if not server.wait_ready():
            pytest.fail(f"server did not start:\n{(tmp_path / 'server.log').read_text()[-3000:]}")
        yield server, db
    finally:
        server.stop()
        db.dispose()


def test_streamed_through_the_front_is_chunked(served: tuple[Server, Database]) -> None:
    """Above ``STREAM_ABOVE`` for real: 7! = 5040 candidates of about 0.7 KB each."""
    server, db = served
    with db.write() as conn:
        builder = TreeBuilder(conn)
        builder.provider("wide-root", inventory={"VCPU": 64})
        for i in range(7):
            builder.provider(f"wide-pf{i}", parent="wide-root", inventory={"SRIOV_NET_VF": 8})
    query = "&".join(f"resources{i}=SRIOV_NET_VF:1" for i in range(1, 8)) + "&group_policy=isolate"
    response, body = _http_get(server.port, query)
    whole_response, whole = _http_get(server.port, query + WHOLE)
    assert response.status == whole_response.status == 200
    assert response.getheader("transfer-encoding") == "chunked"
    assert response.getheader("content-length") is None
    assert whole_response.getheader("content-length") == str(len(whole))
    assert len(body) > allocation_candidate.STREAM_ABOVE
    assert body == whole


def test_streamed_through_the_fixture_intercept(stream_everything: None) -> None:
    """What other services' tests see (wsgi-intercept, ``requests``): the whole body."""
    with PlacementFixture() as fixture:
        base = fixture.endpoint
        headers = {"x-auth-token": fixture.token, "openstack-api-version": "placement 1.39"}
        for i in range(12):
            created = requests.post(
                base + "/resource_providers", json={"name": f"cn{i}"}, headers=headers
            )
            uuid = created.json()["uuid"]
            requests.put(
                f"{base}/resource_providers/{uuid}/inventories",
                json={"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}},
                headers=headers,
            ).raise_for_status()
        streamed = requests.get(base + "/allocation_candidates?resources=VCPU:1", headers=headers)
        whole = requests.get(
            base + "/allocation_candidates?resources=VCPU:1" + WHOLE, headers=headers
        )
    assert streamed.status_code == whole.status_code == 200
    assert "content-length" not in streamed.headers
    assert streamed.content == whole.content
    assert len(streamed.json()["allocation_requests"]) == 12


def _requests_and_summaries(body: bytes) -> tuple[list[bytes], dict[str, Any]]:
    document = json.loads(body)
    requests_ = sorted(
        json.dumps(r, sort_keys=True).encode() for r in document["allocation_requests"]
    )
    return requests_, document["provider_summaries"]


@pytest.mark.parametrize("in_memory", [True, False], ids=["model", "sql"])
def test_a_randomised_answer_without_limit_is_streamed_whole(
    db: Database, stream_everything: None, in_memory: bool
) -> None:
    """``randomize_allocation_candidates`` without a limit: every candidate of the
    deterministic answer, streamed like it, in another order."""
    build(db)
    url = db.url.render_as_string(hide_password=False)
    common = {"database_url": url, "access_log": False, "in_memory_candidates": in_memory}
    plain = make_app(Settings(**common), db=db, prepare=False)
    shuffled = make_app(
        Settings(**common, randomize_allocation_candidates=True), db=db, prepare=False
    )
    query = QUERIES["simple"]
    status, headers, expected = call(plain, query, "1.39")
    assert status == 200 and "content-length" not in headers
    status, headers, body = call(shuffled, query, "1.39")
    assert status == 200 and "content-length" not in headers
    assert _requests_and_summaries(body) == _requests_and_summaries(expected)
    assert body != expected  # the order changed
