"""A placement service per backend (SQLite, PostgreSQL) for the fixture tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from allotment.testing import PlacementService
from tests.functional.testing.backends import SERVICE_BACKENDS, start_service


@pytest.fixture(scope="session", params=SERVICE_BACKENDS)
def backend_service(
    request: pytest.FixtureRequest, worker_id_safe: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlacementService]:
    service = start_service(
        request.param, worker_id_safe, tmp_path_factory.mktemp("fx"), "fx", real_server=True
    )
    yield service
    service.stop()


@pytest.fixture
def service(backend_service: PlacementService) -> PlacementService:
    """A started service (intercept + loopback server) with an empty datastore."""
    backend_service.reset()
    return backend_service
