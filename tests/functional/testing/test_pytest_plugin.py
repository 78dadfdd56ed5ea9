"""The pytest plugin, exercised in a separate pytest run with pytester."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pytest

import allotment

# The checkout under test, which the inner pytest must import (not an installed copy).
CHECKOUT = Path(allotment.__file__).resolve().parents[1]

pytest_plugins = ["pytester"]

INNER_TESTS = """
import pytest
import requests


def test_create(placement):
    session = placement.requests_session()
    assert session.post(placement.endpoint + "/resource_providers", json={"name": "a"}).ok


def test_next_test_starts_empty(placement):
    session = placement.requests_session()
    listed = session.get(placement.endpoint + "/resource_providers").json()
    assert listed["resource_providers"] == []


def test_session_app_is_shared(placement, placement_session):
    assert placement is placement_session


@pytest.mark.placement(settings={"max_allocation_candidates": 3})
def test_marker_gives_a_private_service(placement, placement_session):
    assert placement is not placement_session
    assert placement.settings.max_allocation_candidates == 3


def test_client_fixture(placement_client):
    rp = placement_client.create_provider("from-client")
    assert placement_client.get_provider(rp.uuid).name == "from-client"
"""


def plugin_args() -> list[str]:
    """Name the plugin as the installed entry point does, or by module when not installed.

    pytest refuses the same module registered under two names, so when the ``pytest11``
    entry point is installed the plugin is already loaded by it.
    """
    installed = metadata.entry_points(group="pytest11", name="allotment")
    return [] if installed else ["-p", "allotment.testing.pytest_plugin"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(
        test_checkout=f"""
import allotment
from pathlib import Path

def test_imports_the_checkout_under_test():
    assert Path(allotment.__file__).resolve().parents[1] == Path({str(CHECKOUT)!r})
"""
    )
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")])
    )
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", *args)


@pytest.fixture(autouse=True)
def _restore_pythonpath(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))


def test_placement_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = run(pytester)
    result.assert_outcomes(passed=6)


def test_database_url_option(pytester: pytest.Pytester, tmp_path) -> None:  # noqa: ANN001
    pytester.makepyfile(
        test_inner="""
def test_backend(placement):
    assert placement.database.backend == "sqlite"
    assert placement.database.url.database.endswith("chosen.sqlite")
"""
    )
    url = f"sqlite:///{tmp_path / 'chosen.sqlite'}"
    result = run(pytester, f"--placement-database-url={url}")
    result.assert_outcomes(passed=2)


def test_options_fixture_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
import pytest

@pytest.fixture(scope="session")
def placement_service_options():
    return {"token": "service:proj", "settings": {"max_allocation_candidates": 11}}
""")
    pytester.makepyfile(
        test_inner="""
def test_options(placement):
    assert placement.token == "service:proj"
    assert placement.settings.max_allocation_candidates == 11
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=2)
