"""Request ids: generated per request, a caller's global id carried into the
context and every log line, and the access log line in both formats."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import routes
from allotment.http.request import json_response
from allotment.logs import LOG_FORMAT, RequestIdLogFilter

GLOBAL_ID = "req-4f1d2c3b-9a8e-4d7c-8b6a-5e4f3a2b1c0d"


def make_client(tmp_path, **changes) -> httpx.Client:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/t.sqlite", **changes)
    app = make_app(settings)
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://placement")
    client.headers["x-auth-token"] = "alice:project-a"
    client.headers["x-roles"] = "admin"
    return client


@pytest.fixture
def logs(caplog):
    caplog.handler.addFilter(RequestIdLogFilter())
    caplog.set_level(logging.INFO)
    return caplog


@pytest.fixture
def echo_context(monkeypatch):
    """GET /resource_providers answers with the request context it saw."""

    def handler(req):
        logging.getLogger("allotment.test").info("inside the handler")
        ctx = req.context
        return json_response(
            req,
            {
                "request_id": ctx.request_id,
                "global_request_id": ctx.global_request_id,
                "user_id": ctx.user_id,
                "project_id": ctx.project_id,
                "roles": sorted(ctx.roles),
            },
        )

    route, _ = routes.match("/resource_providers")
    monkeypatch.setitem(route.methods, "GET", routes.Endpoint(handler, route.methods["GET"].policy))


def test_global_request_id_reaches_the_context_and_log_lines(tmp_path, logs, echo_context):
    with make_client(tmp_path) as client:
        response = client.get("/resource_providers", headers={"x-openstack-request-id": GLOBAL_ID})
    local_id = response.headers["x-openstack-request-id"]
    assert local_id != GLOBAL_ID and local_id.startswith("req-")
    body = response.json()
    assert body == {
        "request_id": local_id,
        "global_request_id": GLOBAL_ID,
        "user_id": "alice",
        "project_id": "project-a",
        "roles": ["admin"],
    }
    inside = next(r for r in logs.records if r.getMessage() == "inside the handler")
    assert (inside.request_id, inside.global_request_id) == (local_id, GLOBAL_ID)
    assert (inside.user_id, inside.project_id) == ("alice", "project-a")
    access = next(r for r in logs.records if r.name == "allotment.access")
    assert (access.request_id, access.global_request_id) == (local_id, GLOBAL_ID)
    line = logging.Formatter(LOG_FORMAT).format(access)
    assert f"[{local_id} {GLOBAL_ID} alice project-a]" in line
    assert '"GET /resource_providers" status: 200 len: ' in line
    assert "microversion: 1.0" in line


@pytest.mark.parametrize(
    "incoming",
    [
        "req-not-a-uuid",
        "nova-1234",
        f"{GLOBAL_ID}\nforged log line",
        GLOBAL_ID.upper(),
    ],
)
def test_malformed_global_ids_are_ignored(tmp_path, logs, echo_context, incoming):
    with make_client(tmp_path) as client:
        response = client.get(
            "/resource_providers", headers={"x-openstack-request-id": incoming.replace("\n", " ")}
        )
    assert response.json()["global_request_id"] is None
    access = next(r for r in logs.records if r.name == "allotment.access")
    assert access.global_request_id == "-"


def test_log_records_outside_requests_have_placeholders(logs):
    logging.getLogger("allotment.test").info("at start-up")
    record = logs.records[-1]
    assert (record.request_id, record.global_request_id, record.user_id) == ("-", "-", "-")


def test_json_access_log(tmp_path, logs):
    with make_client(tmp_path, log_format="json") as client:
        response = client.get(
            "/resource_providers/nope",
            headers={
                "x-openstack-request-id": GLOBAL_ID,
                "openstack-api-version": "placement 1.14",
            },
        )
    access = next(r for r in logs.records if r.name == "allotment.access")
    line = json.loads(access.getMessage())
    assert line["request_id"] == response.headers["x-openstack-request-id"]
    assert line["global_request_id"] == GLOBAL_ID
    assert line["user_id"] == "alice" and line["project_id"] == "project-a"
    assert line["method"] == "GET" and line["path"] == "/resource_providers/nope"
    assert line["status"] == response.status_code
    assert line["microversion"] == "1.14"
    assert line["length"] == str(len(response.content))
    assert line["route"] == "/resource_providers/{uuid}"


def test_unauthenticated_requests_are_logged_without_identity(tmp_path, logs):
    with make_client(tmp_path, log_format="json") as client:
        client.headers.pop("x-auth-token")
        response = client.get("/resource_providers")
    assert response.status_code == 401
    line = json.loads(next(r for r in logs.records if r.name == "allotment.access").getMessage())
    assert line["status"] == 401 and line["user_id"] == "-"


def test_access_log_can_be_disabled(tmp_path, logs):
    with make_client(tmp_path, access_log=False) as client:
        client.get("/")
    assert not [r for r in logs.records if r.name == "allotment.access"]
