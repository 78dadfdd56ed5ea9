"""The fault wrapper, error bodies by microversion and request ids, in process."""

from __future__ import annotations

import httpx
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import routes
from allotment.store.engine import Database


@pytest.fixture
def client(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/t.sqlite", access_log=False)
    app = make_app(settings)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://placement") as c:
        c.headers["x-auth-token"] = "admin"
        yield c


def test_unexpected_exception_is_json_500_and_server_keeps_serving(client, monkeypatch):
    def boom(req):
        raise RuntimeError("kaboom")

    route, _ = routes.match("/resource_providers")
    endpoint = route.methods["GET"]
    monkeypatch.setitem(route.methods, "GET", routes.Endpoint(boom, endpoint.policy))
    response = client.get("/resource_providers")
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["request_id"] == response.headers["x-openstack-request-id"]
    assert "kaboom" not in error["detail"]
    assert client.get("/").status_code == 200


def test_error_code_only_from_1_23(client):
    old = client.get("/nope", headers={"openstack-api-version": "placement 1.22"})
    assert "code" not in old.json()["errors"][0]
    new = client.get("/nope", headers={"openstack-api-version": "placement 1.23"})
    assert new.json()["errors"][0]["code"] == "placement.undefined_code"


def test_request_ids_are_unique(client):
    first = client.get("/").headers["x-openstack-request-id"]
    second = client.get("/").headers["x-openstack-request-id"]
    assert first != second


def test_mount_prefix_serves_root(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/t.sqlite", access_log=False)
    app = make_app(settings, db=Database(settings.database_url))
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "/placement",
        "PATH_INFO": "",
        "QUERY_STRING": "",
        "wsgi.input": None,
        "SERVER_NAME": "h",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status

    body = b"".join(app(environ, start_response))
    assert captured["status"].startswith("200")
    assert b"max_version" in body
