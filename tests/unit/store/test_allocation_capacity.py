"""The capacity rules of allocation writes (spec Part E), without a database."""

from __future__ import annotations

import pytest

from allotment import exceptions as exc
from allotment.model import Inventory
from allotment.store.allocation import _NewRow, check_capacity

KEY = (1, 0)
NAMES = {0: "VCPU"}
UUIDS = {1: "rp-1", 2: "rp-2"}


def check(
    inventory: Inventory | None,
    *amounts: int,
    before: int = 0,
    released: int = 0,
    consumers: int = 1,
) -> None:
    rows = [_NewRow(f"c{i % consumers}", 1, 0, amount) for i, amount in enumerate(amounts)]
    inventories = {KEY: inventory} if inventory else {}
    check_capacity(rows, inventories, {KEY: before}, {KEY: released}, UUIDS, NAMES)


def test_fits_up_to_the_untruncated_capacity() -> None:
    check(Inventory("VCPU", total=3, allocation_ratio=1.5), 4)
    with pytest.raises(exc.CapacityExceeded, match="exceed the capacity"):
        check(Inventory("VCPU", total=3, allocation_ratio=1.5), 5)


def test_reserved_and_existing_usage_count() -> None:
    check(Inventory("VCPU", total=10, reserved=2), 3, before=5)
    with pytest.raises(exc.CapacityExceeded):
        check(Inventory("VCPU", total=10, reserved=2), 4, before=5)


def test_released_allocations_make_room() -> None:
    check(Inventory("VCPU", total=8), 8, before=6, released=6)


def test_amounts_of_several_consumers_are_summed() -> None:
    with pytest.raises(exc.CapacityExceeded):
        check(Inventory("VCPU", total=8), 5, 4, consumers=2)


@pytest.mark.parametrize("amount", [1, 7, 5])
def test_unit_constraints_per_amount(amount: int) -> None:
    with pytest.raises(exc.CapacityExceeded, match="violate inventory constraints"):
        check(Inventory("VCPU", total=100, min_unit=2, max_unit=6, step_size=2), amount)


def test_overcommitted_provider_accepts_no_increase() -> None:
    inventory = Inventory("VCPU", total=4)
    check(inventory, 6, before=8, released=6)  # 8 -> 8
    check(inventory, 5, before=8, released=6)  # 8 -> 7
    with pytest.raises(exc.CapacityExceeded):
        check(inventory, 7, before=8, released=6)  # 8 -> 9


def test_missing_inventory_is_invalid_inventory() -> None:
    with pytest.raises(exc.InvalidInventory, match="Inventory for 'VCPU' on resource provider"):
        check(None, 1)
