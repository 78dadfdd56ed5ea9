"""Traits: name <-> id lookups."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.store.tables import traits


def ids_for_names(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Ids of the named traits; TraitNotFound lists every unknown name."""
    wanted = set(names)
    if not wanted:
        return {}
    rows = conn.execute(sa.select(traits.c.name, traits.c.id).where(traits.c.name.in_(wanted)))
    found = {row.name: row.id for row in rows}
    missing = sorted(wanted - found.keys())
    if missing:
        raise exc.TraitNotFound(f"No such trait(s): {', '.join(missing)}.")
    return found
