"""``Database.read(own_snapshots=True)``: autocommit on PostgreSQL, a transaction elsewhere."""

from __future__ import annotations

import sqlalchemy as sa

from allotment.store.engine import Database


def _in_transaction(conn: sa.Connection) -> bool:
    """Whether the driver's connection is inside a database transaction now."""
    raw = conn.connection.dbapi_connection
    backend = conn.engine.dialect.name
    if backend == "postgresql":
        import psycopg

        return raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS  # type: ignore[union-attr]
    if backend == "mysql":
        return not raw.get_autocommit()  # type: ignore[union-attr]
    return bool(raw.in_transaction)  # type: ignore[union-attr]


def test_own_snapshot_reads_skip_begin_and_commit_on_postgresql(db: Database) -> None:
    with db.read(own_snapshots=True) as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        skipped = not _in_transaction(conn)
    assert skipped == (db.backend == "postgresql")


def test_plain_reads_stay_in_a_transaction_after_an_autocommit_one(db: Database) -> None:
    for _ in range(2):  # the pool hands the same connection back
        with db.read(own_snapshots=True) as conn:
            conn.execute(sa.text("SELECT 1"))
        with db.read() as conn:
            conn.execute(sa.text("SELECT 1"))
            assert _in_transaction(conn)
