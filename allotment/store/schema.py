"""Schema management: upgrade, current revision, stamp, and standard data sync.

Thin wrappers over alembic so the CLI, the app start-up and the test fixture
share one code path. The standard resource classes and traits are synced
right after every upgrade and at every start, so they always exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from allotment.store import changes, standard
from allotment.store import tables as t
from allotment.store.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Upstream placement's alembic revisions, oldest first; its head is our baseline's schema.
UPSTREAM_REVISIONS = (
    "b4ed3a175331",
    "611cd6dffd7b",
    "b5c396305c25",
    "422ece571366",
    "a082b8bb98d0",
)
ADOPT_HINT = "run `allotment db adopt` (placement-manage: same) to take it over"


class SchemaNotReady(Exception):
    """The database's schema is not the one this code needs; says what to run."""


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(_config_without_db())
    return {rev.revision for rev in script.walk_revisions()}


def problem(db: Database) -> str | None:
    """Why the schema cannot be served as it is, or None when it is at head."""
    current = current_revision(db)
    if current == head_revision():
        return None
    if current in UPSTREAM_REVISIONS[:-1]:
        return (
            f"this is an upstream placement database at an older revision ({current}): "
            "run `allotment db import` from it, or upstream's `placement-manage db sync` "
            "then `allotment db adopt`"
        )
    if current in UPSTREAM_REVISIONS:
        return f"this is an upstream placement database (revision {current}): {ADOPT_HINT}"
    if current is None:
        with db.engine.connect() as conn:
            if sa.inspect(conn).has_table("resource_providers"):
                return f"the database has placement tables but no schema revision: {ADOPT_HINT}"
        return "the database has no schema: run `allotment db upgrade`"
    if current not in known_revisions():
        return f"the schema is at {current}, a revision this version does not know"
    return f"the schema is at {current}, this version needs {head_revision()}: " + (
        "run `allotment db upgrade`"
    )


def refuse_upstream(conn: Connection) -> None:
    """Raise SchemaNotReady for an upstream placement database not yet adopted
    (call it holding the schema lock: another worker may be mid-upgrade)."""
    current = MigrationContext.configure(conn).get_current_revision()
    if current in UPSTREAM_REVISIONS:
        raise SchemaNotReady(
            f"this is an upstream placement database (revision {current}): {ADOPT_HINT}"
        )
    if current is None and sa.inspect(conn).has_table("resource_providers"):
        raise SchemaNotReady(
            f"the database has placement tables but no schema revision: {ADOPT_HINT}"
        )


def _alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # alembic's config is a ConfigParser: "%" (URL-encoded passwords, the
    # failover host list) must be doubled.
    url = db.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(_config_without_db())
    head = script.get_current_head()
    assert head is not None
    return head


def _config_without_db() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# MySQL's GET_LOCK names are server-wide: the database name keeps them apart.
_LOCK_NAME = "allotment-schema-{}"
# PostgreSQL advisory locks are per database; any fixed 64-bit key will do.
_PG_LOCK_KEY = 0x616C6C6F746D6E74  # "allotmnt"
LOCK_TIMEOUT_SECONDS = 600


@contextmanager
def schema_lock(db: Database) -> Iterator[Connection]:
    """A connection holding the database-wide schema lock, in a transaction that
    commits when the block ends: PostgreSQL ``pg_advisory_xact_lock``, MySQL
    ``GET_LOCK`` (session lock, released at the end), SQLite ``BEGIN EXCLUSIVE``.
    Any number of workers or hosts may upgrade at once: one does the work, the
    others wait, then find the schema at head and do nothing."""
    with db.engine.connect() as conn:
        if db.backend == "sqlite":
            conn = conn.execution_options(sqlite_begin="EXCLUSIVE")
            with conn.begin():
                yield conn
            return
        if db.backend == "mysql":
            name = _LOCK_NAME.format(db.url.database)[:64]
            got = conn.exec_driver_sql(
                "SELECT GET_LOCK(%s, %s)", (name, LOCK_TIMEOUT_SECONDS)
            ).scalar()
            conn.commit()
            if got != 1:
                raise TimeoutError(f"could not take the schema lock {name!r}")
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
                conn.commit()
            return
        with conn.begin():
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield conn


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` and sync the standard classes and traits,
    under the database-wide schema lock."""
    config = _alembic_config(db)
    with schema_lock(db) as conn:
        refuse_upstream(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        if revision == "head":
            standard.sync(conn)


def stamp(db: Database, revision: str) -> None:
    if revision not in known_revisions() and revision not in ("head", "base"):
        raise SchemaNotReady(
            f"unknown revision {revision!r}; known: {', '.join(sorted(known_revisions()))}"
        )
    config = _alembic_config(db)
    with schema_lock(db) as conn:
        config.attributes["connection"] = conn
        command.stamp(config, revision)


def is_at_head(db: Database) -> bool:
    return current_revision(db) == head_revision()


def sync_standard_data(db: Database) -> None:
    """Insert the standard resource classes and traits that are missing (under the
    schema lock, so workers starting together do not insert the same rows)."""
    with schema_lock(db) as conn:
        standard.sync(conn)


def reset_data(db: Database) -> None:
    """Delete every row but the standard classes and traits (fast test isolation)."""
    db.run_write(delete_data)


def delete_data(conn: Connection) -> None:
    """Delete every row but the standard classes and traits, in the caller's transaction."""

    # Break the provider self-references first: MySQL checks them row by row.
    conn.execute(
        sa.update(t.resource_providers).values(parent_provider_id=None, root_provider_id=None)
    )
    for table in t.DATA_TABLES_DELETE_ORDER:
        if table is t.traits:
            conn.execute(sa.delete(t.traits).where(t.traits.c.name.like("CUSTOM\\_%", escape="\\")))
        elif table is t.resource_classes:
            conn.execute(
                sa.delete(t.resource_classes).where(
                    t.resource_classes.c.id >= standard.FIRST_CUSTOM_RESOURCE_CLASS_ID
                )
            )
        else:
            conn.execute(sa.delete(table))
    # The feed keeps its rows (readers track ids); one row tells them to reload.
    changes.record_all(conn)
