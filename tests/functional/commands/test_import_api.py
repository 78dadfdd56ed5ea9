"""After ``db import`` the HTTP API shows exactly the source's placement data."""

from __future__ import annotations

from collections import defaultdict

import httpx
import pytest

from allotment.app import make_app
from allotment.config import Settings
from allotment.http import microversion as mv
from allotment.store import importer
from allotment.store.engine import Database
from tests.functional.commands import logical
from tests.functional.commands.conftest import SourceFactory

HEADERS = {"x-auth-token": "admin", "openstack-api-version": f"placement {mv.MAX_VERSION}"}


@pytest.fixture
def api(db: Database, settings: Settings) -> httpx.Client:
    app = make_app(settings, db=db, prepare=False)
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://placement", headers=HEADERS
    )


def _get(api: httpx.Client, path: str) -> dict:
    response = api.get(path)
    assert response.status_code == 200, (path, response.text)
    return response.json()


@pytest.mark.parametrize("shape", ["nova_api", "upstream"])
def test_api_shows_the_imported_data(
    db: Database, api: httpx.Client, source_db: SourceFactory, shape: str
) -> None:
    source_url = source_db(db.backend, shape)
    importer.run_import(source_url, db, importer.ImportOptions(batch_size=10))
    expected = logical.read(source_url)

    listed = _get(api, "/resource_providers")["resource_providers"]
    assert {
        p["uuid"]: (p["name"], p["generation"], p["parent_provider_uuid"], p["root_provider_uuid"])
        for p in listed
    } == expected.providers

    inventories, usages, traits, aggregates = {}, {}, {}, {}
    for uuid in expected.providers:
        for rc, inv in _get(api, f"/resource_providers/{uuid}/inventories")["inventories"].items():
            inventories[(uuid, rc)] = (
                inv["total"],
                inv["reserved"],
                inv["min_unit"],
                inv["max_unit"],
                inv["step_size"],
                round(inv["allocation_ratio"], 4),
            )
        for rc, used in _get(api, f"/resource_providers/{uuid}/usages")["usages"].items():
            if used:
                usages[(uuid, rc)] = used
        if names := _get(api, f"/resource_providers/{uuid}/traits")["traits"]:
            traits[uuid] = frozenset(names)
        if aggs := _get(api, f"/resource_providers/{uuid}/aggregates")["aggregates"]:
            aggregates[uuid] = frozenset(aggs)
    assert inventories == expected.inventories
    assert usages == expected.usages
    assert traits == expected.traits
    assert aggregates == expected.aggregates

    allocations: dict[tuple[str, str, str], int] = defaultdict(int)
    for consumer, (project, user, generation, ctype) in expected.consumers.items():
        body = _get(api, f"/allocations/{consumer}")
        assert (
            body["project_id"],
            body["user_id"],
            body["consumer_generation"],
            body["consumer_type"],
        ) == (project, user, generation, ctype or "unknown")
        for rp, alloc in body["allocations"].items():
            for rc, used in alloc["resources"].items():
                allocations[(consumer, rp, rc)] += used
    assert allocations == expected.allocations

    classes = {c["name"] for c in _get(api, "/resource_classes")["resource_classes"]}
    assert expected.custom_classes <= classes
