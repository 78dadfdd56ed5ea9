"""What the instrumentation records, read back from the process's registry (each backend)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from allotment import exceptions as exc
from allotment.app import make_app
from allotment.config import Settings
from allotment.http import microversion as mv
from allotment.metrics import Metrics
from allotment.store import allocation as alloc_store
from allotment.store.engine import Database
from tests.inprocess import call


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def app(settings: Settings, db: Database) -> Any:
    return make_app(settings, db=db, prepare=False)


def _provider(app: Any, total: int = 4) -> str:
    rp = str(uuid.uuid4())
    assert call(app, "POST", "/resource_providers", {"name": rp, "uuid": rp})[0] == 200
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": total}}}
    assert call(app, "PUT", f"/resource_providers/{rp}/inventories", body)[0] == 200
    return rp


def test_requests_are_labelled_by_route_template(app: Any) -> None:
    labels = {
        "route": "/resource_providers/{uuid}",
        "method": "GET",
        "status": "4xx",
        "microversion": str(mv.MAX_VERSION),
    }
    before = value("allotment_http_requests_total", **labels)
    missing = str(uuid.uuid4())
    assert call(app, "GET", f"/resource_providers/{missing}")[0] == 404
    assert value("allotment_http_requests_total", **labels) == before + 1
    assert value("allotment_http_request_duration_seconds_count", **labels) == before + 1
    status, exposition, headers = call(app, "GET", "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    # No raw path, uuid or query string ever becomes a label value.
    assert missing not in exposition.decode()


def test_unknown_paths_share_one_label(app: Any) -> None:
    labels = {
        "route": "unmatched",
        "method": "GET",
        "status": "4xx",
        "microversion": str(mv.MAX_VERSION),
    }
    before = value("allotment_http_requests_total", **labels)
    for n in range(3):
        assert call(app, "GET", f"/no/such/{n}")[0] == 404
    assert value("allotment_http_requests_total", **labels) == before + 3


def test_conflicts_are_counted_by_error_code(app: Any) -> None:
    rp = _provider(app)
    labels = {
        "route": "/resource_providers/{uuid}/traits",
        "method": "PUT",
        "code": "placement.concurrent_update",
    }
    before = value("allotment_http_conflicts_total", **labels)
    body = {"traits": [], "resource_provider_generation": 99}
    assert call(app, "PUT", f"/resource_providers/{rp}/traits", body)[0] == 409
    assert value("allotment_http_conflicts_total", **labels) == before + 1


def test_capacity_rejections_are_counted(app: Any) -> None:
    rp = _provider(app, total=4)
    route = "/allocations/{consumer_uuid}"
    before = value("allotment_allocation_capacity_rejections_total", route=route)
    body = {
        "allocations": {rp: {"resources": {"VCPU": 5}}},
        "project_id": "p",
        "user_id": "u",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    status, out, _ = call(app, "PUT", f"/allocations/{uuid.uuid4()}", body)
    assert status == 409, out
    assert value("allotment_allocation_capacity_rejections_total", route=route) == before + 1


def test_write_retries_are_counted(db: Database) -> None:
    Metrics()  # subscribes to the store's retry hook
    before = value("allotment_allocation_write_retries_total", reason="generation_conflict")
    attempts = []

    def lose_once(conn: Any) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise exc.ResourceProviderConcurrentUpdate("lost a race")
        return "done"

    assert alloc_store.run(db, lose_once, retry_count=3) == "done"
    after = value("allotment_allocation_write_retries_total", reason="generation_conflict")
    assert after == before + 1


def test_candidate_search_is_recorded(app: Any) -> None:
    _provider(app)
    _provider(app)
    searches = value("allotment_allocation_candidates_search_seconds_count")
    cut = value("allotment_allocation_candidates_truncated_total", reason="limit")
    returned = value("allotment_allocation_candidates_returned_sum")
    status, out, _ = call(app, "GET", "/allocation_candidates?resources=VCPU:1&limit=1")
    assert status == 200, out
    assert len(orjson.loads(out)["allocation_requests"]) == 1
    assert value("allotment_allocation_candidates_search_seconds_count") == searches + 1
    assert value("allotment_allocation_candidates_sql_seconds_count") >= 1
    assert value("allotment_allocation_candidates_truncated_total", reason="limit") == cut + 1
    assert value("allotment_allocation_candidates_returned_sum") == returned + 1


def test_database_queries_and_pool_are_recorded(app: Any, db: Database) -> None:
    before = value("allotment_db_query_duration_seconds_count", backend=db.backend)
    assert call(app, "GET", "/resource_providers")[0] == 200
    assert value("allotment_db_query_duration_seconds_count", backend=db.backend) > before
    assert value("allotment_db_pool_checked_out", backend=db.backend) >= 0


def test_metrics_off_removes_the_endpoint(settings: Settings, db: Database) -> None:
    app = make_app(dataclasses.replace(settings, metrics=False), db=db, prepare=False)
    assert app.state.metrics is None
    status, out, _ = call(app, "GET", "/metrics")
    assert status == 404, out
    # The API answers as before.
    assert call(app, "GET", "/resource_providers")[0] == 200
