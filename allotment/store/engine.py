"""Engines and transactions for SQLite, PostgreSQL and MySQL/MariaDB.

``Database.read()`` and ``Database.write()`` are the only ways the rest of the
code opens a transaction. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so that two processes never both read and then fail to
upgrade their lock; on the server databases the provider/consumer generation
compare-and-swap updates give the isolation we need.
"""

from __future__ import annotations

import datetime
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

T = TypeVar("T")

# Drivers we ship; URLs naming another driver of the same database are mapped
# onto these so that an operator's existing placement.conf works unchanged.
_DRIVER_FOR_BACKEND = {"mysql": "pymysql", "mariadb": "pymysql", "postgresql": "psycopg"}

SQLITE_BUSY_TIMEOUT_MS = 30_000
DEADLOCK_RETRIES = 5


def utcnow() -> datetime.datetime:
    """The timestamp stored in created_at/updated_at (naive UTC, as upstream)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def normalize_url(url: str | URL) -> URL:
    """Pick the driver we ship for a URL's backend and default SQLite paths."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend in _DRIVER_FOR_BACKEND and parsed.get_driver_name() != _DRIVER_FOR_BACKEND[backend]:
        parsed = parsed.set(drivername=f"{backend}+{_DRIVER_FOR_BACKEND[backend]}")
    if backend == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def backend_name(url: str | URL) -> str:
    """``sqlite``, ``postgresql`` or ``mysql``."""
    return normalize_url(url).get_backend_name()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event own transaction starts (pysqlite's
        # implicit BEGIN would defer the write lock and cause SQLITE_BUSY).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        try:
            cur.execute("PRAGMA journal_mode = WAL")
        except Exception:  # noqa: BLE001 - in-memory databases have no WAL
            pass
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings each backend needs."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"future": True}
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
        else:
            options["poolclass"] = sa.pool.StaticPool
            options["connect_args"] = {"check_same_thread": False}
    else:
        options.update(pool_pre_ping=True, pool_recycle=3600, pool_size=10, max_overflow=20)
    if backend == "mysql":
        options["isolation_level"] = "READ COMMITTED"
    options.update(kwargs)
    engine = sa.create_engine(parsed, **options)
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


def is_retryable(exc: DBAPIError) -> bool:
    """A deadlock, a lock timeout or a serialization failure: safe to run again."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40001", "40P01"):
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1205, 1213):  # MySQL lock wait timeout, deadlock
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


class Database:
    """One engine and the transactions opened on it."""

    def __init__(self, url: str | URL, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.backend = self.url.get_backend_name()
        self.engine = create_engine(self.url, **engine_kwargs)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reads only."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that writes; committed when the block ends without error."""
        with self.engine.connect() as conn:
            if self.backend == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def run_write(self, fn: Callable[[Connection], T], retries: int = DEADLOCK_RETRIES) -> T:
        """Run ``fn`` in a write transaction, again after a deadlock (bounded)."""
        attempt = 0
        while True:
            try:
                with self.write() as conn:
                    return fn(conn)
            except DBAPIError as exc:
                attempt += 1
                if attempt > retries or not is_retryable(exc):
                    raise
                time.sleep(random.uniform(0.001, 0.01) * attempt)

    def dispose(self) -> None:
        self.engine.dispose()
