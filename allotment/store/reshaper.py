"""The reshaper: move inventory and the allocations using it in one step.

Everything happens in the caller's transaction:

1. every provider named in ``inventories`` must exist (400 with code
   ``placement.resource_provider.not_found``) and have the generation the
   client sent (409 ``placement.concurrent_update``);
2. each such provider temporarily gets the *union* of its old and new
   inventory (new definitions win), so no allocation points at a missing
   class while allocations move; its generation is bumped;
3. the listed consumers' allocations are replaced with the ordinary
   allocation write (capacity rules, consumer generations, provider bumps);
4. each provider's inventory is cut down to exactly the requested set:
   a removed class that still has allocations is a 409
   ``placement.inventory.inuse``; its generation is bumped again.

The net generation effect matches the reference: +2 for a provider in
``inventories`` (+1 only when its new inventory is empty: step 2 skips it),
+1 more if it appears in the new allocation data.

The records are written and removed by ``allotment.store.inventory``, as for
``PUT /resource_providers/{uuid}/inventories``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.model import Inventory, ResourceProvider
from allotment.store import allocation as allocation_store
from allotment.store import inventory as inv_store
from allotment.store import resource_class as rc_store
from allotment.store import resource_provider as rp_store
from allotment.store.tables import resource_providers as rp_t


@dataclass(frozen=True, slots=True)
class ProviderInventories:
    """The inventory a provider should end up with, and the generation the client saw."""

    generation: int
    inventories: Mapping[str, Inventory]  # by resource class name


def _providers(
    conn: Connection, wanted: Mapping[str, ProviderInventories]
) -> list[ResourceProvider]:
    found = rp_store.find_many(conn, wanted)
    # One provider after the other in the request's order, as upstream checks them.
    for uuid, item in wanted.items():
        provider = found.get(uuid)
        if provider is None:
            raise exc.ResourceProviderNotFoundForReshape(
                f"Resource provider {uuid} in inventories not found: "
                f"No resource provider with uuid {uuid} found"
            )
        if provider.generation != item.generation:
            raise exc.ConcurrentUpdate(
                f"resource provider generation conflict for provider {uuid}: "
                f"actual: {provider.generation}, given: {item.generation}"
            )
    return sorted(found.values(), key=lambda p: p.id)


def _class_ids(conn: Connection, wanted: Mapping[str, ProviderInventories]) -> dict[str, int]:
    names = [name for item in wanted.values() for name in item.inventories]
    try:
        return rc_store.ids_for_names(conn, names)
    except exc.ResourceClassNotFound as error:
        # Reported as upstream does: "malformed reshaper data: No such ..."
        raise exc.AllocationClassNotFound(str(error)) from error


def _check_capacity(wanted: Mapping[str, ProviderInventories]) -> None:
    """After the providers are known: the reshaper exists only from 1.30, so the
    >= 1.26 rule applies (reserved may equal total, capacity not negative)."""
    for uuid, item in wanted.items():
        for name, inventory in item.inventories.items():
            if int(inventory.capacity) < 0:
                raise exc.InvalidInventoryCapacity(
                    f"Unable to update inventory for resource provider {uuid}: invalid "
                    f"inventory for '{name}': the reserved value is greater than total."
                )


def _bump_all(conn: Connection, provider_ids: list[int]) -> None:
    rows = conn.execute(sa.select(rp_t.c.id, rp_t.c.generation).where(rp_t.c.id.in_(provider_ids)))
    generations = {row.id: row.generation or 0 for row in rows}
    for provider_id in sorted(generations):
        rp_store.increment_generation(conn, provider_id, generations[provider_id])


def reshape(
    conn: Connection,
    inventories: Mapping[str, ProviderInventories],
    writes: list[allocation_store.ConsumerWrite],
) -> None:
    """Apply a reshape in ``conn``'s transaction (see the module docstring)."""
    # Every provider it writes, locked first and in id order (PostgreSQL), as
    # an allocation write locks them: bumped one by one below, they would
    # be taken in the request's order and could wait in a cycle with a claim.
    rp_store.find_many(
        conn, set(inventories) | {uuid for w in writes for uuid in w.allocations}, lock=True
    )
    providers = _providers(conn, inventories)
    _check_capacity(inventories)
    # Upstream settles the consumers and the allocations' providers before it
    # looks at the inventories' classes.
    allocation_store.precheck(conn, writes)
    class_ids = _class_ids(conn, inventories)
    provider_ids = [p.id for p in providers]
    wanted = {
        p.id: {class_ids[name]: inv for name, inv in inventories[p.uuid].inventories.items()}
        for p in providers
    }
    current = inv_store.current_classes(conn, provider_ids)
    # 1. The union of old and new inventory; the client's generation guards it.
    #    A provider whose new inventory is empty is left alone here (no bump),
    #    as upstream skips it.
    for provider in providers:
        if not wanted[provider.id]:
            continue
        inv_store.write_records(conn, provider.id, wanted[provider.id], current[provider.id])
        rp_store.increment_generation(conn, provider.id, provider.generation)
    # 2. Move the allocations.
    allocation_store.replace_all(
        conn, writes, providers_first=False, no_emptied_bump=frozenset(provider_ids)
    )
    # 3. Exactly the requested inventory.
    for provider in providers:
        inv_store.remove_classes(conn, provider, current[provider.id] - wanted[provider.id].keys())
    _bump_all(conn, provider_ids)
