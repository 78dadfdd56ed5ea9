"""Persistence of inventories: replace, add, update, delete, generations (every backend)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.model import Inventory, ResourceProvider
from allotment.store import inventory as inv
from allotment.store import resource_provider as rps
from allotment.store import tables
from allotment.store.engine import Database

RP = "00000000-0000-0000-0000-000000000001"
VCPU, DISK = 0, 2


@pytest.fixture
def provider(db: Database) -> ResourceProvider:
    with db.write() as conn:
        return rps.create(conn, RP, "one")


def _fresh(db: Database) -> ResourceProvider:
    with db.read() as conn:
        return rps.get(conn, RP)


def _read(db: Database) -> dict[str, Inventory]:
    with db.read() as conn:
        return inv.read(conn, _fresh(db).id)[0]


def _replace(
    db: Database,
    new: dict[str, Inventory],
    generation: int | None = None,
    reserved_may_equal_total: bool = True,
) -> int:
    with db.write() as conn:
        current = rps.get(conn, RP)
        expected = current.generation if generation is None else generation
        return inv.replace_all(conn, current, new, expected, reserved_may_equal_total)


def _allocate(db: Database, class_id: int, used: int) -> None:
    with db.write() as conn:
        conn.execute(
            tables.allocations.insert().values(
                resource_provider_id=_fresh(db).id,
                consumer_id="c0000000-0000-0000-0000-000000000001",
                resource_class_id=class_id,
                used=used,
            )
        )


def test_replace_all_adds_updates_removes_and_bumps(db: Database, provider) -> None:
    assert _replace(db, {"VCPU": Inventory("VCPU", 8), "DISK_GB": Inventory("DISK_GB", 10)}) == 1
    assert (
        _replace(
            db,
            {
                "VCPU": Inventory(
                    "VCPU",
                    16,
                    reserved=1,
                    min_unit=2,
                    max_unit=8,
                    step_size=2,
                    allocation_ratio=1.5,
                ),
                "MEMORY_MB": Inventory("MEMORY_MB", 1024),
            },
        )
        == 2
    )
    assert _read(db) == {
        "VCPU": Inventory("VCPU", 16, 1, 2, 8, 2, 1.5),
        "MEMORY_MB": Inventory("MEMORY_MB", 1024),
    }
    assert _fresh(db).generation == 2


def test_identical_replace_still_bumps(db: Database, provider) -> None:
    _replace(db, {"VCPU": Inventory("VCPU", 8)})
    assert _replace(db, {"VCPU": Inventory("VCPU", 8)}) == 2


def test_read_reports_newest_timestamp(db: Database, provider) -> None:
    with db.read() as conn:
        assert inv.read(conn, provider.id) == ({}, None)
    _replace(db, {"VCPU": Inventory("VCPU", 8)})
    with db.read() as conn:
        records, stamp = inv.read(conn, provider.id)
    assert stamp is not None


def test_replace_generation_mismatch(db: Database, provider) -> None:
    with pytest.raises(exc.ConcurrentUpdate):
        _replace(db, {"VCPU": Inventory("VCPU", 8)}, generation=5)
    assert _read(db) == {}


def test_stale_provider_loses_the_compare_and_swap(db: Database, provider) -> None:
    """Two writers read generation 0; the second one's bump fails and nothing is written."""
    _replace(db, {"VCPU": Inventory("VCPU", 8)})
    with pytest.raises(exc.ResourceProviderConcurrentUpdate), db.write() as conn:
        inv.replace_all(conn, provider, {"DISK_GB": Inventory("DISK_GB", 8)}, None)
    assert set(_read(db)) == {"VCPU"}


def test_unknown_class_is_invalid(db: Database, provider) -> None:
    with pytest.raises(exc.Invalid, match="CUSTOM_NOPE"):
        _replace(db, {"CUSTOM_NOPE": Inventory("CUSTOM_NOPE", 8)})
    with pytest.raises(exc.Invalid):
        _replace(db, {"vcpu": Inventory("vcpu", 8)})


@pytest.mark.parametrize(
    "record, allowed_126, allowed_125",
    [
        (Inventory("VCPU", 8, reserved=8), True, False),
        (Inventory("VCPU", 8, reserved=9), False, False),
        (Inventory("VCPU", 8, reserved=7), True, True),
        (Inventory("VCPU", 8, allocation_ratio=0.0), True, False),
        (Inventory("VCPU", 8, allocation_ratio=-1.0), False, False),
        (Inventory("VCPU", 8, reserved=7, allocation_ratio=0.5), True, False),  # int(0.5) == 0
    ],
)
def test_capacity_rule_by_microversion(
    db: Database, provider, record: Inventory, allowed_126: bool, allowed_125: bool
) -> None:
    for allowed, flag in ((allowed_125, False), (allowed_126, True)):
        if allowed:
            _replace(db, {"VCPU": record}, reserved_may_equal_total=flag)
        else:
            with pytest.raises(exc.InvalidInventoryCapacity):
                _replace(db, {"VCPU": record}, reserved_may_equal_total=flag)


def test_removing_a_used_class_is_refused(db: Database, provider) -> None:
    _replace(db, {"VCPU": Inventory("VCPU", 8), "DISK_GB": Inventory("DISK_GB", 10)})
    _allocate(db, VCPU, 2)
    with pytest.raises(exc.InventoryInUse, match="VCPU"):
        _replace(db, {"DISK_GB": Inventory("DISK_GB", 10)})
    with pytest.raises(exc.InventoryInUse):
        _replace(db, {}, generation=None)
    # Removing the unused class and shrinking the used one below usage is fine.
    _replace(db, {"VCPU": Inventory("VCPU", 1)})
    assert _read(db) == {"VCPU": Inventory("VCPU", 1)}


def test_add_one(db: Database, provider) -> None:
    with db.write() as conn:
        assert inv.add(conn, provider, Inventory("DISK_GB", 100, reserved=2)) == 1
        stored, stamp = inv.read_one(conn, provider.id, "DISK_GB")
    assert stored == Inventory("DISK_GB", 100, reserved=2)
    assert stamp is not None


def test_add_existing_class_conflicts(db: Database, provider) -> None:
    _replace(db, {"DISK_GB": Inventory("DISK_GB", 10)})
    with pytest.raises(exc.ConcurrentUpdate), db.write() as conn:
        inv.add(conn, rps.get(conn, RP), Inventory("DISK_GB", 100))


def test_add_checks_class_and_capacity(db: Database, provider) -> None:
    with pytest.raises(exc.Invalid), db.write() as conn:
        inv.add(conn, provider, Inventory("CUSTOM_NOPE", 100))
    with pytest.raises(exc.InvalidInventoryCapacity), db.write() as conn:
        inv.add(conn, provider, Inventory("DISK_GB", 10, reserved=10), False)


def test_update_one(db: Database, provider) -> None:
    _replace(db, {"DISK_GB": Inventory("DISK_GB", 10, reserved=5, max_unit=5)})
    with db.write() as conn:
        generation = inv.update_one(conn, rps.get(conn, RP), Inventory("DISK_GB", 20), 1)
    assert generation == 2
    # A full replacement: omitted fields went back to their defaults.
    assert _read(db) == {"DISK_GB": Inventory("DISK_GB", 20)}


def test_update_one_errors(db: Database, provider) -> None:
    _replace(db, {"DISK_GB": Inventory("DISK_GB", 10)})
    current = _fresh(db)
    with pytest.raises(exc.ConcurrentUpdate), db.write() as conn:
        inv.update_one(conn, current, Inventory("DISK_GB", 20), 0)
    with pytest.raises(exc.ResourceClassNotFound), db.write() as conn:
        inv.update_one(conn, current, Inventory("CUSTOM_NOPE", 20), 1)
    with pytest.raises(exc.Invalid, match="No inventory record"), db.write() as conn:
        inv.update_one(conn, current, Inventory("VCPU", 20), 1)
    with pytest.raises(exc.InvalidInventoryCapacity), db.write() as conn:
        inv.update_one(conn, current, Inventory("DISK_GB", 20, reserved=21), 1)


def test_delete_one(db: Database, provider) -> None:
    _replace(db, {"DISK_GB": Inventory("DISK_GB", 10), "VCPU": Inventory("VCPU", 2)})
    _allocate(db, VCPU, 1)
    with pytest.raises(exc.ConcurrentUpdate, match="in use"), db.write() as conn:
        inv.delete_one(conn, rps.get(conn, RP), "VCPU")
    with pytest.raises(exc.InventoryNotFound), db.write() as conn:
        inv.delete_one(conn, rps.get(conn, RP), "MEMORY_MB")
    with pytest.raises(exc.ResourceClassNotFound), db.write() as conn:
        inv.delete_one(conn, rps.get(conn, RP), "CUSTOM_NOPE")
    with db.write() as conn:
        assert inv.delete_one(conn, rps.get(conn, RP), "DISK_GB") == 2
    assert set(_read(db)) == {"VCPU"}


def test_read_one_missing(db: Database, provider) -> None:
    with pytest.raises(exc.NotFound), db.read() as conn:
        inv.read_one(conn, provider.id, "VCPU")


def test_read_many_and_used_classes(db: Database, provider) -> None:
    _replace(db, {"DISK_GB": Inventory("DISK_GB", 10), "VCPU": Inventory("VCPU", 2)})
    _allocate(db, DISK, 3)
    with db.read() as conn:
        assert inv.read_many(conn, [provider.id, 999]) == {
            provider.id: {"DISK_GB": Inventory("DISK_GB", 10), "VCPU": Inventory("VCPU", 2)},
            999: {},
        }
        assert inv.used_class_ids(conn, provider.id, [VCPU, DISK]) == {DISK}


def test_allocation_ratio_round_trips(db: Database, provider) -> None:
    _replace(
        db,
        {
            "VCPU": Inventory("VCPU", 8, allocation_ratio=16.0),
            "DISK_GB": Inventory("DISK_GB", 8, allocation_ratio=1.5),
        },
    )
    records = _read(db)
    assert records["VCPU"].allocation_ratio == 16.0
    assert records["DISK_GB"].allocation_ratio == 1.5
    with db.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(tables.inventories)).scalar()
    assert count == 2


def test_concurrent_writers_cannot_both_win(db: Database, provider) -> None:
    """Two transactions replace the inventory from generation 0 at the same time.

    The first holds its transaction open after writing; the second must end
    with ConcurrentUpdate (blocked on the provider row, or, on SQLite, on the
    write lock) once the first commits, leaving only the first's inventory.
    """
    first_wrote = threading.Event()
    release_first = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with db.write() as conn:
            inv.replace_all(conn, rps.get(conn, RP), {"VCPU": Inventory("VCPU", 8)}, 0)
            first_wrote.set()
            release_first.wait(10)

    def second() -> None:
        try:
            with db.write() as conn:
                current = rps.get(conn, RP)
                inv.replace_all(conn, current, {"VCPU": Inventory("VCPU", 99)}, 0)
            outcome["second"] = "committed"
        except exc.ConcurrentUpdate as error:
            outcome["second"] = error

    one = threading.Thread(target=first)
    one.start()
    assert first_wrote.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.3)
    release_first.set()
    one.join(20)
    two.join(20)
    assert isinstance(outcome["second"], exc.ConcurrentUpdate)
    assert _read(db) == {"VCPU": Inventory("VCPU", 8)}
    assert _fresh(db).generation == 1
