"""Resource classes: name <-> id lookups, the catalogue, and custom class management.

Standard classes have fixed ids (their position in os-resource-classes, no
cache needed); custom classes get ids from 10000 up, as upstream does.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from allotment import exceptions as exc
from allotment.model import ResourceClass
from allotment.store import changes
from allotment.store.engine import utcnow
from allotment.store.standard import FIRST_CUSTOM_RESOURCE_CLASS_ID, STANDARD_RESOURCE_CLASS_IDS
from allotment.store.tables import inventories
from allotment.store.tables import resource_classes as rc

_COLUMNS = (rc.c.id, rc.c.name, rc.c.created_at, rc.c.updated_at)
# Concurrent creators race for the next id; each loser retries with a fresh max(id).
MAX_ID_ATTEMPTS = 100


def _storable(text: str) -> bool:
    """PostgreSQL cannot compare strings holding NUL; such a name names nothing."""
    return "\x00" not in text


def _from_row(row: Row) -> ResourceClass:
    return ResourceClass(
        id=row.id,
        name=row.name,
        standard=row.id < FIRST_CUSTOM_RESOURCE_CLASS_ID,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _not_found(name: str) -> exc.ResourceClassNotFound:
    return exc.ResourceClassNotFound(f"No such resource class {name}.")


def ids_for_names(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Ids of the named classes; ResourceClassNotFound names the first unknown one."""
    wanted = set(names)
    found = {n: STANDARD_RESOURCE_CLASS_IDS[n] for n in wanted if n in STANDARD_RESOURCE_CLASS_IDS}
    custom = [name for name in wanted - found.keys() if _storable(name)]
    if custom:
        rows = conn.execute(sa.select(rc.c.name, rc.c.id).where(rc.c.name.in_(custom)))
        found.update({row.name: row.id for row in rows})
    missing = sorted(wanted - found.keys())
    if missing:
        raise _not_found(missing[0])
    return found


def id_for_name(conn: Connection, name: str) -> int:
    return ids_for_names(conn, [name])[name]


def names_for_ids(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = conn.execute(sa.select(rc.c.id, rc.c.name).where(rc.c.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def all_names_by_id(conn: Connection) -> dict[int, str]:
    return {row.id: row.name for row in conn.execute(sa.select(rc.c.id, rc.c.name))}


def list_all(conn: Connection) -> list[ResourceClass]:
    """Every class: standard ones in their fixed order, then custom ones by creation
    (ids only grow, so id order is both)."""
    return [_from_row(row) for row in conn.execute(sa.select(*_COLUMNS).order_by(rc.c.id))]


def find(conn: Connection, name: str) -> ResourceClass | None:
    if not _storable(name):
        return None
    row = conn.execute(sa.select(*_COLUMNS).where(rc.c.name == name)).first()
    return _from_row(row) if row else None


def get(conn: Connection, name: str) -> ResourceClass:
    """The class called ``name``; ResourceClassNotFound otherwise."""
    found = find(conn, name)
    if found is None:
        raise _not_found(name)
    return found


def _next_custom_id(conn: Connection) -> int:
    highest = conn.execute(sa.select(sa.func.max(rc.c.id))).scalar()
    return max((highest or 0) + 1, FIRST_CUSTOM_RESOURCE_CLASS_ID)


def create(conn: Connection, name: str) -> ResourceClass:
    """Create custom class ``name`` with the next free id; Exists if it is taken.

    Two creators may pick the same id: the loser's primary-key violation is
    caught in a savepoint and it tries again with a fresh maximum.
    """
    for _attempt in range(MAX_ID_ATTEMPTS):
        if find(conn, name) is not None:
            raise exc.Exists(f"Conflicting resource class already exists: {name}")
        new_id, now = _next_custom_id(conn), utcnow()
        try:
            with conn.begin_nested():
                conn.execute(rc.insert().values(id=new_id, name=name, created_at=now))
        except IntegrityError:
            continue  # the id or the name was taken meanwhile: look again
        return ResourceClass(id=new_id, name=name, standard=False, created_at=now, updated_at=None)
    raise exc.ConcurrentUpdate(
        f"Max retries of DB transaction exceeded attempting to create resource class: "
        f"{name}, please try again."
    )


def ensure(conn: Connection, name: str) -> tuple[ResourceClass, bool]:
    """The class ``name``, created if missing; the flag says whether it was created."""
    existing = find(conn, name)
    if existing is not None:
        return existing, False
    try:
        return create(conn, name), True
    except exc.Exists:
        return get(conn, name), False  # someone created it just now


def rename(conn: Connection, name: str, new_name: str) -> ResourceClass:
    """Rename custom class ``name``: NotFound, Invalid (standard), Exists (target taken)."""
    current = get(conn, name)
    if current.standard:
        raise exc.Invalid(f"Cannot update standard resource class {name}")
    taken = exc.Exists(f"Resource class already exists: {new_name}")
    other = find(conn, new_name)
    if other is not None and other.id != current.id:
        raise taken
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(
                sa.update(rc).where(rc.c.id == current.id).values(name=new_name, updated_at=now)
            )
        # Models key inventories by class name: rare enough to reload everything.
        changes.record_all(conn)
    except IntegrityError:
        raise taken from None
    return ResourceClass(
        id=current.id, name=new_name, standard=False, created_at=current.created_at, updated_at=now
    )


def delete(conn: Connection, name: str) -> None:
    """Delete custom class ``name``: NotFound, Invalid (standard), Conflict (in use)."""
    current = get(conn, name)
    if current.standard:
        raise exc.Invalid(f"Cannot delete standard resource class {name}.")
    in_use = sa.exists().where(inventories.c.resource_class_id == current.id)
    # Check and delete in one statement: no window between them within this
    # transaction (inventories have no foreign key to lean on, as upstream).
    result = conn.execute(sa.delete(rc).where(rc.c.id == current.id, ~in_use))
    if result.rowcount != 1:
        raise exc.Conflict(f"Cannot delete resource class {name}. Class is in use in inventory.")
