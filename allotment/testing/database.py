"""Datastores for the test fixture: a migrated SQLite template, copied per fixture.

Running every alembic migration for each test would dominate the fixture's
set-up time, so the first fixture of a process builds one migrated SQLite
file (standard classes and traits included) and every later fixture copies
it: a file copy costs well under a millisecond. A server database named by
URL is upgraded when it is not at head and then emptied. Throwaway databases
on a PostgreSQL or MySQL/MariaDB server are made and dropped here too (our own
tests and benchmarks use them).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import sqlalchemy as sa

from allotment.store import schema
from allotment.store.engine import Database

_TEMPLATE_LOCK = threading.Lock()
_template_path: Path | None = None


def _build_template() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="allotment-template-"))
    path = directory / "template.sqlite"
    db = Database(f"sqlite:///{path}")
    try:
        schema.upgrade(db)
        # Fold the write-ahead log into the main file so one file is a full copy.
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.dispose()
    return path


def template_sqlite() -> Path:
    """The migrated SQLite template of this process (built on first use)."""
    global _template_path
    with _TEMPLATE_LOCK:
        if _template_path is None or not _template_path.exists():
            _template_path = _build_template()
        return _template_path


def fresh_sqlite(directory: Path) -> str:
    """Copy the template into ``directory`` and return its URL."""
    target = directory / "placement.sqlite"
    shutil.copyfile(template_sqlite(), target)
    return f"sqlite:///{target}"


def prepare_existing(db: Database, clear: bool = True) -> None:
    """Bring a database named by URL to head, with standard data and (optionally) no rows."""
    if schema.is_at_head(db):
        schema.sync_standard_data(db)
    else:
        schema.upgrade(db)
    if clear:
        schema.reset_data(db)


def _server_admin(admin_url: str | sa.URL) -> sa.Engine:
    return sa.create_engine(sa.make_url(admin_url), isolation_level="AUTOCOMMIT")


def _drop_statement(dialect: str, name: str) -> str:
    if dialect == "postgresql":
        return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    return f"DROP DATABASE IF EXISTS `{name}`"


def recreate_server_database(admin_url: str | sa.URL, name: str) -> sa.URL:
    """Drop and create database ``name`` on a PostgreSQL or MySQL/MariaDB server.

    ``admin_url`` names any database of that server the user may create
    databases from; the URL of the new, empty database is returned (same
    driver and credentials). ``name`` must be a plain identifier.
    """
    engine = _server_admin(admin_url)
    dialect = engine.dialect.name
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(_drop_statement(dialect, name))
            if dialect == "postgresql":
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                conn.exec_driver_sql(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
    finally:
        engine.dispose()
    return engine.url.set(database=name)


def drop_server_database(admin_url: str | sa.URL, name: str) -> None:
    """Drop database ``name`` (if it exists) from the server ``admin_url`` names."""
    engine = _server_admin(admin_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(_drop_statement(engine.dialect.name, name))
    finally:
        engine.dispose()
