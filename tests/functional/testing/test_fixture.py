"""PlacementFixture: the ``fixtures`` library form, compatible with upstream's constructor."""

from __future__ import annotations

import re
import unittest
from typing import Any

import fixtures
import pytest
import requests

from allotment.testing import PlacementFixture
from allotment.testing.conf import register_opts
from allotment.testing.fixture import settings_from_conf
from tests import databases


class ComputeLikeTest(unittest.TestCase):
    """How a testtools/stestr suite uses it: one fixture per test, cleaned up after."""

    def setUp(self) -> None:
        super().setUp()
        self.placement = PlacementFixture()
        self.placement.setUp()
        self.addCleanup(self.placement.cleanUp)

    def test_provider_through_requests(self) -> None:
        headers = {"x-auth-token": self.placement.token, "openstack-api-version": "placement 1.39"}
        base = self.placement.endpoint
        created = requests.post(base + "/resource_providers", json={"name": "cn1"}, headers=headers)
        self.assertEqual(200, created.status_code)
        listed = requests.get(base + "/resource_providers", headers=headers).json()
        self.assertEqual(["cn1"], [rp["name"] for rp in listed["resource_providers"]])

    def test_each_test_starts_empty(self) -> None:
        listed = requests.get(
            self.placement.endpoint + "/resource_providers", headers={"x-auth-token": "admin"}
        ).json()
        self.assertEqual([], listed["resource_providers"])


def test_unittest_style_suite_passes() -> None:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(ComputeLikeTest)
    result = unittest.TextTestRunner(verbosity=0, stream=open("/dev/null", "w")).run(suite)
    assert result.wasSuccessful(), result.failures + result.errors
    assert result.testsRun == 2


def test_upstream_constructor_and_endpoint() -> None:
    fixture = PlacementFixture("admin", None, True, True, True)
    with fixture:
        assert re.fullmatch(r"http://[0-9a-f-]{36}/placement", fixture.endpoint)
        assert fixture.token == "admin"
        root = requests.get(fixture.endpoint)
        assert root.json()["versions"][0]["max_version"] == "1.39"
    with pytest.raises(requests.ConnectionError):
        requests.get(fixture.endpoint, timeout=2)


def test_use_fixture_inside_another_fixture() -> None:
    class Outer(fixtures.Fixture):
        def _setUp(self) -> None:
            self.placement = self.useFixture(PlacementFixture(token="admin"))

    with Outer() as outer:
        endpoint = outer.placement.endpoint
        assert (
            requests.get(
                endpoint + "/traits/CUSTOM_X",
                headers={"x-auth-token": "admin", "openstack-api-version": "placement 1.6"},
            ).status_code
            == 404
        )
    with pytest.raises(requests.ConnectionError):
        requests.get(endpoint, timeout=2)


def test_use_intercept_false() -> None:
    with PlacementFixture(use_intercept=False) as fixture:
        with pytest.raises(requests.ConnectionError):
            requests.get(fixture.endpoint, timeout=2)
        with fixture.httpx_client() as client:
            assert client.get("resource_providers").status_code == 200


def test_reset_is_fast_data_reset() -> None:
    with PlacementFixture() as fixture:
        session = fixture.requests_session()
        assert session.post(fixture.endpoint + "/resource_providers", json={"name": "a"}).ok
        fixture.reset()
        empty = session.get(fixture.endpoint + "/resource_providers").json()
        assert empty["resource_providers"] == []


def _conf_fixture() -> Any:
    from oslo_config import cfg
    from oslo_config import fixture as config_fixture

    return config_fixture.Config(cfg.ConfigOpts())


def test_conf_fixture_options_are_read() -> None:
    conf_fixture = _conf_fixture()
    conf_fixture.setUp()
    try:
        register_opts(conf_fixture.conf)
        conf_fixture.config(group="placement", max_allocation_candidates=5)
        conf_fixture.config(group="placement", randomize_allocation_candidates=True)
        values = settings_from_conf(conf_fixture)
        assert values["max_allocation_candidates"] == 5
        assert values["randomize_allocation_candidates"] is True
        with PlacementFixture(conf_fixture=conf_fixture) as fixture:
            assert fixture.settings is not None
            assert fixture.settings.max_allocation_candidates == 5
            assert fixture.settings.randomize_allocation_candidates is True
    finally:
        conf_fixture.cleanUp()


def test_settings_keyword_wins_over_conf_fixture() -> None:
    with PlacementFixture(settings={"max_allocation_candidates": 9}) as fixture:
        fixture.conf_fixture.config(group="placement", max_allocation_candidates=5)
        fixture.requests_session().get(fixture.endpoint + "/")
        assert fixture.settings is not None and fixture.settings.max_allocation_candidates == 9


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_database_url_and_db_false(
    backend: str, worker_id_safe: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    name = f"{databases.database_name(worker_id_safe)}_fxurl_{backend[:2]}"
    url = databases.create_database(backend, name, tmp_path_factory.mktemp("url"))
    with PlacementFixture(database_url=url) as fixture:
        session = fixture.requests_session()
        assert session.post(fixture.endpoint + "/resource_providers", json={"name": "kept"}).ok
    # db=False: the database is used as it is (not emptied); the app syncs it on start.
    with PlacementFixture(db=False, database_url=url) as fixture:
        listed = fixture.requests_session().get(fixture.endpoint + "/resource_providers")
        assert [rp["name"] for rp in listed.json()["resource_providers"]] == ["kept"]
    # db=True (the default) empties it.
    with PlacementFixture(database_url=url) as fixture:
        listed = fixture.requests_session().get(fixture.endpoint + "/resource_providers")
        assert listed.json()["resource_providers"] == []


def test_real_server_option() -> None:
    with PlacementFixture(real_server=True) as fixture:
        assert fixture.url is not None
        import httpx

        assert httpx.get(fixture.url + "/").status_code == 200
    assert fixture.url is None


def test_timing_script_reports_every_phase(capsys: pytest.CaptureFixture[str]) -> None:
    from allotment.testing import timing

    assert timing.main(["--runs", "3"]) == 0
    out = capsys.readouterr().out
    for phase in ("cold start", "setUp", "first request", "cleanUp", "reset() after writes"):
        assert phase in out
