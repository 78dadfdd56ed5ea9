"""``PlacementFixture`` for the ``fixtures`` library (testtools, stestr, unittest users).

Drop-in for upstream's ``placement.tests.functional.fixtures.placement.PlacementFixture``:
the constructor accepts the same arguments (``token='admin', conf_fixture=None,
db=True, use_intercept=True, register_opts=True``), ``endpoint`` is
``http://<random host>/placement`` and ``token`` is what to send as ``X-Auth-Token``.
Our own options follow as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fixtures

from allotment.testing.service import DEFAULT_PREFIX, PlacementService

# Upstream oslo.config (group, option) -> our Settings field, read from a conf_fixture.
_CONF_OPTIONS = (
    ("placement_database", "connection", "database_url"),
    ("api", "auth_strategy", "auth_strategy"),
    ("oslo_policy", "policy_file", "policy_file"),
    ("placement", "randomize_allocation_candidates", "randomize_allocation_candidates"),
    ("placement", "max_allocation_candidates", "max_allocation_candidates"),
    (
        "placement",
        "allocation_candidates_generation_strategy",
        "allocation_candidates_generation_strategy",
    ),
    ("placement", "allocation_conflict_retry_count", "allocation_conflict_retry_count"),
)


def settings_from_conf(conf_fixture: Any) -> dict[str, Any]:
    """Values set in an oslo.config fixture (``conf_fixture.conf``) that we understand."""
    conf = getattr(conf_fixture, "conf", conf_fixture)
    values: dict[str, Any] = {}
    for group, option, name in _CONF_OPTIONS:
        try:
            value = getattr(getattr(conf, group), option)
        except Exception:  # noqa: BLE001 - unregistered group/option: not configured
            continue
        if value is not None:
            values[name] = value
    return values


class PlacementFixture(PlacementService, fixtures.Fixture):
    """The real placement app on a fresh database, intercepted at ``endpoint``.

    ``useFixture(PlacementFixture())`` gives each test a new SQLite datastore copied
    from a migrated template (a few milliseconds). Call ``reset()`` to empty it within
    a test. See ``PlacementService`` for the keyword-only options.

    Upstream arguments: ``conf_fixture`` (an ``oslo_config.fixture.Config``) is read for
    the placement options we know (database connection, auth strategy, policy file,
    candidate limits); ``db=False`` uses the configured database as it is (no upgrade,
    no clearing; the app syncs it on start); ``register_opts`` is accepted and ignored
    (there is no oslo.config here).
    """

    def __init__(
        self,
        token: str = "admin",
        conf_fixture: Any = None,
        db: bool = True,
        use_intercept: bool = True,
        register_opts: bool = True,
        *,
        database_url: str | None = None,
        auth_strategy: str | None = None,
        settings: Mapping[str, Any] | None = None,
        policy: Mapping[str, str] | None = None,
        real_server: bool = False,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        overrides = settings_from_conf(conf_fixture) if conf_fixture is not None else {}
        database_url = database_url or overrides.pop("database_url", None)
        auth_strategy = auth_strategy or overrides.pop("auth_strategy", "noauth2")
        overrides.update(settings or {})
        super().__init__(
            token,
            database_url=database_url,
            auth_strategy=auth_strategy,
            settings=overrides,
            policy=policy,
            use_intercept=use_intercept,
            real_server=real_server,
            prepare_database=db,
            prefix=prefix,
        )
        self.conf_fixture = conf_fixture
        self.register_opts = register_opts

    def _setUp(self) -> None:
        self.start()
        self.addCleanup(self.stop)

    # fixtures.Fixture's context manager protocol (setUp/cleanUp) wins over start/stop,
    # so cleanups registered by subclasses run too.
    def __enter__(self) -> PlacementFixture:
        fixtures.Fixture.__enter__(self)
        return self

    def __exit__(self, *exc_info: Any) -> bool:  # type: ignore[override]
        return fixtures.Fixture.__exit__(self, *exc_info)
