"""Aggregates: bare UUIDs linked to providers, created on first use, never collected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from allotment.store import changes
from allotment.store.engine import utcnow
from allotment.store.tables import placement_aggregates as agg
from allotment.store.tables import resource_provider_aggregates as rpa


def provider_aggregates(conn: Connection, provider_id: int) -> list[str]:
    """The aggregate uuids of one provider, sorted."""
    query = (
        sa.select(agg.c.uuid)
        .select_from(rpa.join(agg, agg.c.id == rpa.c.aggregate_id))
        .where(rpa.c.resource_provider_id == provider_id)
        .order_by(agg.c.uuid)
    )
    return [row.uuid for row in conn.execute(query)]


def uuids_by_provider(conn: Connection, provider_ids: Iterable[int]) -> dict[int, set[str]]:
    """Aggregate uuids of many providers in one query; providers without any are absent."""
    wanted = list(set(provider_ids))
    if not wanted:
        return {}
    query = (
        sa.select(rpa.c.resource_provider_id, agg.c.uuid)
        .select_from(rpa.join(agg, agg.c.id == rpa.c.aggregate_id))
        .where(rpa.c.resource_provider_id.in_(wanted))
    )
    out: dict[int, set[str]] = {}
    for row in conn.execute(query):
        out.setdefault(row.resource_provider_id, set()).add(row.uuid)
    return out


def _existing_ids(conn: Connection, uuids: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(sa.select(agg.c.uuid, agg.c.id).where(agg.c.uuid.in_(uuids)))
    return {row.uuid: row.id for row in rows}


def _insert_ignoring_duplicates(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert rows that a concurrent writer may be inserting too.

    One statement normally; after a unique violation, row by row in
    savepoints so the rows the other writer already added are skipped.
    """
    if not rows:
        return
    try:
        with conn.begin_nested():
            conn.execute(table.insert(), rows)
        return
    except IntegrityError:
        pass
    for row in rows:
        try:
            with conn.begin_nested():
                conn.execute(table.insert().values(**row))
        except IntegrityError:
            continue


def ensure_aggregates(conn: Connection, uuids: Iterable[str]) -> dict[str, int]:
    """Ids of the aggregates with these uuids, creating the missing ones (race-safe)."""
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    found = _existing_ids(conn, wanted)
    missing = [uuid for uuid in wanted if uuid not in found]
    if missing:
        now = utcnow()
        _insert_ignoring_duplicates(conn, agg, [{"uuid": u, "created_at": now} for u in missing])
        found.update(_existing_ids(conn, missing))
    return found


def set_provider_aggregates(conn: Connection, provider_id: int, uuids: Iterable[str]) -> None:
    """Make ``uuids`` the exact aggregate set of the provider (generation untouched)."""
    wanted = set(ensure_aggregates(conn, uuids).values())
    rows = conn.execute(
        sa.select(rpa.c.aggregate_id).where(rpa.c.resource_provider_id == provider_id)
    )
    current = {row.aggregate_id for row in rows}
    if current != wanted:
        changes.record(conn, [provider_id])
    to_remove = current - wanted
    if to_remove:
        conn.execute(
            sa.delete(rpa).where(
                rpa.c.resource_provider_id == provider_id, rpa.c.aggregate_id.in_(to_remove)
            )
        )
    now = utcnow()
    _insert_ignoring_duplicates(
        conn,
        rpa,
        [
            {"resource_provider_id": provider_id, "aggregate_id": aggregate_id, "created_at": now}
            for aggregate_id in sorted(wanted - current)
        ],
    )
