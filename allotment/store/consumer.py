"""Consumers and the project, user and consumer-type rows they refer to.

Consumers are never created through an API of their own: allocation writes
create them (and any missing project, user or type row) implicitly, bump
their generation with a compare-and-swap, and delete them once they hold no
allocations. Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from allotment import exceptions as exc
from allotment.model import Consumer
from allotment.store import listed
from allotment.store.engine import utcnow
from allotment.store.tables import allocations, consumer_types, consumers, projects, users


class RowCreatedConcurrently(exc.PlacementError):
    """A unique row we tried to insert was inserted by another transaction.

    The whole write is then run again in a fresh transaction, which sees the
    other writer's row (an INSERT that failed on PostgreSQL aborts the
    transaction, so we cannot just read it back in this one).
    """


def _ensure_names(
    conn: Connection, table: sa.Table, column: sa.Column, names: Iterable[str]
) -> dict[str, int]:
    """Ids of the rows whose ``column`` holds each name, inserting missing ones."""
    wanted = set(names)
    if not wanted:
        return {}
    found = {
        row[0]: row[1]
        for row in conn.execute(sa.select(column, table.c.id).where(column.in_(wanted)))
    }
    missing = sorted(wanted - found.keys())  # sorted: a fixed lock order
    if missing:
        now = utcnow()
        try:
            conn.execute(sa.insert(table), [{column.name: n, "created_at": now} for n in missing])
        except IntegrityError as error:
            raise RowCreatedConcurrently(f"{table.name} row created concurrently") from error
        found.update(
            {
                row[0]: row[1]
                for row in conn.execute(sa.select(column, table.c.id).where(column.in_(missing)))
            }
        )
    return found


def ensure_projects(conn: Connection, external_ids: Iterable[str]) -> dict[str, int]:
    return _ensure_names(conn, projects, projects.c.external_id, external_ids)


def ensure_users(conn: Connection, external_ids: Iterable[str]) -> dict[str, int]:
    return _ensure_names(conn, users, users.c.external_id, external_ids)


def ensure_consumer_types(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    return _ensure_names(conn, consumer_types, consumer_types.c.name, names)


@dataclass(frozen=True, slots=True)
class Known:
    """What already exists for an allocation write, looked up in one statement."""

    # uuid -> (id, generation)
    consumers: dict[str, tuple[int, int]]
    projects: dict[str, int]
    users: dict[str, int]
    consumer_types: dict[str, int]
    # The consumers' allocation rows: (consumer uuid, provider id, class id, used).
    allocations: list[tuple[str, int, int, int]] = field(default_factory=list)


# The ``kind`` column of ``lookup``'s UNION ALL: which table a row comes from.
_CONSUMER, _PROJECT, _USER, _TYPE, _ALLOCATION = range(5)
_LOOKUP_SOURCES: dict[int, tuple[sa.Table, sa.Column]] = {
    _CONSUMER: (consumers, consumers.c.uuid),
    _PROJECT: (projects, projects.c.external_id),
    _USER: (users, users.c.external_id),
    _TYPE: (consumer_types, consumer_types.c.name),
}


def _lookup_part(kind: int, arrays: bool) -> sa.Select:
    if kind == _ALLOCATION:
        # (kind, consumer uuid, provider id, class id, used): the same columns.
        return sa.select(
            sa.literal_column(str(kind), sa.Integer).label("kind"),
            allocations.c.consumer_id.label("name"),
            allocations.c.resource_provider_id.label("id"),
            allocations.c.resource_class_id.label("generation"),
            allocations.c.used.label("used"),
        ).where(listed.one_of(allocations.c.consumer_id, f"names_{_CONSUMER}", arrays))
    table, name = _LOOKUP_SOURCES[kind]
    generation = table.c.generation if kind == _CONSUMER else sa.cast(sa.null(), sa.Integer)
    return sa.select(
        sa.literal_column(str(kind), sa.Integer).label("kind"),
        name.label("name"),
        table.c.id.label("id"),
        generation.label("generation"),
        sa.cast(sa.null(), sa.Integer).label("used"),
    ).where(listed.one_of(name, f"names_{kind}", arrays))


@lru_cache(maxsize=32)
def _lookup_query(kinds: tuple[int, ...], arrays: bool) -> sa.Select | sa.CompoundSelect:
    """Built once per combination of tables: building it costs more than running it."""
    parts = [_lookup_part(kind, arrays) for kind in kinds]
    return parts[0] if len(parts) == 1 else sa.union_all(*parts)


def lookup(
    conn: Connection,
    consumer_uuids: Iterable[str],
    project_ids: Iterable[str],
    user_ids: Iterable[str],
    type_names: Iterable[str],
    with_allocations: bool = False,
) -> Known:
    """Existing consumers and the ids of existing projects, users and types
    (``with_allocations``: and the consumers' allocation rows).

    One round trip instead of five: an allocation write needs all of them
    before it can insert what is missing (``ensure_*``, ``create_many``) and
    replace the rows. Read in one statement, the rows are those of the
    consumers at the generations read.
    """
    wanted = {
        _CONSUMER: set(consumer_uuids),
        _PROJECT: set(project_ids),
        _USER: set(user_ids),
        _TYPE: set(type_names),
    }
    kinds = tuple(kind for kind, names in wanted.items() if names)
    if with_allocations and wanted[_CONSUMER]:
        kinds += (_ALLOCATION,)
    found: dict[int, dict[str, tuple[int, int]]] = {kind: {} for kind in wanted}
    rows: list[tuple[str, int, int, int]] = []
    if kinds:
        params = {f"names_{kind}": sorted(wanted[kind]) for kind in kinds if kind in wanted}
        for row in conn.execute(_lookup_query(kinds, listed.uses_arrays(conn)), params):
            if row.kind == _ALLOCATION:
                rows.append((row.name, row.id, row.generation, row.used))
            else:
                found[row.kind][row.name] = (row.id, row.generation)
    return Known(
        consumers=found[_CONSUMER],
        projects={name: ids[0] for name, ids in found[_PROJECT].items()},
        users={name: ids[0] for name, ids in found[_USER].items()},
        consumer_types={name: ids[0] for name, ids in found[_TYPE].items()},
        allocations=rows,
    )


def _consumer_select() -> sa.Select:
    return sa.select(
        consumers.c.id,
        consumers.c.uuid,
        consumers.c.generation,
        consumers.c.created_at,
        consumers.c.updated_at,
        projects.c.external_id.label("project_id"),
        users.c.external_id.label("user_id"),
        consumer_types.c.name.label("consumer_type"),
    ).select_from(
        consumers.join(projects, projects.c.id == consumers.c.project_id)
        .join(users, users.c.id == consumers.c.user_id)
        .outerjoin(consumer_types, consumer_types.c.id == consumers.c.consumer_type_id)
    )


def find_many(conn: Connection, uuids: Iterable[str]) -> dict[str, Consumer]:
    """Existing consumers by uuid, in one query."""
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = conn.execute(_consumer_select().where(consumers.c.uuid.in_(wanted)))
    return {
        row.uuid: Consumer(
            id=row.id,
            uuid=row.uuid,
            project_id=row.project_id,
            user_id=row.user_id,
            generation=row.generation,
            consumer_type=row.consumer_type,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    }


def find(conn: Connection, uuid: str) -> Consumer | None:
    return find_many(conn, [uuid]).get(uuid)


def create_many(conn: Connection, rows: Sequence[Mapping[str, object]]) -> dict[str, int]:
    """Insert consumers (keys uuid, project_id, user_id, consumer_type_id).

    They start at generation 0 unless a row gives ``generation`` (and
    ``updated_at``). Returns their ids by uuid. A consumer created meanwhile
    by another transaction raises RowCreatedConcurrently.
    """
    if not rows:
        return {}
    now = utcnow()
    ordered = sorted(rows, key=lambda r: str(r["uuid"]))
    values = [{"generation": 0, "created_at": now, **row} for row in ordered]
    try:
        # One row (a PUT) is one statement: the driver reports the new id.
        result = conn.execute(sa.insert(consumers), values[0] if len(values) == 1 else values)
    except IntegrityError as error:
        raise RowCreatedConcurrently("consumer created concurrently") from error
    new_key = result.inserted_primary_key if len(values) == 1 else None
    if new_key is not None:
        return {str(ordered[0]["uuid"]): new_key[0]}
    uuids = [row["uuid"] for row in ordered]
    result = conn.execute(
        sa.select(consumers.c.uuid, consumers.c.id).where(consumers.c.uuid.in_(uuids))
    )
    return {row.uuid: row.id for row in result}


def increment_generation(
    conn: Connection,
    consumer_id: int,
    expected: int,
    project_id: int,
    user_id: int,
    consumer_type_id: int | None = None,
    set_type: bool = False,
    bump: bool = True,
) -> int:
    """Bump the generation from ``expected`` and set project, user (and type if ``set_type``).

    ``bump=False`` sets the attributes alone (upstream does so for a consumer
    written with no allocations, old or new), still guarded by ``expected``.

    The WHERE on the old generation makes two writers of one consumer
    exclusive: the loser gets a 409 and is not retried by the server.
    """
    values: dict[str, object] = {
        "generation": expected + 1 if bump else expected,
        "project_id": project_id,
        "user_id": user_id,
        "updated_at": utcnow(),
    }
    if set_type:
        values["consumer_type_id"] = consumer_type_id
    result = conn.execute(
        sa.update(consumers)
        .where(consumers.c.id == consumer_id, consumers.c.generation == expected)
        .values(**values)
    )
    if result.rowcount != 1:
        raise exc.ConsumerGenerationConflict(
            "consumer generation conflict - another process changed the consumer "
            "concurrently; please retry"
        )
    return expected + 1


def delete_if_no_allocations(conn: Connection, uuids: Iterable[str]) -> None:
    """Delete those of the consumers that hold no allocation any more."""
    wanted = list(set(uuids))
    if not wanted:
        return
    has_allocations = sa.exists().where(allocations.c.consumer_id == consumers.c.uuid)
    conn.execute(sa.delete(consumers).where(consumers.c.uuid.in_(wanted), ~has_allocations))


def delete(conn: Connection, uuid: str) -> None:
    conn.execute(sa.delete(consumers).where(consumers.c.uuid == uuid))
