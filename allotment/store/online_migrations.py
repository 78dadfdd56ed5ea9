"""Data fixes upstream runs as ``placement-manage db online_data_migrations``.

Each migration works in batches of at most ``limit`` rows and returns
(found, done) so the command can report progress like upstream does.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store import changes
from allotment.store import consumer as consumer_store
from allotment.store.tables import allocations, consumers, resource_providers

Migration = Callable[[Connection, int, str, str], tuple[int, int]]


def set_root_provider_ids(
    conn: Connection, limit: int, _project: str, _user: str
) -> tuple[int, int]:
    """Providers without a root become their own root (pre-nested data)."""
    missing = (
        sa.select(sa.func.count())
        .select_from(resource_providers)
        .where(resource_providers.c.root_provider_id.is_(None))
    )
    found = conn.execute(missing).scalar_one()
    ids = (
        conn.execute(
            sa.select(resource_providers.c.id)
            .where(resource_providers.c.root_provider_id.is_(None))
            .order_by(resource_providers.c.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if ids:
        conn.execute(
            sa.update(resource_providers)
            .where(resource_providers.c.id.in_(ids))
            .values(root_provider_id=resource_providers.c.id)
        )
        changes.record(conn, ids)
    return found, len(ids)


def create_incomplete_consumers(
    conn: Connection, limit: int, project: str, user: str
) -> tuple[int, int]:
    """Allocations whose consumer has no row get one with the configured project/user."""
    orphan = (
        sa.select(allocations.c.consumer_id)
        .outerjoin(consumers, consumers.c.uuid == allocations.c.consumer_id)
        .where(consumers.c.id.is_(None))
        .distinct()
    )
    found = conn.execute(sa.select(sa.func.count()).select_from(orphan.subquery())).scalar_one()
    uuids = conn.execute(orphan.order_by(allocations.c.consumer_id).limit(limit)).scalars().all()
    if uuids:
        project_id = consumer_store.ensure_projects(conn, [project])[project]
        user_id = consumer_store.ensure_users(conn, [user])[user]
        consumer_store.create_many(
            conn,
            [
                {
                    "uuid": uuid,
                    "project_id": project_id,
                    "user_id": user_id,
                    "consumer_type_id": None,
                }
                for uuid in uuids
            ],
        )
    return found, len(uuids)


MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("set_root_provider_ids", set_root_provider_ids),
    ("create_incomplete_consumers", create_incomplete_consumers),
)
