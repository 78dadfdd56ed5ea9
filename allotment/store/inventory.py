"""Inventories of resource providers: read, replace, add, update and delete.

Every successful change bumps the provider's generation through
``resource_provider.increment_generation`` (compare-and-swap on the
generation read in the same transaction), so a concurrent writer loses with
ResourceProviderConcurrentUpdate instead of silently overwriting. The bump
comes after the checks but *before* the inventory rows are written: it takes
the provider's row lock, so two writers of one provider are serialised there
and the loser fails cleanly rather than on a unique index.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from allotment import exceptions as exc
from allotment.model import Inventory, ResourceProvider
from allotment.store import capacity, resource_class
from allotment.store import resource_provider as rp_store
from allotment.store.engine import utcnow
from allotment.store.tables import allocations, inventories, resource_classes

_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")

_SELECT = sa.select(
    resource_classes.c.name.label("resource_class"),
    inventories.c.resource_class_id,
    *(inventories.c[name] for name in _FIELDS),
    inventories.c.created_at,
    inventories.c.updated_at,
).join(resource_classes, resource_classes.c.id == inventories.c.resource_class_id)


def _to_model(row: sa.Row) -> Inventory:
    return Inventory(
        resource_class=row.resource_class,
        total=row.total,
        reserved=row.reserved,
        min_unit=row.min_unit,
        max_unit=row.max_unit,
        step_size=row.step_size,
        allocation_ratio=float(row.allocation_ratio),
    )


def read(
    conn: Connection, provider_id: int
) -> tuple[dict[str, Inventory], datetime.datetime | None]:
    """The provider's inventories by class name, and their newest timestamp."""
    rows = conn.execute(
        _SELECT.where(inventories.c.resource_provider_id == provider_id).order_by(
            inventories.c.resource_class_id
        )
    ).all()
    stamps = [row.updated_at or row.created_at for row in rows]
    newest = max((s for s in stamps if s is not None), default=None)
    return {row.resource_class: _to_model(row) for row in rows}, newest


def read_many(conn: Connection, provider_ids: Iterable[int]) -> dict[int, dict[str, Inventory]]:
    """Inventories of several providers in one query: provider id -> class -> record."""
    wanted = sorted(set(provider_ids))
    out: dict[int, dict[str, Inventory]] = {pid: {} for pid in wanted}
    if not wanted:
        return out
    rows = conn.execute(
        _SELECT.add_columns(inventories.c.resource_provider_id).where(
            inventories.c.resource_provider_id.in_(wanted)
        )
    )
    for row in rows:
        out[row.resource_provider_id][row.resource_class] = _to_model(row)
    return out


def read_one(
    conn: Connection, provider_id: int, class_name: str
) -> tuple[Inventory, datetime.datetime | None]:
    """One inventory record; NotFound if the class is unknown or not on the provider."""
    class_id = resource_class.id_for_name(conn, class_name)
    row = conn.execute(
        _SELECT.where(
            inventories.c.resource_provider_id == provider_id,
            inventories.c.resource_class_id == class_id,
        )
    ).first()
    if row is None:
        raise exc.InventoryNotFound(
            f"No inventory of class {class_name} for resource provider {provider_id}"
        )
    return _to_model(row), row.updated_at or row.created_at


def check_capacity(
    provider: ResourceProvider, items: Iterable[Inventory], reserved_may_equal_total: bool
) -> None:
    """Reject inventories whose truncated capacity is negative (or zero before 1.26)."""
    for inv in items:
        cap = capacity.truncated_capacity(inv)
        if cap < 0 or (cap == 0 and not reserved_may_equal_total):
            relation = "greater than" if reserved_may_equal_total else "greater than or equal to"
            raise exc.InvalidInventoryCapacity(
                f"Invalid inventory for '{inv.resource_class}' on resource provider "
                f"'{provider.uuid}'. The reserved value is {relation} total."
            )


def _class_ids(
    conn: Connection, provider: ResourceProvider, names: Iterable[str]
) -> dict[str, int]:
    """Class ids for an inventory write; an unknown class is a 400 here, not a 404."""
    try:
        return resource_class.ids_for_names(conn, names)
    except exc.ResourceClassNotFound as error:
        raise exc.Invalid(
            f"Unknown resource class in inventory for resource provider {provider.uuid}: {error}"
        ) from None


def used_class_ids(conn: Connection, provider_id: int, class_ids: Iterable[int]) -> set[int]:
    """Those of ``class_ids`` that have allocations on the provider."""
    wanted = sorted(set(class_ids))
    if not wanted:
        return set()
    rows = conn.execute(
        sa.select(allocations.c.resource_class_id)
        .where(
            allocations.c.resource_provider_id == provider_id,
            allocations.c.resource_class_id.in_(wanted),
        )
        .distinct()
    )
    return {row.resource_class_id for row in rows}


def _values(inv: Inventory) -> dict:
    return {name: getattr(inv, name) for name in _FIELDS}


def _check_generation(provider: ResourceProvider, expected: int) -> None:
    if expected != provider.generation:
        # Upstream's words exactly; nova matches them.
        raise exc.ResourceProviderConcurrentUpdate("resource provider generation conflict")


def current_class_ids(conn: Connection, provider_id: int) -> set[int]:
    return current_classes(conn, [provider_id])[provider_id]


def current_classes(conn: Connection, provider_ids: Iterable[int]) -> dict[int, set[int]]:
    """The class ids each provider has inventory of, in one query."""
    out: dict[int, set[int]] = {pid: set() for pid in provider_ids}
    rows = conn.execute(
        sa.select(inventories.c.resource_provider_id, inventories.c.resource_class_id).where(
            inventories.c.resource_provider_id.in_(sorted(out))
        )
    )
    for row in rows:
        out[row.resource_provider_id].add(row.resource_class_id)
    return out


def _in_use_error(
    conn: Connection, provider: ResourceProvider, class_ids: Iterable[int]
) -> exc.InventoryInUse:
    names = resource_class.names_for_ids(conn, class_ids)
    # Listed in class id order (standard classes first, in their canonical
    # order), as upstream's grouped query lists them.
    listed = ", ".join(names[class_id] for class_id in sorted(names))
    return exc.InventoryInUse(
        f"Inventory for '{listed}' on resource provider '{provider.uuid}' in use."
    )


def remove_classes(conn: Connection, provider: ResourceProvider, class_ids: set[int]) -> None:
    """Delete the provider's records of ``class_ids``; InventoryInUse if one is allocated."""
    if not class_ids:
        return
    in_use = used_class_ids(conn, provider.id, class_ids)
    if in_use:
        raise _in_use_error(conn, provider, in_use)
    conn.execute(
        sa.delete(inventories).where(
            inventories.c.resource_provider_id == provider.id,
            inventories.c.resource_class_id.in_(sorted(class_ids)),
        )
    )


def write_records(
    conn: Connection, provider_id: int, records: Mapping[int, Inventory], existing: set[int]
) -> None:
    """Store ``records`` (by class id): update the classes in ``existing``, insert the rest."""
    now = utcnow()
    changed = [
        {"rp": provider_id, "rc": class_id, **{f"new_{n}": v for n, v in _values(inv).items()}}
        for class_id, inv in sorted(records.items())
        if class_id in existing
    ]
    if changed:
        # One executemany; bind names must differ from the column names they set.
        conn.execute(
            sa.update(inventories)
            .where(
                inventories.c.resource_provider_id == sa.bindparam("rp"),
                inventories.c.resource_class_id == sa.bindparam("rc"),
            )
            .values({**{name: sa.bindparam(f"new_{name}") for name in _FIELDS}, "updated_at": now}),
            changed,
        )
    added = [
        {
            "resource_provider_id": provider_id,
            "resource_class_id": class_id,
            **_values(inv),
            "created_at": now,
        }
        for class_id, inv in sorted(records.items())
        if class_id not in existing
    ]
    if added:
        conn.execute(sa.insert(inventories), added)


def replace_all(
    conn: Connection,
    provider: ResourceProvider,
    new: dict[str, Inventory],
    expected_generation: int | None,
    reserved_may_equal_total: bool = True,
) -> int:
    """Make the provider's inventory exactly ``new``; the new generation.

    Checks in upstream's order: generation (when ``expected_generation`` is
    given), capacity, class names (400), removal of classes with allocations
    (InventoryInUse). Shrinking below current usage is allowed.
    """
    if expected_generation is not None:
        _check_generation(provider, expected_generation)
    check_capacity(provider, new.values(), reserved_may_equal_total)
    ids = _class_ids(conn, provider, new)
    current = current_class_ids(conn, provider.id)
    # The generation first: it is the row every writer of this provider locks.
    generation = rp_store.increment_generation(conn, provider.id, provider.generation)
    remove_classes(conn, provider, current - set(ids.values()))
    write_records(conn, provider.id, {ids[name]: inv for name, inv in new.items()}, current)
    return generation


def add(
    conn: Connection,
    provider: ResourceProvider,
    inv: Inventory,
    reserved_may_equal_total: bool = True,
) -> int:
    """Add one class of inventory; ConcurrentUpdate if the class is already there.

    Capacity is checked before the class name, and an unknown class is
    reported with the capacity errors, as upstream does.
    """
    check_capacity(provider, [inv], reserved_may_equal_total)
    try:
        class_id = resource_class.id_for_name(conn, inv.resource_class)
    except exc.ResourceClassNotFound as error:
        raise exc.InvalidInventoryCapacity(str(error)) from None
    if class_id in current_class_ids(conn, provider.id):
        raise exc.ConcurrentUpdate(
            f"Update conflict: inventory for {inv.resource_class} already exists on "
            f"resource provider {provider.uuid}."
        )
    generation = rp_store.increment_generation(conn, provider.id, provider.generation)
    try:
        conn.execute(
            sa.insert(inventories).values(
                resource_provider_id=provider.id,
                resource_class_id=class_id,
                **_values(inv),
                created_at=utcnow(),
            )
        )
    except IntegrityError:
        raise exc.ConcurrentUpdate(
            f"Update conflict: inventory for {inv.resource_class} was added concurrently."
        ) from None
    return generation


def update_one(
    conn: Connection,
    provider: ResourceProvider,
    inv: Inventory,
    expected_generation: int,
    reserved_may_equal_total: bool = True,
) -> int:
    """Replace one existing record (omitted fields were given their defaults).

    Generation mismatch -> ConcurrentUpdate; capacity -> 400; unknown class ->
    ResourceClassNotFound (404, as upstream); class not on the provider -> 400.
    """
    _check_generation(provider, expected_generation)
    check_capacity(provider, [inv], reserved_may_equal_total)
    class_id = resource_class.id_for_name(conn, inv.resource_class)
    if class_id not in current_class_ids(conn, provider.id):
        raise exc.Invalid(
            "No inventory record with resource class for resource provider "
            f"{provider.uuid}: No inventory of class {inv.resource_class} found."
        )
    generation = rp_store.increment_generation(conn, provider.id, provider.generation)
    write_records(conn, provider.id, {class_id: inv}, {class_id})
    return generation


def delete_one(conn: Connection, provider: ResourceProvider, class_name: str) -> int:
    """Delete one class; allocations of it give ConcurrentUpdate (upstream's quirk)."""
    class_id = resource_class.id_for_name(conn, class_name)
    if class_id not in current_class_ids(conn, provider.id):
        raise exc.InventoryNotFound(f"No inventory of class {class_name} found for delete")
    if used_class_ids(conn, provider.id, [class_id]):
        raise exc.ConcurrentUpdate(
            f"Unable to delete inventory of class {class_name}: Inventory for "
            f"'{class_name}' on resource provider '{provider.uuid}' in use."
        )
    generation = rp_store.increment_generation(conn, provider.id, provider.generation)
    conn.execute(
        sa.delete(inventories).where(
            inventories.c.resource_provider_id == provider.id,
            inventories.c.resource_class_id == class_id,
        )
    )
    return generation
