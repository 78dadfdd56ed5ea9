"""What a PostgreSQL session of ours runs with (``store.engine.create_engine``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from allotment.store.engine import Database
from tests import databases


def test_postgresql_sessions_never_compile_statements(tmp_path: Path, worker_id_safe: str) -> None:
    """JIT off in our sessions, the server's own default being on."""
    # Dropped with the other databases this process created, when the session ends.
    name = databases.database_name(worker_id_safe) + "_jit"
    db = Database(databases.create_database("postgresql", name, tmp_path))
    try:
        with db.read() as conn:
            assert conn.execute(sa.text("SHOW jit")).scalar() == "off"
            server_default = conn.execute(
                sa.text("SELECT boot_val FROM pg_settings WHERE name = 'jit'")
            ).scalar()
        assert server_default == "on"  # so the session's "off" is ours
    finally:
        db.dispose()
