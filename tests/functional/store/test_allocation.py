"""Allocation writes and reads in the store, on every backend (spec Parts E, H)."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

import pytest
import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.store import allocation as alloc_store
from allotment.store import consumer as consumer_store
from allotment.store import resource_provider as rp_store
from allotment.store import tables
from allotment.store.engine import Database

RP_A = "aaaaaaaa-0000-4000-8000-000000000001"
RP_B = "bbbbbbbb-0000-4000-8000-000000000002"
C1 = "c1c1c1c1-0000-4000-8000-000000000001"
C2 = "c2c2c2c2-0000-4000-8000-000000000002"


def make_provider(db: Database, uuid: str, **inventories: dict[str, Any]) -> int:
    """A root provider with inventory, written with SQL (no inventory API needed)."""
    with db.write() as conn:
        provider_id = conn.execute(
            sa.insert(tables.resource_providers).values(uuid=uuid, name=f"rp-{uuid}", generation=0)
        ).inserted_primary_key[0]
        conn.execute(
            sa.update(tables.resource_providers)
            .where(tables.resource_providers.c.id == provider_id)
            .values(root_provider_id=provider_id)
        )
        set_inventory(conn, provider_id, inventories)
    return provider_id


def set_inventory(
    conn: sa.Connection, provider_id: int, inventories: dict[str, dict[str, Any]]
) -> None:
    ids = dict(
        conn.execute(sa.select(tables.resource_classes.c.name, tables.resource_classes.c.id)).all()
    )
    conn.execute(
        sa.delete(tables.inventories).where(
            tables.inventories.c.resource_provider_id == provider_id
        )
    )
    for name, fields in inventories.items():
        record = {
            "reserved": 0,
            "min_unit": 1,
            "max_unit": 2147483647,
            "step_size": 1,
            "allocation_ratio": 1.0,
            **fields,
        }
        conn.execute(
            sa.insert(tables.inventories).values(
                resource_provider_id=provider_id, resource_class_id=ids[name], **record
            )
        )


def generation(db: Database, uuid: str) -> int:
    with db.read() as conn:
        return rp_store.get(conn, uuid).generation


def usage(db: Database) -> dict[tuple[str, str], int]:
    with db.read() as conn:
        rows = conn.execute(
            sa.select(
                tables.resource_providers.c.uuid,
                tables.resource_classes.c.name,
                sa.func.sum(tables.allocations.c.used),
            )
            .select_from(
                tables.allocations.join(
                    tables.resource_providers,
                    tables.resource_providers.c.id == tables.allocations.c.resource_provider_id,
                ).join(
                    tables.resource_classes,
                    tables.resource_classes.c.id == tables.allocations.c.resource_class_id,
                )
            )
            .group_by(tables.resource_providers.c.uuid, tables.resource_classes.c.name)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}


def consumer_row(db: Database, uuid: str):  # noqa: ANN201 - a Consumer or None
    with db.read() as conn:
        return consumer_store.find(conn, uuid)


def cw(uuid: str, allocations: dict[str, dict[str, int]], **kw: Any) -> alloc_store.ConsumerWrite:
    kw.setdefault("project_id", "proj")
    kw.setdefault("user_id", "user")
    return alloc_store.ConsumerWrite(uuid=uuid, allocations=allocations, **kw)


def put(db: Database, *writes: alloc_store.ConsumerWrite, retries: int = 10) -> None:
    alloc_store.write(db, list(writes), retries)


@pytest.fixture
def two_providers(db: Database) -> Database:
    make_provider(db, RP_A, VCPU={"total": 8}, MEMORY_MB={"total": 1024})
    make_provider(db, RP_B, VCPU={"total": 4}, DISK_GB={"total": 100})
    return db


def test_first_write_creates_consumer_at_generation_1(two_providers: Database) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 2, "MEMORY_MB": 512}}, consumer_type="INSTANCE"))
    consumer = consumer_row(db, C1)
    assert consumer is not None
    assert (consumer.generation, consumer.project_id, consumer.user_id, consumer.consumer_type) == (
        1,
        "proj",
        "user",
        "INSTANCE",
    )
    assert generation(db, RP_A) == 1
    assert generation(db, RP_B) == 0
    with db.read() as conn:
        found, allocs = alloc_store.get_for_consumer(conn, C1)
    assert found == consumer
    assert {(a.resource_provider_uuid, a.resource_class, a.used) for a in allocs} == {
        (RP_A, "VCPU", 2),
        (RP_A, "MEMORY_MB", 512),
    }
    assert all(a.resource_provider_generation == 1 for a in allocs)


def test_every_write_bumps_consumer_and_new_providers_only(two_providers: Database) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 2}}))
    put(db, cw(C1, {RP_B: {"VCPU": 1}}))  # move A -> B: only B bumped
    assert (generation(db, RP_A), generation(db, RP_B)) == (1, 1)
    assert consumer_row(db, C1).generation == 2
    assert usage(db) == {(RP_B, "VCPU"): 1}
    # Emptying the consumer bumps the providers it used, then deletes it.
    put(db, cw(C1, {}, check_generation=True, generation=2))
    assert (generation(db, RP_A), generation(db, RP_B)) == (1, 2)
    assert consumer_row(db, C1) is None
    assert usage(db) == {}


def test_consumer_generation_rules(two_providers: Database) -> None:
    db = two_providers
    with pytest.raises(exc.ConsumerGenerationConflict, match="expected null but got 3"):
        put(db, cw(C1, {RP_A: {"VCPU": 1}}, check_generation=True, generation=3))
    put(db, cw(C1, {RP_A: {"VCPU": 1}}, check_generation=True, generation=None))
    with pytest.raises(exc.ConsumerGenerationConflict, match="expected 1 but got None"):
        put(db, cw(C1, {RP_A: {"VCPU": 1}}, check_generation=True, generation=None))
    with pytest.raises(exc.ConsumerGenerationConflict, match="expected 1 but got 7"):
        put(db, cw(C1, {RP_A: {"VCPU": 1}}, check_generation=True, generation=7))
    # Below 1.28 there is no check, but the generation still advances.
    put(db, cw(C1, {RP_A: {"VCPU": 3}}))
    assert consumer_row(db, C1).generation == 2
    assert generation(db, RP_A) == 2  # the failed writes changed nothing


def test_failed_write_leaves_no_trace(two_providers: Database) -> None:
    db = two_providers
    with pytest.raises(exc.CapacityExceeded):
        put(db, cw(C1, {RP_A: {"VCPU": 9}}, project_id="new-proj", consumer_type="NEWTYPE"))
    assert consumer_row(db, C1) is None
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.projects)).scalar() == 0
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(tables.consumer_types)).scalar()
            == 0
        )
    assert generation(db, RP_A) == 0


@pytest.mark.parametrize(
    ("inventory", "amount", "error"),
    [
        ({"total": 8}, 9, exc.CapacityExceeded),
        ({"total": 8, "reserved": 2}, 7, exc.CapacityExceeded),
        ({"total": 8, "min_unit": 2}, 1, exc.CapacityExceeded),
        ({"total": 8, "max_unit": 4}, 5, exc.CapacityExceeded),
        ({"total": 8, "step_size": 3}, 4, exc.CapacityExceeded),
        # (total - reserved) * ratio is not truncated: 3 * 1.5 = 4.5 admits 4, not 5.
        ({"total": 3, "allocation_ratio": 1.5}, 5, exc.CapacityExceeded),
    ],
)
def test_capacity_violations(
    db: Database, inventory: dict, amount: int, error: type[Exception]
) -> None:
    make_provider(db, RP_A, VCPU=inventory)
    with pytest.raises(error, match="Unable to allocate inventory"):
        put(db, cw(C1, {RP_A: {"VCPU": amount}}))
    assert usage(db) == {}


@pytest.mark.parametrize(
    ("inventory", "amount"),
    [
        ({"total": 8}, 8),
        ({"total": 8, "reserved": 2}, 6),
        ({"total": 8, "step_size": 3, "min_unit": 3, "max_unit": 6}, 6),
        ({"total": 3, "allocation_ratio": 1.5}, 4),
        ({"total": 1, "allocation_ratio": 16.0}, 16),
    ],
)
def test_capacity_fits(db: Database, inventory: dict, amount: int) -> None:
    make_provider(db, RP_A, VCPU=inventory)
    put(db, cw(C1, {RP_A: {"VCPU": amount}}))
    assert usage(db) == {(RP_A, "VCPU"): amount}


def test_no_inventory_unknown_class_unknown_provider(two_providers: Database) -> None:
    db = two_providers
    with pytest.raises(exc.InvalidInventory, match="Inventory for 'DISK_GB'"):
        put(db, cw(C1, {RP_A: {"DISK_GB": 1}}))
    with pytest.raises(exc.Invalid, match="No such resource class CUSTOM_NOPE"):
        put(db, cw(C1, {RP_A: {"CUSTOM_NOPE": 1}}))
    missing = str(uuidlib.uuid4())
    with pytest.raises(exc.Invalid, match=f"resource provider '{missing}' that does not exist"):
        put(db, cw(C1, {missing: {"VCPU": 1}}))
    assert consumer_row(db, C1) is None


def test_amounts_of_several_consumers_are_summed(two_providers: Database) -> None:
    db = two_providers
    with pytest.raises(exc.CapacityExceeded):
        put(db, cw(C1, {RP_A: {"VCPU": 5}}), cw(C2, {RP_A: {"VCPU": 4}}))
    assert usage(db) == {}
    assert consumer_row(db, C1) is None and consumer_row(db, C2) is None
    put(db, cw(C1, {RP_A: {"VCPU": 4}}), cw(C2, {RP_A: {"VCPU": 4}, RP_B: {"DISK_GB": 10}}))
    assert usage(db) == {(RP_A, "VCPU"): 8, (RP_B, "DISK_GB"): 10}
    assert (generation(db, RP_A), generation(db, RP_B)) == (1, 1)  # once per write


def test_rewrite_of_own_allocation_does_not_count_twice(two_providers: Database) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 6}}))
    put(db, cw(C1, {RP_A: {"VCPU": 8}}))  # 8 fits once the old 6 is replaced
    assert usage(db) == {(RP_A, "VCPU"): 8}


def test_overcommitted_provider_accepts_rewrites_that_do_not_raise_usage(
    two_providers: Database,
) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 6}}), cw(C2, {RP_A: {"VCPU": 2}}))
    with db.write() as conn:  # shrink the inventory under the usage
        provider = rp_store.get(conn, RP_A)
        set_inventory(conn, provider.id, {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 1024}})
    put(db, cw(C1, {RP_A: {"VCPU": 6}}))  # same usage: accepted
    put(db, cw(C1, {RP_A: {"VCPU": 5}}))  # lower usage: accepted
    with pytest.raises(exc.CapacityExceeded):
        put(db, cw(C2, {RP_A: {"VCPU": 3}}))  # raises usage: refused
    assert usage(db) == {(RP_A, "VCPU"): 7}


def test_moving_between_consumers_in_one_write(two_providers: Database) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 8}}, consumer_type="INSTANCE"))
    # A full provider: the move only fits because C1's allocation goes away.
    put(
        db,
        cw(C1, {}, check_generation=True, generation=1),
        cw(
            C2,
            {RP_A: {"VCPU": 8}},
            check_generation=True,
            generation=None,
            consumer_type="MIGRATION",
        ),
    )
    assert consumer_row(db, C1) is None
    assert consumer_row(db, C2).consumer_type == "MIGRATION"
    assert usage(db) == {(RP_A, "VCPU"): 8}


def test_owner_and_type_updates(two_providers: Database) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 1}}, consumer_type="INSTANCE"))
    put(db, cw(C1, {RP_A: {"VCPU": 1}}, project_id="p2", user_id="u2"))  # type kept
    consumer = consumer_row(db, C1)
    assert (consumer.project_id, consumer.user_id, consumer.consumer_type, consumer.generation) == (
        "p2",
        "u2",
        "INSTANCE",
        2,
    )
    put(db, cw(C1, {RP_A: {"VCPU": 1}}, consumer_type="MIGRATION"))
    assert consumer_row(db, C1).consumer_type == "MIGRATION"


def test_empty_write_for_unknown_consumer_keeps_it_at_generation_0(
    two_providers: Database,
) -> None:
    # As upstream: the consumer is created and, having had no allocations to
    # remove, kept; nothing is bumped.
    db = two_providers
    put(db, cw(C1, {}, check_generation=True, generation=None))
    row = consumer_row(db, C1)
    assert row is not None and row.generation == 0
    assert (generation(db, RP_A), generation(db, RP_B)) == (0, 0)


def test_delete_for_consumer_does_not_bump_providers(two_providers: Database) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 1}, RP_B: {"VCPU": 1}}))
    with db.write() as conn:
        assert alloc_store.delete_for_consumer(conn, C1) is True
    assert consumer_row(db, C1) is None
    assert usage(db) == {}
    assert (generation(db, RP_A), generation(db, RP_B)) == (1, 1)
    with db.write() as conn:
        assert alloc_store.delete_for_consumer(conn, C1) is False


def test_provider_allocations_carry_consumer_generations(two_providers: Database) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 1, "MEMORY_MB": 64}}))
    put(db, cw(C2, {RP_A: {"VCPU": 2}}))
    put(db, cw(C2, {RP_A: {"VCPU": 3}}))
    with db.read() as conn:
        found = alloc_store.get_for_provider(conn, rp_store.get(conn, RP_A).id)
    assert {(a.consumer_uuid, a.resource_class, a.used, a.consumer_generation) for a in found} == {
        (C1, "VCPU", 1, 1),
        (C1, "MEMORY_MB", 64, 1),
        (C2, "VCPU", 3, 2),
    }


def test_lost_provider_races_are_retried_then_reported(db: Database) -> None:
    calls = []

    def always_loses(conn: sa.Connection) -> None:
        calls.append(1)
        raise exc.ResourceProviderConcurrentUpdate("lost")

    with pytest.raises(exc.ConcurrentUpdate, match="changed while attempting to allocate") as info:
        alloc_store.run(db, always_loses, retry_count=3)
    assert not isinstance(info.value, exc.ResourceProviderConcurrentUpdate)
    assert len(calls) == 4  # the first attempt and three retries

    attempts = []

    def wins_second_time(conn: sa.Connection) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise exc.ResourceProviderConcurrentUpdate("lost")
        return "done"

    assert alloc_store.run(db, wins_second_time, retry_count=3) == "done"


def test_consumer_conflicts_are_not_retried(db: Database) -> None:
    calls = []

    def conflict(conn: sa.Connection) -> None:
        calls.append(1)
        raise exc.ConsumerGenerationConflict("consumer generation conflict")

    with pytest.raises(exc.ConsumerGenerationConflict):
        alloc_store.run(db, conflict, retry_count=10)
    assert len(calls) == 1


def test_stale_provider_generation_loses_the_compare_and_swap(two_providers: Database) -> None:
    db = two_providers
    with db.write() as conn:
        provider = rp_store.get(conn, RP_A)
        rp_store.increment_generation(conn, provider.id, provider.generation)
        with pytest.raises(exc.ResourceProviderConcurrentUpdate):
            rp_store.increment_generation(conn, provider.id, provider.generation)
