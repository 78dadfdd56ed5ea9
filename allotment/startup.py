"""What the server and the WSGI application do before serving: say what they
run with, warn about what is unsafe or ignored, and reach the database."""

from __future__ import annotations

import logging

from sqlalchemy.engine import make_url

from allotment.config import Settings
from allotment.store.connect import open_database, wait_until_reachable
from allotment.store.engine import Database

LOG = logging.getLogger("allotment.startup")

NOAUTH2_WARNING = (
    "auth_strategy is noauth2: there is NO authentication, any caller can act as "
    "admin by sending the token 'admin'. Set [api] auth_strategy = keystone for "
    "anything but a private test."
)


def announce(settings: Settings, conf: object | None = None) -> None:
    """Log the files read, every ignored option by name, and the noauth2 danger."""
    if settings.config_files:
        LOG.info("configuration read from %s", ", ".join(settings.config_files))
    elif settings.embedded:
        LOG.warning(
            "no placement.conf found: embedded defaults (noauth2, schema upgraded on "
            "start, database %s)",
            "the SQLite file in the data directory"
            if not settings.database_url
            else _safe_url(settings.database_url),
        )
    for notice in settings.notices:
        LOG.warning("%s", notice)
    if settings.auth_strategy == "noauth2":
        LOG.warning("%s", NOAUTH2_WARNING)
    if settings.log_options:
        for name in sorted(settings.__dataclass_fields__):
            if name in ("sections", "notices", "database_url", "database_slave_url"):
                continue
            LOG.debug("option %s = %r", name, getattr(settings, name))


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is reported later
        return "(unparseable URL)"


def open_for_serving(settings: Settings, wait: bool = True) -> Database:
    """The database, created (mode 0600 for SQLite) only when the schema is to be
    upgraded on start; waits for it as ``max_retries``/``retry_interval`` say."""
    db = open_database(settings, create=settings.sync_on_startup)
    if wait:
        wait_until_reachable(db, settings.max_retries, settings.retry_interval)
    return db
