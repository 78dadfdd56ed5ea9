"""``/healthcheck``: 200 while the database answers, 503 while it does not."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.store.engine import Database


def unreachable(db: Database) -> Database:
    """A database of the same backend that cannot be reached."""
    if db.backend == "sqlite":
        # A directory is not a database file: opening it fails.
        directory = Path(f"{db.url.database}.not-a-file")
        directory.mkdir(exist_ok=True)
        return Database(f"sqlite:///{directory}")
    return Database(db.url.set(host="127.0.0.1", port=1))


@pytest.fixture
def client(db: Database, settings: Settings):
    app = make_app(settings, db=db, prepare=False)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://lb") as c:
        yield c


def test_healthy_without_token_or_microversion(client):
    response = client.get("/healthcheck")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-cache"
    assert "openstack-api-version" not in response.headers
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_head_has_no_body(client):
    response = client.head("/healthcheck")
    assert response.status_code == 200
    assert response.content == b""


def test_other_methods_are_refused(client):
    response = client.post("/healthcheck")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_database_down_then_back(client, db, monkeypatch, caplog):
    broken = unreachable(db)
    monkeypatch.setattr(db, "engine", broken.engine)
    response = client.get("/healthcheck")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "database unavailable"}
    assert "database unavailable" in caplog.text
    assert client.head("/healthcheck").status_code == 503
    monkeypatch.undo()
    broken.dispose()
    assert client.get("/healthcheck").status_code == 200


def test_app_started_against_a_down_database(db, settings):
    broken = unreachable(db)
    app = make_app(settings, db=broken, prepare=False)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://lb") as c:
        assert c.get("/healthcheck").status_code == 503
        assert c.get("/").status_code == 200  # the version document needs no database
    broken.dispose()
