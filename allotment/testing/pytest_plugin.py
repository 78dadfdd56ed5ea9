"""pytest plugin: a ``placement`` fixture backed by one app per session, reset per test.

Enable with ``-p allotment.testing.pytest_plugin`` (or ``pytest_plugins = [...]`` in a
conftest); an installed allotment registers it through the ``pytest11`` entry point.

Fixtures:

* ``placement`` - a started ``PlacementService`` emptied before the test. The app and
  its datastore are built once per session (per xdist worker), so a test pays only for
  the reset. A test marked ``@pytest.mark.placement(settings={...}, ...)`` gets a
  private service built with those ``PlacementService`` arguments instead.
* ``placement_client`` - an ``allotment.client.PlacementClient`` bound to ``placement``.
* ``placement_service_options`` - the keyword arguments of the session service; override
  it in a conftest to pick a database or settings for a whole suite.

Command line: ``--placement-database-url URL`` runs the session service on a server
database (it is upgraded and emptied; give each xdist worker its own database).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from allotment.testing.service import PlacementService

MARKER = "placement"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("allotment", "allotment placement fixture")
    group.addoption(
        "--placement-database-url",
        dest="placement_database_url",
        default=None,
        help="SQLAlchemy URL for the placement fixture (default: a temporary SQLite file)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): give this test a private placement service built with "
        "these PlacementService keyword arguments (settings=..., database_url=..., ...)",
    )


@pytest.fixture(scope="session")
def placement_service_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Keyword arguments for the session's ``PlacementService`` (override to customise)."""
    options: dict[str, Any] = {}
    url = pytestconfig.getoption("placement_database_url", default=None)
    if url:
        options["database_url"] = url
    return options


@pytest.fixture(scope="session")
def placement_session(placement_service_options: dict[str, Any]) -> Iterator[PlacementService]:
    """One started service for the whole session; tests should use ``placement``."""
    service = PlacementService(**placement_service_options).start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def placement(
    request: pytest.FixtureRequest, placement_service_options: dict[str, Any]
) -> Iterator[PlacementService]:
    """A running placement service with an empty datastore."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        options = {**placement_service_options, **marker.kwargs}
        with PlacementService(**options) as private:
            yield private
        return
    service: PlacementService = request.getfixturevalue("placement_session")
    service.reset()
    yield service


@pytest.fixture
def placement_client(placement: PlacementService) -> Iterator[Any]:
    """An ``allotment.client.PlacementClient`` talking to ``placement`` in-process."""
    client = placement.client()
    try:
        yield client
    finally:
        client.close()
