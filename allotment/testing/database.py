"""Datastores for the test fixture: a migrated SQLite template, copied per fixture.

Running every alembic migration for each test would dominate the fixture's
set-up time, so the first fixture of a process builds one migrated SQLite
file (standard classes and traits included) and every later fixture copies
it: a file copy costs well under a millisecond. A server database named by
URL is upgraded when it is not at head and then emptied.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

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
