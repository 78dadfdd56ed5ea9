"""The provider generation compare-and-swap that every provider write goes through.

It has a module of its own because traits, inventories, aggregates, allocations
and the reshaper all bump generations, while ``resource_provider`` itself reads
traits: keeping the bump here lets every one of them import it without an
import cycle.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.store import changes
from allotment.store.engine import utcnow
from allotment.store.tables import resource_providers as rp


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
    # Every write that bumps a generation changes what candidate searches see.
    changes.record(conn, [provider_id])
    return expected + 1
