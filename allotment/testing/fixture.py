"""``PlacementFixture`` for the ``fixtures`` library (testtools, stestr, unittest users).

Drop-in for upstream's ``placement.tests.functional.fixtures.placement.PlacementFixture``
(nova's functional tests subclass it); the contract it keeps:

* the constructor ``(token='admin', conf_fixture=None, db=True, use_intercept=True,
  register_opts=True)``; ``db`` stays the boolean flag; ``endpoint`` is
  ``http://<random host>/placement`` and ``token`` what to send as ``X-Auth-Token``;
* ``conf_fixture``: an ``oslo_config.fixture.Config``; one over a new ``ConfigOpts``
  is created when none is passed. ``register_opts=True`` declares the placement
  options on it. The options are read again on every request, so
  ``fixture.conf_fixture.config(group='placement', max_allocation_candidates=1)``
  after start changes the next answer, as upstream (which reads its
  configuration per request) does;
* ``_configure_placement(conf_fixture)``: the hook subclasses override to set
  options before the app is built;
* authentication is always ``noauth2`` (upstream forces it too), whatever the
  conf says, unless our own ``auth_strategy`` keyword asks otherwise;
* ``db=True`` gives the fixture a fresh database of its own. ``db=False`` uses
  ``[placement_database] connection`` as configured; an in-memory SQLite URL
  (``sqlite://``, upstream's test default) names ONE database shared by every
  fixture of the process, as upstream's global engine does, which is how nova
  keeps data across two fixtures (``placement.tests.fixtures.Database`` in the
  ``placement`` compatibility package creates it fresh).

Our own options follow as keyword arguments.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fixtures

from allotment.config import Settings
from allotment.store.engine import Database
from allotment.testing import conf as testing_conf
from allotment.testing import database
from allotment.testing.service import DEFAULT_PREFIX, PlacementService

MEMORY_URLS = ("sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://")

# ------------------------------------------------------------- the shared database
_SHARED_LOCK = threading.Lock()
_shared: dict[str, tuple[Database, Path]] = {}


def is_memory_url(url: str | None) -> bool:
    return url is not None and url.strip() in MEMORY_URLS


def shared_database(fresh: bool = False) -> Database:
    """The process's one "in-memory" database (a private SQLite file underneath).

    ``fresh=True`` replaces it by an empty, migrated one (what upstream's
    ``Database`` fixture does on set-up).
    """
    with _SHARED_LOCK:
        if fresh:
            _drop_shared_locked()
        if "memory" not in _shared:
            directory = Path(tempfile.mkdtemp(prefix="allotment-shared-"))
            _shared["memory"] = (Database(database.fresh_sqlite(directory)), directory)
        return _shared["memory"][0]


def drop_shared_database() -> None:
    with _SHARED_LOCK:
        _drop_shared_locked()


def _drop_shared_locked() -> None:
    entry = _shared.pop("memory", None)
    if entry is not None:
        entry[0].dispose()
        shutil.rmtree(entry[1], ignore_errors=True)


atexit.register(drop_shared_database)


def settings_from_conf(conf_fixture: Any) -> dict[str, Any]:
    """The per-request settings a conf (or a ``Config`` fixture's ``.conf``) holds now."""
    return testing_conf.settings_from_conf(getattr(conf_fixture, "conf", conf_fixture))


def new_conf_fixture() -> Any:
    """An oslo.config ``Config`` fixture over a new ``ConfigOpts`` (not yet set up)."""
    from oslo_config import cfg
    from oslo_config import fixture as config_fixture

    return config_fixture.Config(cfg.ConfigOpts())


class _PerRequestSettings:
    """Re-reads the fixture's configuration before each request (cheap when unchanged)."""

    def __init__(self, app: Any, fixture: PlacementFixture) -> None:
        self.app = app
        self.fixture = fixture
        self.state = app.state

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.fixture.refresh_settings()
        return self.app(environ, start_response)


class PlacementFixture(PlacementService, fixtures.Fixture):
    """The real placement app on a fresh database, intercepted at ``endpoint``.

    ``useFixture(PlacementFixture())`` gives each test a new SQLite datastore copied
    from a migrated template (a few milliseconds). Call ``reset()`` to empty it within
    a test. See the module docstring for the upstream contract and ``PlacementService``
    for the keyword-only options (``database_url``, ``settings``, ``policy``,
    ``real_server``, ``prefix``, ``auth_strategy``).
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
        auth_strategy: str = "noauth2",
        settings: Mapping[str, Any] | None = None,
        policy: Mapping[str, str] | None = None,
        real_server: bool = False,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        super().__init__(
            token,
            database_url=database_url,
            auth_strategy=auth_strategy,
            settings=settings,
            policy=policy,
            use_intercept=use_intercept,
            real_server=real_server,
            prepare_database=db,
            prefix=prefix,
        )
        self.conf_fixture = conf_fixture
        self.db = db
        self.register_opts = register_opts
        self._base_settings: Settings | None = None
        self._conf_values: dict[str, Any] = {}

    # -- upstream's hook --------------------------------------------------------------

    def _configure_placement(self, conf_fixture: Any) -> None:
        """Hook: set options on ``conf_fixture`` before the app is built (no-op)."""

    # -- life cycle -------------------------------------------------------------------

    def _setUp(self) -> None:
        if self.conf_fixture is None:
            self.conf_fixture = self.useFixture(new_conf_fixture())
        conf = self.conf_fixture.conf
        if self.register_opts:
            testing_conf.register_opts(conf)
        self._configure_placement(self.conf_fixture)
        # As upstream: the fixture always runs without keystone.
        if testing_conf.value(conf, "api", "auth_strategy") is not None:
            self.conf_fixture.config(group="api", auth_strategy="noauth2")
        self.start()
        self.addCleanup(self.stop)

    def _start_database(self) -> None:
        if self.database_url is None and not self.db:
            configured = None
            if self.conf_fixture is not None:
                configured = testing_conf.value(
                    self.conf_fixture.conf, "placement_database", "connection"
                )
            if configured is None or is_memory_url(configured):
                self.database = shared_database()
                self._owns_database = False
                return
            self.database_url = configured
        self._owns_database = True
        super()._start_database()

    def build_settings(self) -> Settings:
        self._base_settings = super().build_settings()
        self._conf_values = {}
        return self._current_settings()

    def wrap_app(self, app: Any) -> Any:
        return _PerRequestSettings(app, self)

    # -- configuration read per request -----------------------------------------------

    def _current_settings(self) -> Settings:
        assert self._base_settings is not None
        if self.conf_fixture is None:
            return self._base_settings
        values = settings_from_conf(self.conf_fixture)
        if values == self._conf_values and self.settings is not None:
            return self.settings
        self._conf_values = values
        # Explicit ``settings=`` overrides stay on top of the conf's values.
        values = {**values, **self.settings_overrides}
        return self._base_settings.replace(**values)

    def refresh_settings(self) -> None:
        """Apply options changed through ``conf_fixture`` since the last request."""
        if self.app is None or self._base_settings is None:
            return
        current = self._current_settings()
        if current is not self.settings:
            self.settings = current
            self.app.state.settings = current

    # fixtures.Fixture's context manager protocol (setUp/cleanUp) wins over start/stop,
    # so cleanups registered by subclasses run too.
    def __enter__(self) -> PlacementFixture:
        fixtures.Fixture.__enter__(self)
        return self

    def __exit__(self, *exc_info: Any) -> bool:  # type: ignore[override]
        return fixtures.Fixture.__exit__(self, *exc_info)
