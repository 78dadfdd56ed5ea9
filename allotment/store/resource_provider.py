"""Resource providers: lookups, trees, and the generation compare-and-swap."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from allotment import exceptions as exc
from allotment.model import ResourceProvider
from allotment.store.engine import utcnow
from allotment.store.tables import resource_providers as rp

_root = rp.alias("root")
_parent = rp.alias("parent")

PROVIDER_COLUMNS = (
    rp.c.id,
    rp.c.uuid,
    rp.c.name,
    rp.c.generation,
    rp.c.root_provider_id,
    rp.c.parent_provider_id,
    rp.c.created_at,
    rp.c.updated_at,
    _root.c.uuid.label("root_provider_uuid"),
    _parent.c.uuid.label("parent_provider_uuid"),
)


def provider_select() -> sa.Select:
    """SELECT of providers with their root and parent uuids; add WHERE clauses to it."""
    return sa.select(*PROVIDER_COLUMNS).select_from(
        rp.join(_root, _root.c.id == rp.c.root_provider_id).outerjoin(
            _parent, _parent.c.id == rp.c.parent_provider_id
        )
    )


def from_row(row: Row) -> ResourceProvider:
    return ResourceProvider(
        id=row.id,
        uuid=row.uuid,
        name=row.name,
        generation=row.generation or 0,
        root_provider_uuid=row.root_provider_uuid,
        parent_provider_uuid=row.parent_provider_uuid,
        root_provider_id=row.root_provider_id,
        parent_provider_id=row.parent_provider_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def find(conn: Connection, uuid: str) -> ResourceProvider | None:
    row = conn.execute(provider_select().where(rp.c.uuid == uuid)).first()
    return from_row(row) if row else None


def get(conn: Connection, uuid: str) -> ResourceProvider:
    """The provider with ``uuid``; ResourceProviderNotFound otherwise."""
    provider = find(conn, uuid)
    if provider is None:
        raise exc.ResourceProviderNotFound(f"No resource provider with uuid {uuid} found")
    return provider


def find_many(conn: Connection, uuids: Iterable[str]) -> dict[str, ResourceProvider]:
    """Providers by uuid, in one query; missing uuids are simply absent."""
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = conn.execute(provider_select().where(rp.c.uuid.in_(wanted))).all()
    return {row.uuid: from_row(row) for row in rows}


def increment_generation(conn: Connection, provider_id: int, expected: int) -> int:
    """Bump the generation if it still is ``expected``; ConcurrentUpdate otherwise.

    The WHERE on the old value makes the bump atomic: of two writers that
    read the same generation, only one can succeed.
    """
    result = conn.execute(
        sa.update(rp)
        .where(rp.c.id == provider_id, rp.c.generation == expected)
        .values(generation=expected + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise exc.ResourceProviderConcurrentUpdate(
            "resource provider generation conflict: another process changed the provider "
            "concurrently; please retry"
        )
    return expected + 1
