"""Pooled connections the database closed behind the pool's back (a restart, an
idle-connection killer): no caller sees the failure, without a ping per checkout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from allotment.app import make_app
from allotment.config import Settings
from allotment.store import engine as engine_mod
from allotment.store.engine import Database
from tests.functional.store.test_allocation import RP_A, make_provider
from tests.functional.store.test_allocation_statements import counting

# SQLite has no server that could drop a connection.
pytestmark = pytest.mark.parametrize("backend_db", ["postgresql", "mysql"], indirect=True)


@pytest.fixture
def server_db(db: Database) -> Iterator[Database]:
    """The test database through an engine (and pool) of its own."""
    own = Database(db.url)
    yield own
    own.dispose()


def _session_id(conn: sa.Connection) -> int:
    postgresql = conn.dialect.name == "postgresql"
    query = "SELECT pg_backend_pid()" if postgresql else "SELECT CONNECTION_ID()"
    return int(conn.exec_driver_sql(query).scalar_one())


def _pool_sessions(db: Database, count: int) -> list[int]:
    """Check ``count`` connections out at once (so the pool holds as many), then in."""
    conns = [db.engine.connect() for _ in range(count)]
    try:
        return [_session_id(conn) for conn in conns]
    finally:
        for conn in conns:
            conn.close()


def _kill(admin: Database, sessions: list[int]) -> None:
    with admin.engine.connect() as conn:
        for session in sessions:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(session)})")
            else:
                conn.exec_driver_sql(f"KILL {int(session)}")
        conn.commit()


def _count_pings(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    dialect = db.engine.dialect
    pings: list[object] = []
    real = dialect.do_ping

    def do_ping(dbapi_conn: object) -> bool:
        pings.append(dbapi_conn)
        return real(dbapi_conn)

    monkeypatch.setattr(dialect, "do_ping", do_ping)
    return pings


def test_a_busy_connection_is_not_pinged(
    server_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pool_sessions(server_db, 1)
    pings = _count_pings(server_db, monkeypatch)
    with counting(server_db) as sent, server_db.read() as conn:
        assert conn.exec_driver_sql("SELECT 2").scalar_one() == 2
    assert sent == ["SELECT 2"]
    assert pings == []


def test_a_request_on_killed_connections_is_answered(db: Database, server_db: Database) -> None:
    make_provider(server_db, RP_A, VCPU={"total": 8})
    settings = Settings(database_url=server_db.url.render_as_string(hide_password=False))
    app = make_app(settings, db=server_db, prepare=False)
    _kill(db, _pool_sessions(server_db, 3))
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/resource_providers/{RP_A}",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "HTTP_X_AUTH_TOKEN": "admin",
    }
    body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    assert status == ["200 OK"], body
    assert RP_A.encode() in body


def test_an_idle_killed_connection_is_replaced_at_checkout(
    db: Database, server_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = _pool_sessions(server_db, 2)
    _kill(db, sessions)
    monkeypatch.setattr(engine_mod, "PING_IDLE_SECONDS", 0.0)
    pings = _count_pings(server_db, monkeypatch)
    # Outside any request (the health check, a command): no replay to lean on.
    for _ in range(2):
        with server_db.read() as conn:
            assert _session_id(conn) not in sessions
    assert pings
