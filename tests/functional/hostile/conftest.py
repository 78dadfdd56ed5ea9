"""An in-process client on each backend, with admin headers at the latest microversion."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.store.engine import Database

ADMIN = {
    "x-auth-token": "admin",
    "x-roles": "admin,service",
    "openstack-api-version": "placement latest",
    "accept": "application/json",
}


def make_client(settings: Settings, db: Database) -> httpx.Client:
    app = make_app(settings, db=db, prepare=False)
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://placement", headers=ADMIN
    )


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[httpx.Client]:
    with make_client(settings, db) as c:
        yield c


def assert_json_error(response: httpx.Response, status: int) -> dict:
    """``response`` is ``status`` with one placement error carrying a code."""
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["status"] == status and error["code"].startswith("placement.")
    return error
