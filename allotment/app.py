"""``make_app(settings)``: the WSGI application, composed in one place."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from allotment.config import Settings
from allotment.http import auth, middleware
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


def make_app(settings: Settings, db: Database | None = None, prepare: bool = True) -> Any:
    """Build the WSGI app. A request passes the layers top to bottom:

    1. RequestLog      - request id on every response, one access log line
    2. FaultWrapper    - any unexpected exception becomes a JSON 500
    3. authentication  - noauth2 or keystonemiddleware, then the request context
    4. PlacementHandler - microversion, routing, policy, handler
    """
    db = db or Database(settings.database_url)
    if prepare:
        prepare_database(settings, db)
    state = AppState(settings=settings, db=db, enforcer=Enforcer(settings.enforce_new_defaults))
    app: Any = middleware.PlacementHandler(state)
    app = auth.ContextMiddleware(app, middleware.unauthorized_app)
    app = _authentication(settings, app)
    app = middleware.FaultWrapper(app)
    app = middleware.RequestLog(app, settings.access_log, settings.log_format == "json")
    app.state = state
    return app


def _authentication(settings: Settings, app: Any) -> Any:
    if settings.auth_strategy == "noauth2":
        return auth.NoAuth2(app, middleware.unauthorized_app)
    from allotment.http import keystone  # optional dependency

    return keystone.wrap(app, settings)
