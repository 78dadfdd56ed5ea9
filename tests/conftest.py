"""Fixtures shared by every test: databases per backend, the app, an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from allotment.config import Settings
from allotment.store import schema
from allotment.store.engine import Database
from tests import databases


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the server databases this worker created (after its fixtures closed)."""
    failures = databases.drop_created()
    if failures:
        print("could not drop test databases:\n" + "\n".join(failures))


@pytest.fixture(scope="session")
def worker_id_safe(request: pytest.FixtureRequest) -> str:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return worker


@pytest.fixture(scope="session", params=databases.BACKENDS)
def backend_db(
    request: pytest.FixtureRequest, worker_id_safe: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database per backend, shared by the tests of one worker."""
    db = databases.fresh_database(request.param, worker_id_safe, tmp_path_factory.mktemp("db"))
    yield db
    db.dispose()


@pytest.fixture
def db(backend_db: Database) -> Database:
    """A migrated database with no data but the standard classes and traits."""
    schema.reset_data(backend_db)
    return backend_db


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url.render_as_string(hide_password=False), access_log=False)
