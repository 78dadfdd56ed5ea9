"""``make_app(settings)``: the WSGI application, composed in one place."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from allotment import console
from allotment.config import Settings
from allotment.http import auth, cors, health, middleware
from allotment.http.policy import Enforcer
from allotment.store import schema
from allotment.store.engine import Database

LOG = logging.getLogger(__name__)


@dataclass
class AppState:
    """What every request may use: settings, the database and the policy enforcer."""

    settings: Settings
    db: Database
    enforcer: Enforcer


def prepare_database(settings: Settings, db: Database) -> None:
    """Upgrade the schema when configured to, then sync standard classes and traits."""
    if settings.sync_on_startup:
        schema.upgrade(db)
    else:
        schema.sync_standard_data(db)


def check_settings(settings: Settings) -> None:
    """Refuse, before serving or forking workers, what make_app would refuse:
    a broken policy file, or keystone auth that cannot be configured."""
    Enforcer.from_settings(settings)
    if settings.auth_strategy == "keystone":
        from allotment.http import keystone  # optional dependency

        keystone.check(settings)


def make_app(settings: Settings, db: Database | None = None, prepare: bool = True) -> Any:
    """Build the WSGI app. A request passes the layers top to bottom:

    1. RequestLog       - request id (and caller's global id), one access log line
    2. CORS             - only when [cors] allowed_origin is set; answers preflights
    3. HealthCheck      - GET /healthcheck, no token, no microversion
    3b. Console         - GET /ui/: static console assets, no token ([allotment] console)
    4. FaultWrapper     - any unexpected exception becomes a JSON 500
    5. authentication   - noauth2 or keystonemiddleware (root document stays open)
    6. ContextMiddleware - RequestContext from identity headers, 401 without a user
    7. PlacementHandler - microversion, routing, policy, handler

    A broken policy file raises ``PolicyFileError`` here, before serving.
    """
    enforcer = Enforcer.from_settings(settings)
    db = db or Database(settings.database_url, replica_url=settings.database_slave_url)
    if prepare:
        prepare_database(settings, db)
    state = AppState(settings=settings, db=db, enforcer=enforcer)
    app: Any = middleware.PlacementHandler(state)
    app = auth.ContextMiddleware(app)
    app = _authentication(settings, app)
    app = middleware.FaultWrapper(app)
    app = console.mount(app, settings)  # /ui/: static assets; the page calls the API below
    app = health.HealthCheck(app, db)
    app = cors.wrap(app, settings)
    app = middleware.RequestLog(app, settings.access_log, settings.log_format == "json")
    app.state = state
    return app


def _authentication(settings: Settings, app: Any) -> Any:
    if settings.auth_strategy == "noauth2":
        return auth.NoAuth2(app)
    from allotment.http import keystone  # optional dependency

    return keystone.wrap(app, settings)
