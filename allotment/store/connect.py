"""A ``Database`` opened as ``[placement_database]`` says: pool, session and start-up.

Upstream's options map onto the engine: ``max_pool_size``, ``max_overflow``,
``pool_timeout`` and ``connection_recycle_time`` size the pool,
``connection_parameters`` joins the URL's query string, ``mysql_sql_mode`` is
set on each MySQL session, ``sqlite_synchronous = false`` turns SQLite's
synchronous writes off, ``connection_debug`` logs SQL, and ``max_retries`` /
``retry_interval`` bound how long start-up waits for the database.

A SQLite file is created only when ``create`` is true (writing commands and
the server), with mode 0600; read-only commands get ``DatabaseMissing``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError

from allotment.config import Settings
from allotment.store.engine import Database, normalize_url

LOG = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 20


class DatabaseMissing(Exception):
    """The configured database does not exist (and we were not asked to create it)."""


class BadDatabaseURL(Exception):
    """The connection URL cannot be parsed or names a backend we do not serve."""


def database_url(settings: Settings) -> URL:
    """The URL with ``connection_parameters`` added, as oslo.db adds them."""
    try:
        url = normalize_url(settings.database_url)
    except ArgumentError:
        raise BadDatabaseURL(f"cannot parse database URL {_safe(settings.database_url)}") from None
    if url.get_backend_name() not in ("sqlite", "postgresql", "mysql"):
        raise BadDatabaseURL(
            f"database URL {_safe(settings.database_url)}: backend "
            f"{url.get_backend_name()!r} is not supported (sqlite, postgresql, mysql)"
        )
    if settings.connection_parameters:
        extra = dict(parse_qsl(settings.connection_parameters, keep_blank_values=True))
        url = url.update_query_dict(extra)
    return url


def _safe(url: str) -> str:
    try:
        return repr(sa.make_url(url).render_as_string(hide_password=True))
    except Exception:  # noqa: BLE001 - unparseable: show no credentials at all
        return repr(url.split("@")[-1])


def engine_options(settings: Settings, backend: str) -> dict[str, Any]:
    if backend == "sqlite":
        return {}
    return {
        "pool_size": DEFAULT_POOL_SIZE
        if settings.max_pool_size is None
        else settings.max_pool_size,
        "max_overflow": (
            DEFAULT_MAX_OVERFLOW if settings.max_overflow is None else settings.max_overflow
        ),
        "pool_timeout": 30 if settings.pool_timeout is None else settings.pool_timeout,
        "pool_recycle": settings.connection_recycle_time,
    }


def sqlite_path(url: URL) -> str | None:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return os.path.abspath(database)


def _create_private_file(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)


def open_database(settings: Settings, create: bool = True) -> Database:
    """The ``Database`` for ``settings``; raises DatabaseMissing for an absent
    SQLite file unless ``create``, BadDatabaseURL for a URL we cannot use."""
    url = database_url(settings)
    path = sqlite_path(url)
    if path and not os.path.exists(path):
        if not create:
            raise DatabaseMissing(f"no database at {path}")
        _create_private_file(path)
    db = Database(
        url,
        replica_url=settings.database_slave_url,
        **engine_options(settings, url.get_backend_name()),
    )
    _session_settings(db, settings)
    return db


def _session_settings(db: Database, settings: Settings) -> None:
    if db.backend == "mysql" and settings.mysql_sql_mode:
        mode = settings.mysql_sql_mode

        def _sql_mode(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("SET SESSION sql_mode = %s", [mode])
            cursor.close()

        for engine in (db.engine, db.replica):
            if engine is not None:
                event.listen(engine, "connect", _sql_mode)

    if db.backend == "sqlite" and not settings.sqlite_synchronous:

        @event.listens_for(db.engine, "connect")
        def _synchronous_off(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.close()

    if settings.connection_debug >= 100:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    elif settings.connection_debug >= 50:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)


def wait_until_reachable(
    db: Database,
    max_retries: int,
    retry_interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Connect once, retrying ``max_retries`` times (-1: forever) ``retry_interval``
    seconds apart, as upstream does at start-up; the last error is raised."""
    attempt = 0
    while True:
        try:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return
        except DBAPIError as error:
            if is_missing_database(error) or not _is_connect_error(error):
                raise
            if max_retries != -1 and attempt >= max_retries:
                raise
            attempt += 1
            LOG.warning(
                "database not reachable (%s); attempt %d of %s in %ss",
                " ".join(str(error.orig).split())[:200],
                attempt,
                "unlimited" if max_retries == -1 else max_retries,
                retry_interval,
            )
            sleep(retry_interval)


def is_missing_database(error: DBAPIError) -> bool:
    """PostgreSQL's 'database does not exist' or MySQL's 'Unknown database'."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args = getattr(orig, "args", ())
    return code == "3D000" or bool(args and args[0] == 1049)


def _is_connect_error(error: DBAPIError) -> bool:
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError)
