"""Schema management: upgrade, current revision, stamp, and standard data sync.

Thin wrappers over alembic so the CLI, the app start-up and the test fixture
share one code path. The standard resource classes and traits are synced
right after every upgrade and at every start, so they always exist.
"""

from __future__ import annotations

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


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` and sync the standard classes and traits."""
    config = _alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    if revision == "head":
        sync_standard_data(db)


def stamp(db: Database, revision: str) -> None:
    config = _alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.stamp(config, revision)


def is_at_head(db: Database) -> bool:
    return current_revision(db) == head_revision()


def sync_standard_data(db: Database) -> None:
    """Insert the standard resource classes and traits that are missing."""
    db.run_write(standard.sync)


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
