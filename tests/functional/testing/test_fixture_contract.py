"""The contract nova's functional tests rely on in upstream's PlacementFixture.

nova subclasses ``placement.tests.functional.fixtures.placement.PlacementFixture``
(here: the ``placement`` compatibility package), overrides
``_configure_placement``, changes options through ``conf_fixture`` after start,
and shares one database between two ``db=False`` fixtures.
"""

from __future__ import annotations

from typing import Any

import fixtures
import requests
from oslo_config import cfg
from oslo_config import fixture as config_fixture

from allotment.testing import PlacementFixture as AllotmentFixture

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}


def _get(fixture: Any, path: str) -> requests.Response:
    return requests.get(fixture.endpoint + path, headers=HEADERS)


def _put(fixture: Any, path: str, body: Any) -> requests.Response:
    return requests.put(fixture.endpoint + path, json=body, headers=HEADERS)


def _three_candidates(fixture: Any) -> None:
    for i in range(3):
        uuid = f"9c9c9c9c-0000-4000-8000-00000000000{i}"
        assert requests.post(
            fixture.endpoint + "/resource_providers",
            json={"name": f"cn{i}", "uuid": uuid},
            headers=HEADERS,
        ).ok
        body = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}}
        assert _put(fixture, f"/resource_providers/{uuid}/inventories", body).ok


def _candidates(fixture: Any) -> int:
    answer = _get(fixture, "/allocation_candidates?resources=VCPU:1")
    assert answer.status_code == 200, answer.text
    return len(answer.json()["allocation_requests"])


def test_the_compat_package_offers_what_nova_imports() -> None:
    from placement import conf as placement_conf
    from placement.tests import fixtures as placement_db
    from placement.tests.functional.fixtures import placement as placement_fixtures

    assert placement_fixtures.PlacementFixture is AllotmentFixture
    assert callable(placement_conf.register_opts)
    assert issubclass(placement_db.Database, fixtures.Fixture)


def test_conf_fixture_is_created_and_options_apply_on_the_next_request() -> None:
    with AllotmentFixture() as fixture:
        assert isinstance(fixture.conf_fixture, config_fixture.Config)
        _three_candidates(fixture)
        assert _candidates(fixture) == 3
        fixture.conf_fixture.config(group="placement", max_allocation_candidates=1)
        assert _candidates(fixture) == 1
        fixture.conf_fixture.config(group="placement", max_allocation_candidates=-1)
        assert _candidates(fixture) == 3


def test_every_placement_option_can_be_set_after_start() -> None:
    with AllotmentFixture() as fixture:
        conf = fixture.conf_fixture
        conf.config(group="workarounds", optimize_for_wide_provider_trees=True)
        conf.config(group="placement", allocation_candidates_generation_strategy="breadth-first")
        conf.config(group="placement", randomize_allocation_candidates=True)
        conf.config(group="placement", allocation_conflict_retry_count=3)
        conf.config(group="placement", incomplete_consumer_project_id="p0")
        assert _get(fixture, "/").ok
        settings = fixture.settings
        assert settings is not None
        assert settings.optimize_for_wide_provider_trees is True
        assert settings.allocation_candidates_generation_strategy == "breadth-first"
        assert settings.randomize_allocation_candidates is True
        assert settings.allocation_conflict_retry_count == 3
        assert settings.incomplete_consumer_project_id == "p0"


class _NovaLike(AllotmentFixture):
    """What nova's subclass does: set options in the hook, after registration."""

    seen: list[Any] = []

    def _configure_placement(self, conf_fixture: Any) -> None:
        super()._configure_placement(conf_fixture)
        self.seen.append(conf_fixture)
        conf_fixture.config(group="placement", max_allocation_candidates=2)


def test_configure_placement_hook_runs_before_the_app_is_built() -> None:
    with _NovaLike() as fixture:
        assert fixture.seen == [fixture.conf_fixture]
        assert fixture.settings is not None and fixture.settings.max_allocation_candidates == 2


def test_noauth2_is_forced_whatever_the_conf_says() -> None:
    conf_fixture = config_fixture.Config(cfg.ConfigOpts())
    conf_fixture.setUp()
    try:
        conf_fixture.register_opt(cfg.StrOpt("auth_strategy", default="keystone"), group="api")
        with AllotmentFixture(conf_fixture=conf_fixture) as fixture:
            assert conf_fixture.conf.api.auth_strategy == "noauth2"
            assert _get(fixture, "/resource_providers").status_code == 200
    finally:
        conf_fixture.cleanUp()


def test_db_is_the_constructor_flag() -> None:
    assert AllotmentFixture().db is True
    assert AllotmentFixture(db=False).db is False


def test_two_db_false_fixtures_share_one_database() -> None:
    with AllotmentFixture(db=False) as first:
        assert requests.post(
            first.endpoint + "/resource_providers", json={"name": "shared"}, headers=HEADERS
        ).ok
    with AllotmentFixture(db=False) as second:
        names = [
            rp["name"] for rp in _get(second, "/resource_providers").json()["resource_providers"]
        ]
        assert "shared" in names
    # A fresh fixture (db=True) does not see it.
    with AllotmentFixture() as third:
        assert _get(third, "/resource_providers").json()["resource_providers"] == []


class _NovaRegressionStyle(fixtures.TestWithFixtures):
    """nova's test_bug_1679750: a Database fixture, then two db=False fixtures."""

    def test_data_outlives_the_first_fixture(self) -> None:
        from placement import conf as placement_conf
        from placement.tests import fixtures as placement_db

        config = cfg.ConfigOpts()
        placement_config = self.useFixture(config_fixture.Config(config))
        placement_conf.register_opts(config)
        self.useFixture(placement_db.Database(placement_config, set_config=True))
        self.assertEqual("sqlite://", config.placement_database.connection)
        with AllotmentFixture(conf_fixture=placement_config, db=False, register_opts=False) as p:
            self.assertTrue(
                requests.post(
                    p.endpoint + "/resource_providers", json={"name": "cn"}, headers=HEADERS
                ).ok
            )
        with AllotmentFixture(conf_fixture=placement_config, db=False, register_opts=False) as p:
            listed = _get(p, "/resource_providers").json()["resource_providers"]
            self.assertEqual(["cn"], [rp["name"] for rp in listed])


def test_database_fixture_gives_a_fresh_shared_database() -> None:
    import unittest

    for _ in range(2):  # the second run must not see the first run's provider
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(_NovaRegressionStyle)
        result = unittest.TextTestRunner(stream=open("/dev/null", "w"), verbosity=0).run(suite)
        assert result.wasSuccessful(), result.failures + result.errors
