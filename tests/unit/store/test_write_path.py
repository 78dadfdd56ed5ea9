"""The write path's retry policy, on an in-memory SQLite database and fake errors."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from allotment import exceptions as exc
from allotment.store import engine
from allotment.store.engine import Database, RetryPolicy, is_connection_lost, is_retryable


class MySQLError(Exception):
    pass


def _mysql(code: int) -> OperationalError:
    return OperationalError("COMMIT", {}, MySQLError(code, "message"))


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_pause", lambda attempt: None)


@pytest.fixture
def db() -> Database:
    database = Database("sqlite://")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    return database


def _count(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM t")).scalar_one()


def test_error_classes() -> None:
    assert is_retryable(_mysql(1213)) and is_retryable(_mysql(1205))
    assert not is_retryable(_mysql(2013))
    assert is_connection_lost(_mysql(2013)) and is_connection_lost(_mysql(1047))
    assert not is_connection_lost(_mysql(1213))


def test_deadlocks_and_certification_failures_are_retried(db: Database) -> None:
    calls = []

    def work(conn: Connection) -> str:
        calls.append(1)
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        if len(calls) < 3:
            raise _mysql(1213)  # Galera reports a certification failure so
        return "done"

    assert db.run_write(work) == "done"
    assert len(calls) == 3
    assert _count(db) == 1  # the failed attempts were rolled back


def test_deadlocks_without_end_become_a_concurrent_update(db: Database) -> None:
    calls = []

    def work(conn: Connection) -> None:
        calls.append(1)
        raise _mysql(1213)

    with pytest.raises(exc.ConcurrentUpdate):
        db.run_write(work, policy=RetryPolicy(deadlock_retries=2))
    assert len(calls) == 3


def test_a_lost_connection_is_retried_once_then_unavailable(db: Database) -> None:
    calls = []

    def work(conn: Connection) -> None:
        calls.append(1)
        raise _mysql(2013)

    with pytest.raises(exc.DatabaseUnavailable) as caught:
        db.run_write(work)
    assert not isinstance(caught.value, exc.ConnectionLost)
    assert len(calls) == 2


def test_generation_conflicts_only_where_the_policy_allows(db: Database) -> None:
    calls = []

    def work(conn: Connection) -> None:
        calls.append(1)
        raise exc.ResourceProviderConcurrentUpdate("lost")

    policy = RetryPolicy(conflicts=(exc.ResourceProviderConcurrentUpdate,), conflict_retries=4)
    with pytest.raises(exc.ResourceProviderConcurrentUpdate):
        db.run_write(work, policy=policy)
    assert len(calls) == 5
    calls.clear()
    with pytest.raises(exc.ResourceProviderConcurrentUpdate):
        db.run_write(work)  # the default policy retries no generation conflict
    assert len(calls) == 1


def test_replay_runs_a_request_again_only_when_nothing_committed(db: Database) -> None:
    calls: list[int] = []

    def handler_failing_before_commit() -> str:
        calls.append(1)
        with db.write() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            if len(calls) == 1:
                raise _mysql(2013)
        return "ok"

    assert db.replay(handler_failing_before_commit) == "ok"
    assert len(calls) == 2 and _count(db) == 1

    def handler_failing_after_a_commit() -> None:
        with db.write() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        with db.write():
            raise _mysql(2013)

    with pytest.raises(exc.ConnectionLost):
        db.replay(handler_failing_after_a_commit)
    assert _count(db) == 2  # not run twice: its first transaction had committed


def test_replay_does_not_multiply_the_write_paths_retries(db: Database) -> None:
    calls: list[Any] = []

    def work(conn: Connection) -> None:
        calls.append(1)
        raise _mysql(1213)

    with pytest.raises(exc.ConcurrentUpdate):
        db.replay(lambda: db.run_write(work, policy=RetryPolicy(deadlock_retries=1)))
    assert len(calls) == 2


def test_several_hosts_need_a_server_database() -> None:
    with pytest.raises(ValueError, match="MySQL and PostgreSQL"):
        Database("sqlite://a:1,b:2/x")
