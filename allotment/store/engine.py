"""Engines and transactions for SQLite, PostgreSQL and MySQL/MariaDB/Galera.

``Database.read()``, ``Database.write()`` and ``Database.run_write()`` are the
only ways the rest of the code opens a transaction. ``run_write`` is the
write path: one retry policy (``RetryPolicy``) for lost generation races
where the API allows a retry, deadlocks, serialization failures, Galera
certification failures (deadlock errors on COMMIT) and a connection lost
before commit. ``replay`` applies the same policy to a whole HTTP request
whose handler opened ``write()`` itself, when nothing of it was committed.

A connection URL may name several hosts (``store/hosts.py``): the engine
connects to the first usable one. A connection that cannot be re-established
raises ``exceptions.DatabaseUnavailable`` (HTTP 503).

On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so that two
processes never both read and then fail to upgrade their lock; on the server
databases the provider/consumer generation compare-and-swap updates give the
isolation we need.
"""

from __future__ import annotations

import datetime
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from allotment import exceptions as exc
from allotment.store import hooks
from allotment.store.hosts import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEAD_SECONDS,
    FAILOVER_PARAMS,
    HOSTS_PARAM,
    Host,
    HostPicker,
    HostsError,
    libpq_hosts,
    mysql_creator,
    parse_host_list,
    split_hosts,
)

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Drivers we ship; URLs naming another driver of the same database are mapped
# onto these so that an operator's existing placement.conf works unchanged.
_DRIVER_FOR_BACKEND = {"mysql": "pymysql", "mariadb": "pymysql", "postgresql": "psycopg"}

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled connection unused for longer than this is tested before it is handed out.
PING_IDLE_SECONDS = 10.0
_IDLE_SINCE = "allotment_idle_since"
# Galera reports every certification conflict as a deadlock: with several
# nodes written at once they come in bursts, hence more than a handful.
DEADLOCK_RETRIES = 10
RECONNECT_RETRIES = 1


def utcnow() -> datetime.datetime:
    """The timestamp stored in created_at/updated_at (naive UTC, as upstream)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def normalize_url(url: str | URL) -> URL:
    """Pick the driver we ship for a URL's backend and default SQLite paths.

    A URL string naming several hosts comes back with the first host and the
    whole list in the ``failover_hosts`` query parameter (see ``store/hosts.py``).
    """
    if isinstance(url, str):
        first, hosts = split_hosts(url)
        parsed = make_url(first)
        if len(hosts) > 1:
            parsed = parsed.update_query_dict({HOSTS_PARAM: ",".join(str(h) for h in hosts)})
    else:
        parsed = url
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


# PostgreSQL compiles a statement to machine code (JIT) when its estimated
# cost passes ``jit_above_cost``, which costs milliseconds on every run. Our
# statements are short and indexed, but a prepared generic plan estimates a
# third of a table for ``id > $1``: once the change feed grew past about
# 30,000 rows, with no statistics (autovacuum off), the model's poll was
# compiled on every candidate request: 6.4 ms a poll instead of 0.25. An operator's own
# ``options`` in the URL come after ours, so they can turn it back on.
NO_JIT = "-c jit=off"


def _without_jit(url: URL, connect_args: dict[str, Any]) -> dict[str, Any]:
    given = connect_args.get("options") or url.query.get("options")
    if isinstance(given, tuple):
        given = " ".join(given)
    return {**connect_args, "options": f"{NO_JIT} {given}" if given else NO_JIT}


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
        options.update(pool_recycle=3600, pool_size=10, max_overflow=20)
    if backend == "mysql":
        options["isolation_level"] = "READ COMMITTED"
    options.update(kwargs)
    if backend == "postgresql":
        options["connect_args"] = _without_jit(parsed, options.get("connect_args", {}))
    engine = sa.create_engine(parsed, **options)
    if backend == "sqlite":
        _configure_sqlite(engine)
    elif not options.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Test a pooled connection at checkout when it sat unused for a while.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout,
    that is on every request. A connection in steady use needs none: if the
    database went away meanwhile, the first statement fails, the pool drops
    every connection older than that failure, and the request, having
    committed nothing, runs again on a fresh one (``Database.replay``). A
    connection idle for longer, the likely survivor of a restart nobody has
    noticed yet, is pinged, so that callers outside a request (the health
    check, commands, the model's warm-up) do not see the first failure.
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping may have opened a transaction
        except dialect.loaded_dbapi.Error as error:
            # The pool replaces the connection and checks out again.
            raise sa.exc.DisconnectionError(f"stale pooled connection: {error}") from error


# MySQL/MariaDB error numbers: lock wait timeout, deadlock (also Galera's
# certification failure, reported on COMMIT).
_MYSQL_RETRY = frozenset((1205, 1213))
# The server cannot serve this connection: a Galera node that is not synced
# (1047), a connection killed by a shutting-down server (1927), "can't
# connect" (2002, 2003), server gone / lost during query (2006, 2013).
_MYSQL_LOST = frozenset((1047, 1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031))
# PostgreSQL: serialization failure, deadlock; admin/crash shutdown, cannot
# connect now (starting up / shutting down), connection exceptions.
_PG_RETRY = frozenset(("40001", "40P01"))
_PG_LOST_PREFIXES = ("57P0", "08")


def _mysql_errno(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_retryable(exc: DBAPIError) -> bool:
    """A deadlock, a lock timeout, a serialization or Galera certification
    failure: the transaction was rolled back and is safe to run again."""
    if _sqlstate(exc) in _PG_RETRY or _mysql_errno(exc) in _MYSQL_RETRY:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def is_connection_lost(exc: DBAPIError) -> bool:
    """The connection (or the database host behind it) is gone or unusable."""
    if exc.connection_invalidated or _mysql_errno(exc) in _MYSQL_LOST:
        return True
    state = _sqlstate(exc)
    if state and state.startswith(_PG_LOST_PREFIXES):
        return True
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How often the write path runs a failed transaction again.

    * ``conflicts``: exceptions that mean a lost generation race the caller
      may retry (only where the API allows it: the client did not pass the
      generation itself), at most ``conflict_retries`` times;
    * deadlocks, lock timeouts, serialization and Galera certification
      failures, at most ``deadlock_retries`` times;
    * a connection lost before commit, at most ``reconnect_retries`` times,
      on a fresh connection (another host when several are configured).
    """

    conflicts: tuple[type[Exception], ...] = ()
    conflict_retries: int = 0
    deadlock_retries: int = DEADLOCK_RETRIES
    reconnect_retries: int = RECONNECT_RETRIES


DEFAULT_POLICY = RetryPolicy()


class _Scope:
    """What one request (or one ``run_write``) committed, for the replay decision."""

    __slots__ = ("commits",)

    def __init__(self) -> None:
        self.commits = 0


_SCOPE: ContextVar[_Scope | None] = ContextVar("allotment_db_scope", default=None)
_RETRIED = "_allotment_retried"


def _pause(attempt: int) -> None:
    # Exponential backoff with full jitter, capped at 100 ms: writers that
    # collided spread out instead of colliding again in lock-step.
    time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))


def _attempts(
    fn: Callable[[], T], policy: RetryPolicy, label: str, replayable: Callable[[], bool]
) -> T:
    """Run ``fn`` until it succeeds or ``policy`` says stop; ``replayable()``
    says whether running it again is safe (nothing committed meanwhile)."""
    conflicts = deadlocks = reconnects = 0
    while True:
        try:
            return fn()
        except policy.conflicts as error:
            if getattr(error, _RETRIED, False) or not replayable():
                raise
            conflicts += 1
            if conflicts > policy.conflict_retries:
                setattr(error, _RETRIED, True)
                raise
            hooks.write_retried("generation_conflict")
        except exc.ConnectionLost as error:
            if getattr(error, _RETRIED, False) or not replayable():
                raise
            reconnects += 1
            if reconnects > policy.reconnect_retries:
                LOG.warning("%s: database unavailable, answering 503: %s", label, error)
                raise exc.DatabaseUnavailable(str(error)) from error
            LOG.info("%s: database connection lost before commit, running again", label)
            hooks.write_retried("connection_lost")
            continue  # at once: the pool was invalidated, the next host is tried
        except DBAPIError as error:
            if not is_retryable(error) or getattr(error, _RETRIED, False) or not replayable():
                raise
            deadlocks += 1
            if deadlocks > policy.deadlock_retries:
                raise exc.ConcurrentUpdate(
                    f"{label}: the database kept reporting conflicting concurrent "
                    f"writes (deadlock or certification failure); try again: {error.orig}"
                ) from error
            hooks.write_retried("deadlock")
        LOG.debug(
            "%s write retried (provider races %d, deadlocks %d, reconnects %d)",
            label,
            conflicts,
            deadlocks,
            reconnects,
        )
        _pause(conflicts + deadlocks + reconnects)


class Database:
    """The engine (or engines: primary and optional replica) and every transaction.

    ``run_write(fn)`` is the write path: every write transaction that can be
    run again goes through it and its one retry policy. ``write()`` opens
    one write transaction for code that cannot be re-run by itself (HTTP
    handlers); ``replay(fn)`` wraps a whole request so that a request whose
    transaction failed before commit, with nothing committed by it yet, is
    run again under the same policy.
    """

    def __init__(
        self, url: str | URL, replica_url: str | URL | None = None, **engine_kwargs: Any
    ) -> None:
        self.engine, self.url, self.hosts = _engine_for(url, engine_kwargs)
        self.backend = self.url.get_backend_name()
        self.replica: Engine | None = None
        if replica_url:
            self.replica, _, _ = _engine_for(replica_url, engine_kwargs)

    # --- transactions ---------------------------------------------------------------

    def _checkout(self, engine: Engine) -> Connection:
        try:
            return engine.connect()
        except DBAPIError as error:
            if is_connection_lost(error) or isinstance(error, OperationalError):
                raise exc.ConnectionLost(f"database unreachable: {error.orig}") from error
            raise

    @contextmanager
    def read(self, replica: bool = False, own_snapshots: bool = False) -> Iterator[Connection]:
        """A transaction for reads only; on the replica when asked and configured.

        ``own_snapshots``: the caller's statements need no snapshot in common
        (the candidate search: its model polls the change feed and reloads
        trees, each read valid on its own). On PostgreSQL they then run in
        autocommit, which READ COMMITTED amounts to for reads, without the
        BEGIN and COMMIT round trips: two of the four a claim's candidate
        request made. Elsewhere it changes nothing: MySQL's driver would
        spend as many round trips switching to autocommit and back, and
        SQLite's transaction costs none.
        """
        engine = self.replica if replica and self.replica is not None else self.engine
        with self._checkout(engine) as conn:
            if own_snapshots and engine.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                with conn.begin():
                    yield conn
            except DBAPIError as error:
                if is_connection_lost(error):
                    raise exc.ConnectionLost(f"database connection lost: {error.orig}") from error
                raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that writes; committed when the block ends without error.

        A connection lost before COMMIT raises ``ConnectionLost`` (nothing was
        written: safe to run again); lost during COMMIT, the outcome is unknown
        and ``DatabaseUnavailable`` is raised.
        """
        with self._checkout(self.engine) as conn:
            if self.backend == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            try:
                trans = conn.begin()
            except DBAPIError as error:
                if is_connection_lost(error):
                    raise exc.ConnectionLost(f"database connection lost: {error.orig}") from error
                raise
            try:
                yield conn
            except BaseException as error:
                _rollback_quietly(trans)
                if isinstance(error, DBAPIError) and is_connection_lost(error):
                    raise exc.ConnectionLost(f"database connection lost: {error.orig}") from error
                raise
            try:
                trans.commit()
            except DBAPIError as error:
                if is_connection_lost(error) and not is_retryable(error):
                    raise exc.DatabaseUnavailable(
                        f"database connection lost during commit, outcome unknown: {error.orig}"
                    ) from error
                raise
            scope = _SCOPE.get()
            if scope is not None:
                scope.commits += 1

    def run_write(
        self,
        fn: Callable[[Connection], T],
        retries: int = DEADLOCK_RETRIES,
        policy: RetryPolicy | None = None,
        label: str = "database",
    ) -> T:
        """THE write path: ``fn`` in a write transaction, run again as ``policy`` allows."""
        policy = policy or RetryPolicy(deadlock_retries=retries)

        def once() -> T:
            with self.write() as conn:
                return fn(conn)

        try:
            # Each attempt is a transaction of its own that failed before commit:
            # running it again is safe whatever the request committed before.
            return _attempts(once, policy, label, lambda: True)
        except Exception as error:
            # Already retried here: the request-level replay must not multiply it.
            with suppress(AttributeError, TypeError):
                setattr(error, _RETRIED, True)
            raise

    def replay(self, fn: Callable[[], T], label: str = "request") -> T:
        """Run a whole request; again (as ``DEFAULT_POLICY`` allows) when a
        transaction of it failed before commit and it has committed nothing."""
        scope = _Scope()
        token = _SCOPE.set(scope)
        try:
            return _attempts(fn, DEFAULT_POLICY, label, lambda: scope.commits == 0)
        finally:
            _SCOPE.reset(token)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()


def _rollback_quietly(trans: Any) -> None:
    try:
        if trans.is_active:
            trans.rollback()
    except DBAPIError:
        pass  # the connection is gone; the server rolled back already


def url_hosts(url: URL) -> list[Host]:
    """Every host a normalized URL names (none for SQLite)."""
    listed = _query_value(url, HOSTS_PARAM, "")
    if listed:
        return parse_host_list(listed)
    return [Host(url.host, url.port)] if url.host else []


def _engine_for(url: str | URL, engine_kwargs: dict[str, Any]) -> tuple[Engine, URL, list[Host]]:
    """An engine for a one- or many-host URL, the URL (hosts list included) and the hosts."""
    logical = normalize_url(url)
    hosts = url_hosts(logical)
    mode = _query_value(logical, "failover", "order")
    dead_text = _query_value(logical, "failover_dead_seconds", str(DEFAULT_DEAD_SECONDS))
    parsed = logical.difference_update_query(FAILOVER_PARAMS)
    if len(hosts) <= 1:
        return create_engine(parsed, **engine_kwargs), logical, hosts
    backend = parsed.get_backend_name()
    kwargs = dict(engine_kwargs)
    if backend == "postgresql":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.update(libpq_hosts(hosts))
        if "target_session_attrs" not in parsed.query:
            connect_args["target_session_attrs"] = "read-write"
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
        engine_url = parsed.set(host=None, port=None)
        return create_engine(engine_url, connect_args=connect_args, **kwargs), logical, hosts
    if backend != "mysql":
        raise HostsError("several database hosts are supported on MySQL and PostgreSQL only")
    try:
        dead_seconds = float(dead_text)
    except ValueError:
        raise HostsError(f"failover_dead_seconds: {dead_text!r} is not a number") from None
    picker = HostPicker(hosts, mode, dead_seconds)
    dialect = create_engine(parsed, **kwargs).dialect  # no connection made
    _, connect_kwargs = dialect.create_connect_args(parsed)
    connect_kwargs.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    creator = mysql_creator(picker, dialect.loaded_dbapi.connect, dict(connect_kwargs), LOG.warning)
    return create_engine(parsed, creator=creator, **kwargs), logical, hosts


def _query_value(url: URL, name: str, default: str) -> str:
    value = url.query.get(name, default)
    return value if isinstance(value, str) else value[-1]
