"""A placement service per backend (SQLite, PostgreSQL) and a client bound to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from allotment.client import PlacementClient
from allotment.testing import PlacementService
from tests.functional.testing.backends import SERVICE_BACKENDS, start_service


@pytest.fixture(scope="session", params=SERVICE_BACKENDS)
def client_service(
    request: pytest.FixtureRequest, worker_id_safe: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlacementService]:
    service = start_service(
        request.param, worker_id_safe, tmp_path_factory.mktemp("cl"), "cl", real_server=True
    )
    yield service
    service.stop()


@pytest.fixture
def service(client_service: PlacementService) -> PlacementService:
    client_service.reset()
    return client_service


@pytest.fixture
def client(service: PlacementService) -> Iterator[PlacementClient]:
    """A client at the newest microversion over httpx's in-process WSGI transport."""
    with service.client() as placement:
        yield placement
