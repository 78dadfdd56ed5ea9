"""``make_app(settings)``: the WSGI application, composed in one place."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from allotment import console, startup
from allotment.config import Settings
from allotment.http import auth, cors, health, middleware, proxy
from allotment.http.middleware import WSGIApp
from allotment.http.policy import Enforcer
from allotment.http.policy_reload import ReloadingEnforcer, build
from allotment.metrics import Metrics
from allotment.metrics import database as metrics_database
from allotment.metrics.endpoint import metrics_app
from allotment.metrics.requests import RequestMetrics
from allotment.openapi.wsgi import openapi_app
from allotment.store import schema
from allotment.store.candidates import model
from allotment.store.engine import Database

LOG = logging.getLogger(__name__)


@dataclass
class AppState:
    """What every request may use: settings, the database, the policy enforcer, metrics."""

    settings: Settings
    db: Database
    enforcer: Enforcer
    metrics: Metrics | None = None


def prepare_database(settings: Settings, db: Database) -> None:
    """Upgrade the schema when configured to (under a database-wide lock), else
    refuse a schema that is not at head; then sync standard classes and traits."""
    if settings.sync_on_startup:
        schema.upgrade(db)
        return
    problem = schema.problem(db)
    if problem:
        raise schema.SchemaNotReady(problem)
    schema.sync_standard_data(db)


def check_settings(settings: Settings) -> None:
    """Refuse, before serving or forking workers, what make_app would refuse:
    a broken policy file, or keystone auth that cannot be configured."""
    build(settings)  # also remembered: a worker started later falls back to these rules
    if settings.auth_strategy == "keystone":
        from allotment.http import keystone  # optional dependency

        keystone.check(settings)


@dataclass(frozen=True)
class Mount:
    """A WSGI app serving one path (``exact``) or every path under a prefix."""

    path: str
    app: WSGIApp
    exact: bool = False

    def matches(self, path: str) -> bool:
        if self.exact:
            return path == self.path
        return path == self.path.rstrip("/") or path.startswith(self.path)


class Mounts:
    """Sends each request to the first mount whose path matches (the last catches all)."""

    def __init__(self, mounts: list[Mount]) -> None:
        self.mounts = mounts

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        for mount in self.mounts:
            if mount.matches(path):
                return mount.app(environ, start_response)
        raise LookupError(f"no mount for {path}")  # the API mount ("") matches everything


def make_app(settings: Settings, db: Database | None = None, prepare: bool = True) -> Any:
    """Build the WSGI app. Every request passes ProxyHeaders (only with
    enable_proxy_headers_parsing: scheme, host, prefix), RequestLog (request
    id, one access log line) and CORS (only when [cors] allowed_origin is
    set), then goes to the first matching mount of the list below.

    A broken policy file raises ``PolicyFileError`` here, before serving.
    """
    enforcer = cast(Enforcer, ReloadingEnforcer(settings))
    if db is None:
        db = startup.open_for_serving(settings, wait=prepare)
    recorder = Metrics() if settings.metrics else None
    if recorder is not None:
        metrics_database.instrument(db)
    if prepare:
        prepare_database(settings, db)
    state = AppState(settings=settings, db=db, enforcer=enforcer, metrics=recorder)
    mounts = [
        # Prometheus exposition of every worker's samples. No token: like
        # /healthcheck it belongs on the internal network. Off with
        # [allotment] metrics = false.
        *([Mount("/metrics", metrics_app, exact=True)] if recorder else []),
        # The OpenAPI 3.1 document (?microversion=1.X), no token, cacheable.
        Mount("/openapi.json", openapi_app, exact=True),
        # Everything else: /healthcheck, the console (/ui/) and the placement API.
        Mount("", _api(state)),
    ]
    app: Any = Mounts(mounts)
    app = cors.wrap(app, settings)
    app = middleware.RequestLog(app, settings.access_log, settings.json_logs)
    app = proxy.wrap(app, settings.enable_proxy_headers_parsing)
    app.state = state
    return app


def warm_candidate_model(state: AppState) -> threading.Thread | None:
    """Load this worker's in-memory candidate model in the background.

    Otherwise the worker's first candidate search loads it (a noticeable
    pause at thousands of providers: the console's overview asks for
    candidates on its first visit). A search that arrives meanwhile waits on
    the model's lock, as it would for a load of its own. Returns the thread,
    or None when searches do not use the model.
    """
    if not state.settings.in_memory_candidates:
        return None

    def load() -> None:
        try:
            with state.db.read(replica=True) as conn, model.open_source(conn):
                pass
        except Exception:  # the first search loads it instead, and reports the error
            LOG.warning("could not load the candidate model at start", exc_info=True)

    thread = threading.Thread(target=load, name="warm-candidate-model", daemon=True)
    thread.start()
    return thread


def _api(state: AppState) -> WSGIApp:
    """The placement API. A request passes the layers top to bottom:

    1. HealthCheck      - GET /healthcheck, no token, no microversion
    1b. Console         - GET /ui/: static console assets, no token ([allotment] console)
    2. RequestMetrics   - count and time each request (when metrics are on)
    3. FaultWrapper     - any unexpected exception becomes a JSON 500
    4. authentication   - noauth2 or keystonemiddleware (root document stays open)
    5. ContextMiddleware - RequestContext from identity headers, 401 without a user
    6. PlacementHandler - microversion, routing, policy, handler
    """
    app: Any = middleware.PlacementHandler(state)
    app = auth.ContextMiddleware(app)
    app = _authentication(state.settings, app)
    app = middleware.FaultWrapper(app)
    if state.metrics is not None:
        app = RequestMetrics(app, state.metrics)
    app = console.mount(app, state.settings)  # /ui/: static assets; the page calls the API
    return health.HealthCheck(app, state.db)


def _authentication(settings: Settings, app: Any) -> Any:
    if settings.auth_strategy == "noauth2":
        return auth.NoAuth2(app)
    from allotment.http import keystone  # optional dependency

    return keystone.wrap(app, settings)
