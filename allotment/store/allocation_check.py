"""Whether a write's allocations fit their inventories: the rules, without SQL.

For every (provider, class) a write allocates: the provider must have
inventory of the class; each amount must lie within ``min_unit`` and
``max_unit`` and be a multiple of ``step_size``; and the usage after the
write must stay within the capacity, ``(total - reserved) * allocation_ratio``.
The usage before the write is read by the caller in one statement, minus what
the rewritten consumers held; a rewrite that leaves an over-committed
provider no worse is accepted, as upstream accepts it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from allotment import exceptions as exc
from allotment.model import Inventory

# (provider id, resource class id)
Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class NewRow:
    """One allocation row a write puts in (or, read back, one it replaces)."""

    consumer_uuid: str
    provider_id: int
    class_id: int
    used: int


def check_capacity(
    new_rows: Iterable[NewRow],
    inventories: Mapping[Key, Inventory],
    usage_before: Mapping[Key, int],
    released: Mapping[Key, int],
    provider_uuids: Mapping[int, str],
    class_names: Mapping[int, str],
) -> None:
    """Raise unless every new row fits its inventory.

    ``usage_before`` is the usage before this write, ``released`` what the
    written consumers held before (it is replaced). Amounts for one key from
    several consumers are summed; unit constraints apply to each amount.
    The checks and their texts follow upstream's order: first every provider
    without any inventory of the requested classes (all named in one error),
    then row by row: no inventory of the class, unit constraints, capacity.
    """
    rows = list(new_rows)
    # A set built in row order iterates as upstream's does (ids are upstream's).
    class_ids = set([row.class_id for row in rows])  # noqa: C403 - same order as upstream
    with_inventory = {key[0] for key in inventories}
    missing = [
        provider_uuids[pid]
        for pid in dict.fromkeys(row.provider_id for row in rows)
        if pid not in with_inventory
    ]
    if missing:
        classes = ", ".join(class_names[cid] for cid in class_ids)
        raise exc.InvalidInventory(
            f"Unable to allocate inventory: Inventory for '{classes}' on resource provider "
            f"'{', '.join(missing)}' invalid."
        )
    requested: dict[Key, int] = defaultdict(int)
    for row in rows:
        key = (row.provider_id, row.class_id)
        where = (
            f"'{class_names[row.class_id]}' on resource provider "
            f"'{provider_uuids[row.provider_id]}'"
        )
        requested[key] += row.used
        if row.used == 0:
            continue
        inventory = inventories.get(key)
        if inventory is None:
            raise exc.InvalidInventory(
                f"Unable to allocate inventory: Inventory for {where} invalid."
            )
        if (
            not (inventory.min_unit <= row.used <= inventory.max_unit)
            or row.used % inventory.step_size
        ):
            raise exc.CapacityExceeded(
                f"Unable to allocate inventory: Unable to create allocation for {where}. "
                f"The requested amount would violate inventory constraints."
            )
        before = usage_before.get(key, 0)
        used = before - released.get(key, 0)
        if inventory.capacity < used + row.used or inventory.capacity < used + requested[key]:
            # A write may leave an over-committed provider over-committed as long
            # as it does not make it worse (upstream accepts such a rewrite).
            if before and used + requested[key] <= before:
                continue
            raise exc.CapacityExceeded(
                f"Unable to allocate inventory: Unable to create allocation for {where}. "
                f"The requested amount would exceed the capacity."
            )
