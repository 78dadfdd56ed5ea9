"""Resource classes: name <-> id lookups (no cache: standard ids are fixed)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.store.standard import STANDARD_RESOURCE_CLASS_IDS
from allotment.store.tables import resource_classes as rc


def ids_for_names(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Ids of the named classes; ResourceClassNotFound names the first unknown one."""
    wanted = set(names)
    found = {n: STANDARD_RESOURCE_CLASS_IDS[n] for n in wanted if n in STANDARD_RESOURCE_CLASS_IDS}
    custom = wanted - found.keys()
    if custom:
        rows = conn.execute(sa.select(rc.c.name, rc.c.id).where(rc.c.name.in_(custom)))
        found.update({row.name: row.id for row in rows})
    missing = sorted(wanted - found.keys())
    if missing:
        raise exc.ResourceClassNotFound(f"No such resource class {missing[0]}.")
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
