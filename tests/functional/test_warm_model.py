"""A serving worker loads its in-memory candidate model at start, not on its first search."""

from __future__ import annotations

import dataclasses

import httpx

from allotment.app import make_app, warm_candidate_model
from allotment.config import Settings
from allotment.store.candidates import model
from allotment.store.engine import Database

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}


def test_the_model_is_loaded_in_the_background_at_start(db: Database, settings: Settings) -> None:
    fresh = Database(db.url)  # its own engine: a model no other test has loaded
    try:
        app = make_app(settings, db=fresh, prepare=False)
        with httpx.Client(
            transport=httpx.WSGITransport(app=app), base_url="http://lb", headers=HEADERS
        ) as client:
            created = client.post("/resource_providers", json={"name": "warm-host"})
            assert created.status_code == 200, created.text
        assert not model.model_for(fresh.engine).loaded
        thread = warm_candidate_model(app.state)
        assert thread is not None
        thread.join(timeout=120)
        warmed = model.model_for(fresh.engine)
        assert warmed.loaded and warmed.full_loads == 1
        assert created.json()["uuid"] in warmed.by_uuid
    finally:
        fresh.dispose()


def test_nothing_is_loaded_when_searches_do_not_use_the_model(
    db: Database, settings: Settings
) -> None:
    fresh = Database(db.url)
    try:
        sql_only = dataclasses.replace(settings, in_memory_candidates=False)
        app = make_app(sql_only, db=fresh, prepare=False)
        assert warm_candidate_model(app.state) is None
        assert not model.model_for(fresh.engine).loaded
    finally:
        fresh.dispose()
