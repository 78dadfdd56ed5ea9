"""``PlacementService``: the real application on a fresh datastore, reachable in-process.

The service builds the production WSGI stack with ``allotment.app.make_app``
(same middleware as a deployment), on a migrated, empty database with the
standard resource classes and traits. It can then be reached three ways:

* through ``wsgi-intercept``: ``requests``, ``urllib3``, ``http.client`` and
  keystoneauth calls to ``endpoint`` (``http://<random host>/placement``) are
  answered by the app without a socket;
* through ``httpx_client()`` (an ``httpx.Client`` over ``httpx.WSGITransport``);
* through a real threaded server on ``127.0.0.1`` (``real_server=True``),
  whose address is ``url``.

``PlacementService`` is a context manager; ``allotment.testing.PlacementFixture``
wraps it for the ``fixtures`` library and the pytest plugin for pytest.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allotment.app import make_app
from allotment.config import Settings
from allotment.store import schema
from allotment.store.engine import Database
from allotment.testing import database
from allotment.testing.server import LoopbackServer, Mount

if TYPE_CHECKING:
    import httpx
    import requests

    from allotment.client import PlacementClient

LATEST_MICROVERSION = "1.39"
DEFAULT_PREFIX = "/placement"


def microversion_header(microversion: str | None) -> dict[str, str]:
    """The request header selecting ``microversion`` (none for ``None``: 1.0)."""
    if microversion is None:
        return {}
    return {"OpenStack-API-Version": f"placement {microversion}"}


class PlacementService:
    """A placement service for tests: start(), use ``endpoint``, reset(), stop().

    Parameters:
        token: the ``X-Auth-Token`` callers should send (noauth2: ``admin`` is an admin).
        database_url: ``None`` for a private temporary SQLite file (fastest), or an
            SQLAlchemy URL (``postgresql://...``, ``mysql+pymysql://...``, ``sqlite:///...``);
            a named database is upgraded to head and emptied at start.
        auth_strategy: ``noauth2`` (default) or ``keystone``.
        settings: overrides for any ``allotment.config.Settings`` field, e.g.
            ``{"max_allocation_candidates": 10, "policy_file": "policy.yaml"}``.
        policy: policy rules to override, ``{"placement:reshaper:reshape": "role:admin"}``;
            written to a policy file of the service's own (sets ``policy_file``).
        use_intercept: route ``requests``/``urllib3``/``http.client`` calls to ``endpoint``
            into the app with wsgi-intercept.
        real_server: also serve the app on an ephemeral loopback port (see ``url``).
        prepare_database: ``False`` leaves the database exactly as it is (no upgrade, no
            clearing); the app then prepares it as a server would (``sync_on_startup``).
        prefix: the mount point of the app in ``endpoint`` and ``url``.
    """

    def __init__(
        self,
        token: str = "admin",
        *,
        database_url: str | None = None,
        auth_strategy: str = "noauth2",
        settings: Mapping[str, Any] | None = None,
        policy: Mapping[str, str] | None = None,
        use_intercept: bool = True,
        real_server: bool = False,
        prepare_database: bool = True,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.token = token
        self.database_url = database_url
        self.auth_strategy = auth_strategy
        self.settings_overrides: dict[str, Any] = dict(settings or {})
        self.policy: dict[str, str] = dict(policy or {})
        self.use_intercept = use_intercept
        self.real_server = real_server
        self.prepare_database = prepare_database
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.host = str(uuid.uuid4())
        self.endpoint = f"http://{self.host}{self.prefix}"
        self.url: str | None = None
        self.app: Any = None
        self.database: Database | None = None
        self._owns_database = True
        self.settings: Settings | None = None
        self._tmpdir: Path | None = None
        self._interceptors: list[Any] = []
        self._server: LoopbackServer | None = None

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> PlacementService:
        """Create the datastore and the app, then make them reachable."""
        try:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="allotment-fixture-"))
            self._start_database()
            self.settings = self.build_settings()
            prepare = not self.prepare_database
            self.app = self.wrap_app(make_app(self.settings, db=self.database, prepare=prepare))
            if self.use_intercept:
                self._install_intercept()
            if self.real_server:
                self._server = LoopbackServer(Mount(self.app, self.prefix)).start()
                self.url = self._server.base_url + self.prefix
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Remove the intercept, stop the server, drop a temporary database."""
        self._uninstall_intercept()
        if self._server is not None:
            self._server.stop()
            self._server = None
            self.url = None
        if self.database is not None:
            if self._owns_database:
                self.database.dispose()
            self.database = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self.app = None

    def reset(self) -> None:
        """Delete every provider, consumer, allocation, custom class and trait (fast)."""
        if self.database is None:
            raise RuntimeError("the placement service is not started")
        schema.reset_data(self.database)

    def __enter__(self) -> PlacementService:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- configuration ----------------------------------------------------------------

    def build_settings(self) -> Settings:
        """The settings the app runs with; subclasses may extend this hook."""
        assert self.database is not None
        overrides = dict(self.settings_overrides)
        if self.policy:
            overrides["policy_file"] = str(self._write_policy())
        base = Settings(
            database_url=self.database.url.render_as_string(hide_password=False),
            auth_strategy=self.auth_strategy,
            # As upstream's fixture: legacy rules OR'ed in, so "admin" may reshape.
            enforce_new_defaults=False,
            sync_on_startup=not self.prepare_database,
            access_log=False,
        )
        return base.replace(**overrides)

    def wrap_app(self, app: Any) -> Any:
        """Hook: the WSGI app that is reached (subclasses may wrap the built one)."""
        return app

    def _write_policy(self) -> Path:
        import yaml

        assert self._tmpdir is not None
        path = self._tmpdir / "policy.yaml"
        path.write_text(yaml.safe_dump(self.policy), encoding="utf-8")
        return path

    def _start_database(self) -> None:
        url = self.database_url
        if url is None:
            assert self._tmpdir is not None
            url = database.fresh_sqlite(self._tmpdir)
            self.database = Database(url)
            return
        self.database = Database(url)
        if self.prepare_database:
            database.prepare_existing(self.database)

    # -- interception ---------------------------------------------------------------

    def _install_intercept(self) -> None:
        # Imported here: wsgi-intercept is only needed when interception is wanted.
        from wsgi_intercept import interceptor

        app = self.app
        # RequestsInterceptor patches urllib3's pools (requests and keystoneauth use
        # urllib3); HttpClientInterceptor patches http.client for code using it directly.
        for kind in (interceptor.RequestsInterceptor, interceptor.HttpClientInterceptor):
            icept = kind(lambda: app, url=self.endpoint)
            icept.install_intercept()
            self._interceptors.append(icept)

    def _uninstall_intercept(self) -> None:
        while self._interceptors:
            self._interceptors.pop().uninstall_intercept()

    # -- ways in --------------------------------------------------------------------

    def headers(self, microversion: str | None = LATEST_MICROVERSION) -> dict[str, str]:
        """``X-Auth-Token`` and (unless ``None``) the microversion header."""
        return {"X-Auth-Token": self.token, **microversion_header(microversion)}

    def httpx_client(
        self,
        microversion: str | None = LATEST_MICROVERSION,
        over_socket: bool = False,
        **kwargs: Any,
    ) -> httpx.Client:
        """An ``httpx.Client`` whose relative URLs reach the app, token set.

        In-process over ``httpx.WSGITransport`` by default; over the loopback server
        with ``over_socket=True`` (needs ``real_server=True``).
        """
        import httpx

        headers = {**self.headers(microversion), **kwargs.pop("headers", {})}
        if over_socket:
            if self.url is None:
                raise RuntimeError("over_socket needs PlacementService(real_server=True)")
            return httpx.Client(base_url=self.url, headers=headers, **kwargs)
        transport = httpx.WSGITransport(app=Mount(self._running_app(), self.prefix))
        return httpx.Client(transport=transport, base_url=self.endpoint, headers=headers, **kwargs)

    def requests_session(self, microversion: str | None = LATEST_MICROVERSION) -> requests.Session:
        """A ``requests.Session`` with the token and microversion headers set."""
        import requests

        session = requests.Session()
        session.headers.update(self.headers(microversion))
        return session

    def keystoneauth_adapter(self, microversion: str | None = LATEST_MICROVERSION) -> Any:
        """A keystoneauth1 ``Adapter`` for service type ``placement`` bound to ``endpoint``."""
        from keystoneauth1 import adapter, session, token_endpoint

        auth = token_endpoint.Token(self.endpoint, self.token)
        return adapter.Adapter(
            session.Session(auth=auth),
            service_type="placement",
            default_microversion=microversion,
        )

    def client(self, microversion: str = LATEST_MICROVERSION, **kwargs: Any) -> PlacementClient:
        """An ``allotment.client.PlacementClient`` over ``httpx_client()``."""
        from allotment.client import PlacementClient

        http = self.httpx_client(microversion=None)
        return PlacementClient(
            http_client=http, microversion=microversion, token=self.token, **kwargs
        )

    def _running_app(self) -> Any:
        if self.app is None:
            raise RuntimeError("the placement service is not started")
        return self.app
