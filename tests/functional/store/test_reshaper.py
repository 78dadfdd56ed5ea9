"""The reshaper in the store, on every backend (spec Part K)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.model import Inventory
from allotment.store import allocation as alloc_store
from allotment.store import reshaper as reshaper_store
from allotment.store import tables
from allotment.store.engine import Database
from tests.functional.store.test_allocation import (
    C1,
    C2,
    RP_A,
    RP_B,
    consumer_row,
    cw,
    generation,
    make_provider,
    put,
    usage,
)


def inventory_of(db: Database, uuid: str) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(
            sa.select(tables.resource_classes.c.name, tables.inventories.c.total)
            .select_from(
                tables.inventories.join(
                    tables.resource_providers,
                    tables.resource_providers.c.id == tables.inventories.c.resource_provider_id,
                ).join(
                    tables.resource_classes,
                    tables.resource_classes.c.id == tables.inventories.c.resource_class_id,
                )
            )
            .where(tables.resource_providers.c.uuid == uuid)
        )
        return dict(rows.all())


def inv(generation: int, **totals: int) -> reshaper_store.ProviderInventories:
    return reshaper_store.ProviderInventories(
        generation, {name: Inventory(name, total) for name, total in totals.items()}
    )


def reshape(db: Database, inventories: dict, writes: list) -> None:
    alloc_store.run(db, lambda conn: reshaper_store.reshape(conn, inventories, writes), 10)


@pytest.fixture
def root_with_vgpu(db: Database) -> Database:
    """RP_A has VCPU and VGPU used by C1; RP_B (the future child) has nothing."""
    make_provider(db, RP_A, VCPU={"total": 8}, VGPU={"total": 4})
    make_provider(db, RP_B)
    put(db, cw(C1, {RP_A: {"VCPU": 2, "VGPU": 1}}))
    return db


def test_move_inventory_and_allocations(root_with_vgpu: Database) -> None:
    db = root_with_vgpu
    reshape(
        db,
        {RP_A: inv(1, VCPU=8), RP_B: inv(0, VGPU=4)},
        [cw(C1, {RP_A: {"VCPU": 2}, RP_B: {"VGPU": 1}}, check_generation=True, generation=1)],
    )
    assert inventory_of(db, RP_A) == {"VCPU": 8}
    assert inventory_of(db, RP_B) == {"VGPU": 4}
    assert usage(db) == {(RP_A, "VCPU"): 2, (RP_B, "VGPU"): 1}
    # union (+1), allocations (+1), final inventory (+1) for both.
    assert (generation(db, RP_A), generation(db, RP_B)) == (4, 3)
    assert consumer_row(db, C1).generation == 2


def test_removing_a_class_still_in_use_is_refused(root_with_vgpu: Database) -> None:
    db = root_with_vgpu
    with pytest.raises(exc.InventoryInUse, match="'VGPU'"):
        reshape(db, {RP_A: inv(1, VCPU=8), RP_B: inv(0, VGPU=4)}, [])
    assert inventory_of(db, RP_A) == {"VCPU": 8, "VGPU": 4}
    assert (generation(db, RP_A), generation(db, RP_B)) == (1, 0)


def test_generation_checked_up_front(root_with_vgpu: Database) -> None:
    db = root_with_vgpu
    with pytest.raises(exc.ConcurrentUpdate, match="actual: 1, given: 0"):
        reshape(db, {RP_A: inv(0, VCPU=8, VGPU=4)}, [])


def test_unknown_provider_and_class(root_with_vgpu: Database) -> None:
    db = root_with_vgpu
    missing = "99999999-0000-4000-8000-000000000009"
    with pytest.raises(exc.ResourceProviderNotFoundForReshape, match=missing):
        reshape(db, {RP_A: inv(1, VCPU=8, VGPU=4), missing: inv(0, VCPU=1)}, [])
    with pytest.raises(exc.Invalid, match="No such resource class CUSTOM_STEEL"):
        reshape(db, {RP_A: inv(1, CUSTOM_STEEL=8)}, [])


def test_allocation_failures_roll_everything_back(root_with_vgpu: Database) -> None:
    db = root_with_vgpu
    with pytest.raises(exc.CapacityExceeded):
        reshape(
            db,
            {RP_A: inv(1, VCPU=8), RP_B: inv(0, VGPU=4)},
            [cw(C1, {RP_A: {"VCPU": 2}, RP_B: {"VGPU": 5}}, check_generation=True, generation=1)],
        )
    with pytest.raises(exc.ConsumerGenerationConflict):
        reshape(
            db,
            {RP_A: inv(1, VCPU=8), RP_B: inv(0, VGPU=4)},
            [
                cw(
                    C1,
                    {RP_A: {"VCPU": 2}, RP_B: {"VGPU": 1}},
                    check_generation=True,
                    generation=None,
                )
            ],
        )
    assert inventory_of(db, RP_A) == {"VCPU": 8, "VGPU": 4}
    assert inventory_of(db, RP_B) == {}
    assert (generation(db, RP_A), generation(db, RP_B)) == (1, 0)
    assert usage(db) == {(RP_A, "VCPU"): 2, (RP_A, "VGPU"): 1}


def test_inventory_changes_in_place_and_new_consumers(root_with_vgpu: Database) -> None:
    db = root_with_vgpu
    reshape(
        db,
        {RP_A: inv(1, VCPU=16, VGPU=4)},
        [
            cw(C1, {}, check_generation=True, generation=1),
            cw(C2, {RP_A: {"VCPU": 12, "VGPU": 1}}, check_generation=True, generation=None),
        ],
    )
    assert inventory_of(db, RP_A) == {"VCPU": 16, "VGPU": 4}
    assert consumer_row(db, C1) is None
    assert consumer_row(db, C2).generation == 1
    assert usage(db) == {(RP_A, "VCPU"): 12, (RP_A, "VGPU"): 1}
    assert generation(db, RP_A) == 4


def test_emptied_consumer_providers_in_inventories_bumped_twice_only(
    root_with_vgpu: Database,
) -> None:
    db = root_with_vgpu
    # C1 is emptied; RP_A is listed in inventories, so only union + final bumps.
    reshape(db, {RP_A: inv(1, VCPU=8, VGPU=4)}, [cw(C1, {}, check_generation=True, generation=1)])
    assert generation(db, RP_A) == 3
