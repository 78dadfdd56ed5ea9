"""Online backup of the embedded SQLite database, safe while the API serves.

SQLite's online backup API copies the database page by page inside one read
transaction; with the write-ahead log the API keeps writing meanwhile and the
copy is the database as of the moment the copy began. The copy goes to a
temporary file next to the target, is checked (``PRAGMA integrity_check``)
and then renamed into place, so a target never holds half a backup.
PostgreSQL and MySQL/MariaDB are backed up with their own tools
(``pg_dump``, ``mysqldump``/``mariadb-dump``; see docs/scale-out.md).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from allotment.store.engine import Database


class BackupError(Exception):
    """The backup could not be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    revision: str | None


def backup_sqlite(db: Database, target: Path) -> BackupResult:
    """Copy ``db`` (a SQLite file) to ``target`` through the online backup API."""
    if db.backend != "sqlite":
        raise BackupError(
            f"db backup copies the embedded SQLite database; for {db.backend} use "
            + ("pg_dump" if db.backend == "postgresql" else "mysqldump/mariadb-dump")
            + " (docs/scale-out.md)"
        )
    source_path = db.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    if not os.path.exists(source_path):
        raise BackupError(f"database file not found: {source_path}")
    target = target.absolute()
    if target == Path(source_path).absolute():
        raise BackupError("the backup target is the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"directory not found: {target.parent}")
    partial = target.with_name(f".{target.name}.partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        destination = sqlite3.connect(partial)
        try:
            # pages=-1: one step, one read snapshot; writers go on (WAL).
            source.backup(destination, pages=-1)
            destination.execute("PRAGMA journal_mode = DELETE")
            check = destination.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
            revision = _revision(destination)
        finally:
            destination.close()
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"backup failed: {error}") from error
    finally:
        source.close()
        if partial.exists():
            partial.unlink()
    return BackupResult(target, target.stat().st_size, revision)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None
