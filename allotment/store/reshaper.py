"""The reshaper (spec Part K): move inventory and the allocations using it in one step.

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
``inventories`` (+1 more if it appears in the new allocation data).

The inventory writes here are deliberately minimal (upsert and delete);
they should be unified with ``allotment.store.inventory`` once that lands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.model import Inventory, ResourceProvider
from allotment.store import allocation as allocation_store
from allotment.store import resource_class as rc_store
from allotment.store import resource_provider as rp_store
from allotment.store.engine import utcnow
from allotment.store.tables import allocations as alloc_t
from allotment.store.tables import inventories as inv_t
from allotment.store.tables import resource_providers as rp_t

_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


@dataclass(frozen=True, slots=True)
class ProviderInventories:
    """The inventory a provider should end up with, and the generation the client saw."""

    generation: int
    inventories: Mapping[str, Inventory]  # by resource class name


def _providers(conn: Connection,
               wanted: Mapping[str, ProviderInventories]) -> list[ResourceProvider]:
    found = rp_store.find_many(conn, wanted)
    missing = sorted(wanted.keys() - found.keys())
    if missing:
        raise exc.ResourceProviderNotFoundForReshape(
            f"Resource provider {missing[0]} in inventories not found.")
    for uuid, provider in sorted(found.items()):
        given = wanted[uuid].generation
        if provider.generation != given:
            raise exc.ConcurrentUpdate(
                f"resource provider generation conflict for provider {uuid} "
                f"(actual: {provider.generation}, given: {given})")
    return sorted(found.values(), key=lambda p: p.id)


def _class_ids(conn: Connection, wanted: Mapping[str, ProviderInventories]) -> dict[str, int]:
    names = {name for item in wanted.values() for name in item.inventories}
    try:
        return rc_store.ids_for_names(conn, names)
    except exc.ResourceClassNotFound as error:
        raise exc.Invalid(str(error)) from error


def _current_classes(conn: Connection, provider_ids: list[int]) -> dict[int, set[int]]:
    current: dict[int, set[int]] = {pid: set() for pid in provider_ids}
    rows = conn.execute(sa.select(inv_t.c.resource_provider_id, inv_t.c.resource_class_id)
                        .where(inv_t.c.resource_provider_id.in_(provider_ids)))
    for row in rows:
        current[row.resource_provider_id].add(row.resource_class_id)
    return current


def _upsert(conn: Connection, rows: list[dict], existing: set[tuple[int, int]]) -> None:
    """Write inventory records, updating those that exist and inserting the others."""
    now = utcnow()
    updates = [r for r in rows if (r["rp"], r["rc"]) in existing]
    inserts = [r for r in rows if (r["rp"], r["rc"]) not in existing]
    if updates:
        # Bind names must differ from column names in an UPDATE's SET clause.
        values: dict[str, object] = {name: sa.bindparam(f"new_{name}") for name in _FIELDS}
        values["updated_at"] = now
        conn.execute(
            sa.update(inv_t)
            .where(inv_t.c.resource_provider_id == sa.bindparam("rp"),
                   inv_t.c.resource_class_id == sa.bindparam("rc"))
            .values(values),
            [{"rp": r["rp"], "rc": r["rc"], **{f"new_{n}": r[n] for n in _FIELDS}}
             for r in updates],
        )
    if inserts:
        conn.execute(sa.insert(inv_t), [
            {"resource_provider_id": r["rp"], "resource_class_id": r["rc"], "created_at": now,
             **{name: r[name] for name in _FIELDS}}
            for r in inserts
        ])


def _delete_removed(conn: Connection, removed: set[tuple[int, int]],
                    provider_uuids: Mapping[int, str], class_names: Mapping[int, str]) -> None:
    """Delete inventory records no longer wanted; 409 inventory.inuse if still allocated."""
    if not removed:
        return
    provider_ids = {k[0] for k in removed}
    class_ids = {k[1] for k in removed}
    in_use = {
        (row.resource_provider_id, row.resource_class_id)
        for row in conn.execute(
            sa.select(alloc_t.c.resource_provider_id, alloc_t.c.resource_class_id).distinct()
            .where(alloc_t.c.resource_provider_id.in_(provider_ids),
                   alloc_t.c.resource_class_id.in_(class_ids)))
    } & removed
    if in_use:
        provider_id, class_id = sorted(in_use)[0]
        raise exc.InventoryInUse(
            f"Inventory for '{class_names[class_id]}' on resource provider "
            f"'{provider_uuids[provider_id]}' in use.")
    for provider_id in sorted(provider_ids):
        gone = [c for p, c in removed if p == provider_id]
        conn.execute(sa.delete(inv_t).where(inv_t.c.resource_provider_id == provider_id,
                                            inv_t.c.resource_class_id.in_(gone)))


def _bump_all(conn: Connection, provider_ids: list[int]) -> None:
    rows = conn.execute(sa.select(rp_t.c.id, rp_t.c.generation)
                        .where(rp_t.c.id.in_(provider_ids)))
    generations = {row.id: row.generation or 0 for row in rows}
    for provider_id in sorted(generations):
        rp_store.increment_generation(conn, provider_id, generations[provider_id])


def reshape(
    conn: Connection,
    inventories: Mapping[str, ProviderInventories],
    writes: list[allocation_store.ConsumerWrite],
) -> None:
    """Apply a reshape in ``conn``'s transaction (see the module docstring)."""
    providers = _providers(conn, inventories)
    class_ids = _class_ids(conn, inventories)
    provider_ids = [p.id for p in providers]
    current = _current_classes(conn, provider_ids)
    existing = {(pid, cid) for pid, classes in current.items() for cid in classes}
    wanted = [
        {"rp": p.id, "rc": class_ids[name],
         **{f: getattr(inv, f) for f in _FIELDS}}
        for p in providers
        for name, inv in sorted(inventories[p.uuid].inventories.items())
    ]
    # 1. The union of old and new inventory; the client's generation guards it.
    _upsert(conn, wanted, existing)
    for provider in providers:
        rp_store.increment_generation(conn, provider.id, provider.generation)
    # 2. Move the allocations.
    allocation_store.replace_all(conn, writes, providers_first=False,
                                 no_emptied_bump=frozenset(provider_ids))
    # 3. Exactly the requested inventory.
    removed = existing - {(row["rp"], row["rc"]) for row in wanted}
    _delete_removed(conn, removed, {p.id: p.uuid for p in providers},
                    rc_store.names_for_ids(conn, {c for _, c in removed}))
    _bump_all(conn, provider_ids)
