"""What ``allotment tree`` and ``allotment top`` show: providers with their
inventories, usage, traits and aggregates, read in a handful of queries.

``read(conn)`` reads the whole cloud; ``read(conn, ["name-or-uuid", ...])``
reads only the trees holding those providers, plus every sharing provider
(trait ``MISC_SHARES_VIA_AGGREGATE``) so a tree can show what it shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.model import Inventory
from allotment.store import aggregate, inventory, resource_provider, trait, usage
from allotment.store.tables import resource_provider_traits as rpt
from allotment.store.tables import resource_providers as rp
from allotment.store.tables import traits as traits_table

SHARES = "MISC_SHARES_VIA_AGGREGATE"
CHUNK = 5000


@dataclass(frozen=True)
class ProviderState:
    """One provider as the tree and top views show it."""

    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    inventories: dict[str, Inventory] = field(default_factory=dict)
    usages: dict[str, int] = field(default_factory=dict)
    traits: tuple[str, ...] = ()
    aggregates: tuple[str, ...] = ()

    @property
    def sharing(self) -> bool:
        return SHARES in self.traits


def _root_ids(conn: Connection, refs: Sequence[str]) -> set[int]:
    """Root ids of the providers named or identified by ``refs``; unknown -> NotFound."""
    rows = conn.execute(
        sa.select(rp.c.uuid, rp.c.name, rp.c.root_provider_id).where(
            sa.or_(rp.c.uuid.in_(refs), rp.c.name.in_(refs))
        )
    ).all()
    found = {row.uuid for row in rows} | {row.name for row in rows}
    missing = [ref for ref in refs if ref not in found]
    if missing:
        raise exc.ResourceProviderNotFound(
            f"No resource provider named or with uuid {', '.join(missing)}"
        )
    return {row.root_provider_id for row in rows}


def _sharing_ids(conn: Connection) -> sa.Select:
    return (
        sa.select(rpt.c.resource_provider_id)
        .join(traits_table, traits_table.c.id == rpt.c.trait_id)
        .where(traits_table.c.name == SHARES)
    )


def read(conn: Connection, refs: Iterable[str] | None = None) -> list[ProviderState]:
    """Providers (all, or the trees of ``refs`` plus sharing providers), by id."""
    wanted = list(dict.fromkeys(refs or ()))
    if wanted:
        roots = _root_ids(conn, wanted)
        query = (
            resource_provider.provider_select()
            .where(
                sa.or_(rp.c.root_provider_id.in_(sorted(roots)), rp.c.id.in_(_sharing_ids(conn)))
            )
            .order_by(rp.c.id)
        )
        providers = [resource_provider.from_row(row) for row in conn.execute(query)]
    else:
        providers = resource_provider.find_filtered(conn)
    ids = [p.id for p in providers]
    inventories: dict[int, dict[str, Inventory]] = {}
    usages: dict[int, dict[str, int]] = {}
    trait_names: dict[int, set[str]] = {}
    aggregates: dict[int, set[str]] = {}
    # Bounded IN lists: SQLite refuses more than 32766 parameters in one statement.
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        inventories.update(inventory.read_many(conn, chunk))
        usages.update(usage.usages_by_provider(conn, chunk))
        trait_names.update(trait.names_by_provider(conn, chunk))
        aggregates.update(aggregate.uuids_by_provider(conn, chunk))
    return [
        ProviderState(
            uuid=p.uuid,
            name=p.name,
            generation=p.generation,
            parent_provider_uuid=p.parent_provider_uuid,
            root_provider_uuid=p.root_provider_uuid,
            inventories=inventories.get(p.id, {}),
            usages={rc: usages.get(p.id, {}).get(rc, 0) for rc in inventories.get(p.id, {})},
            traits=tuple(sorted(trait_names.get(p.id, ()))),
            aggregates=tuple(sorted(aggregates.get(p.id, ()))),
        )
        for p in providers
    ]
