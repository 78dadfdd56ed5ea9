"""Per-worker test databases on SQLite, PostgreSQL and MySQL/MariaDB.

Each pytest-xdist worker of each checkout gets databases of its own, so
parallel runs never share state. With ``CI`` set, an unreachable server is
a failure; locally it is a skip that says what is missing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from allotment.store import schema
from allotment.store.engine import Database
from allotment.testing.database import drop_server_database, recreate_server_database

BACKENDS = ("sqlite", "postgresql", "mysql")
ADMIN_URLS = {
    "postgresql": os.environ.get(
        "ALLOTMENT_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("ALLOTMENT_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def database_name(worker: str) -> str:
    checkout = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]
    return f"allot_{checkout}_{worker}"


def _unreachable(backend: str, error: Exception) -> None:
    message = f"{backend} at {ADMIN_URLS[backend]} is unreachable: {error}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def create_database(backend: str, name: str, tmp_dir: Path) -> str:
    """Create an empty database for ``backend`` and return its URL."""
    if backend == "sqlite":
        path = tmp_dir / f"{name}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    try:
        url = recreate_server_database(ADMIN_URLS[backend], name)
    except sa.exc.OperationalError as error:
        _unreachable(backend, error)
    _CREATED.add((backend, name))
    return url.render_as_string(hide_password=False)


# Server databases this process created; tests/conftest.py drops them when the
# session (of each xdist worker) ends, so a run leaves nothing on the servers.
_CREATED: set[tuple[str, str]] = set()


def drop_created() -> list[str]:
    """Drop every server database this process created; return the ones that failed."""
    failures = []
    for backend, name in sorted(_CREATED):
        try:
            drop_server_database(ADMIN_URLS[backend], name)
        except sa.exc.SQLAlchemyError as error:
            failures.append(f"{backend} {name}: {error}")
    _CREATED.clear()
    return failures


def fresh_database(backend: str, worker: str, tmp_dir: Path, upgrade: bool = True) -> Database:
    url = create_database(backend, database_name(worker) + f"_{backend[:2]}", tmp_dir)
    db = Database(url)
    if upgrade:
        schema.upgrade(db)
    return db
