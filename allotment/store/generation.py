"""The provider generation compare-and-swap that every provider write goes through.

It has a module of its own because traits, inventories, aggregates, allocations
and the reshaper all bump generations, while ``resource_provider`` itself reads
traits: keeping the bump here lets every one of them import it without an
import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.store import changes
from allotment.store.engine import utcnow
from allotment.store.tables import resource_providers as rp

# Built once: every provider write runs it.
_INCREMENT = (
    sa.update(rp)
    .where(rp.c.id == sa.bindparam("b_id"), rp.c.generation == sa.bindparam("b_expected"))
    .values(generation=sa.bindparam("b_next"), updated_at=sa.bindparam("b_now"))
)


# PostgreSQL: the same bump and the change feed's row for it, in one statement
# (a claim's last two round trips are one).
_BUMPED = _INCREMENT.returning(rp.c.id).cte("bumped")
_INCREMENT_AND_NOTE = (
    sa.insert(changes.candidate_changes)
    .from_select(
        ["provider_id", "created_at", "usage_only"],
        sa.select(
            _BUMPED.c.id,
            sa.bindparam("b_now", type_=sa.DateTime),
            sa.bindparam("usage_only", type_=sa.Boolean),
        ),
    )
    .add_cte(_BUMPED)
    # SQLAlchemy keeps an INSERT's row count only when asked (2.0.28 and later).
    .execution_options(preserve_rowcount=True)
)


def increment_generation(
    conn: Connection, provider_id: int, expected: int, usage_only: bool = False
) -> int:
    """Bump the generation if it still is ``expected``; ConcurrentUpdate otherwise.

    The WHERE on the old value makes the bump atomic: of two writers that
    read the same generation, only one can succeed.
    """
    if conn.dialect.name == "postgresql" and changes.unnoted(conn, [provider_id], usage_only):
        return _increment_and_note(conn, provider_id, expected, usage_only)
    result = conn.execute(
        _INCREMENT,
        {"b_id": provider_id, "b_expected": expected, "b_next": expected + 1, "b_now": utcnow()},
    )
    if result.rowcount != 1:
        raise _conflict()
    # Every write that bumps a generation changes what candidate searches see
    # (``usage_only``: an allocation write, only the provider's usage).
    changes.record(conn, [provider_id], usage_only)
    return expected + 1


def _increment_and_note(conn: Connection, provider_id: int, expected: int, usage_only: bool) -> int:
    now = utcnow()
    params = {"b_id": provider_id, "b_expected": expected, "b_next": expected + 1, "b_now": now}
    result = conn.execute(_INCREMENT_AND_NOTE, {**params, "usage_only": usage_only})
    # One feed row per provider bumped: none when the compare-and-swap lost.
    if result.rowcount != 1:
        raise _conflict()
    changes.written(conn, now)
    return expected + 1


def increment_generations(
    conn: Connection, expected: Mapping[int, int], usage_only: bool = False
) -> None:
    """Bump several providers' generations (provider id -> expected) in one statement.

    Still a compare-and-swap: each row is only updated while it has its
    expected generation, so a lost race leaves the row count short.
    """
    if len(expected) <= 1:
        for provider_id, generation in expected.items():
            increment_generation(conn, provider_id, generation, usage_only)
        return
    ids = sorted(expected)
    lock_first = conn.dialect.name == "postgresql"
    params: dict[str, object] = {"b_now": utcnow()}
    if lock_first:
        params["b_ids"] = ids
    for i, pid in enumerate(ids):
        params[f"b_id_{i}"] = pid
        params[f"b_expected_{i}"] = expected[pid]
    result = conn.execute(_increment_many(len(ids), lock_first), params)
    if result.rowcount != len(ids):
        raise _conflict()
    changes.record(conn, ids, usage_only)


@lru_cache(maxsize=32)
def _increment_many(count: int, lock_first: bool) -> sa.Update:
    """The bump of ``count`` providers (built once per count: a claim on a compute
    node and a sharing provider runs it every time)."""
    matches = sa.or_(
        *(
            sa.and_(
                rp.c.id == sa.bindparam(f"b_id_{i}"),
                rp.c.generation == sa.bindparam(f"b_expected_{i}"),
            )
            for i in range(count)
        )
    )
    if lock_first:
        # Lock the rows in id order first, so that two writers of shared
        # providers never deadlock (InnoDB already scans the ids in order).
        locked = (
            sa.select(rp.c.id)
            .where(rp.c.id.in_(sa.bindparam("b_ids", expanding=True)))
            .order_by(rp.c.id)
            .with_for_update()
        )
        matches = sa.and_(matches, rp.c.id.in_(locked))
    return (
        sa.update(rp)
        .where(matches)
        .values(generation=rp.c.generation + 1, updated_at=sa.bindparam("b_now"))
    )


def _conflict() -> exc.ResourceProviderConcurrentUpdate:
    return exc.ResourceProviderConcurrentUpdate(
        "resource provider generation conflict: another process changed the provider "
        "concurrently; please retry"
    )
