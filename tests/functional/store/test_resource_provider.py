"""Persistence of resource providers: create, update/move, delete, filters (every backend)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.model import Inventory
from allotment.store import inventory, tables
from allotment.store import resource_provider as rps
from allotment.store.engine import Database, utcnow
from allotment.store.resource_provider import ProviderFilter


def uuid(n: int) -> str:
    return f"00000000-0000-0000-0000-0000000000{n:02d}"


def agg(n: int) -> str:
    return f"aaaaaaaa-0000-0000-0000-0000000000{n:02d}"


def link_aggregates(conn: Connection, provider_id: int, *aggregates: str) -> None:
    for aggregate in aggregates:
        agg_id = conn.execute(
            sa.select(tables.placement_aggregates.c.id).where(
                tables.placement_aggregates.c.uuid == aggregate
            )
        ).scalar()
        if agg_id is None:
            agg_id = conn.execute(
                tables.placement_aggregates.insert().values(uuid=aggregate, created_at=utcnow())
            ).inserted_primary_key[0]
        conn.execute(
            tables.resource_provider_aggregates.insert().values(
                resource_provider_id=provider_id, aggregate_id=agg_id
            )
        )


def link_traits(conn: Connection, provider_id: int, *names: str) -> None:
    for name in names:
        trait_id = conn.execute(
            sa.select(tables.traits.c.id).where(tables.traits.c.name == name)
        ).scalar_one()
        conn.execute(
            tables.resource_provider_traits.insert().values(
                resource_provider_id=provider_id, trait_id=trait_id
            )
        )


def allocate(
    conn: Connection,
    provider_id: int,
    class_id: int,
    used: int,
    consumer: str = "c0000000-0000-0000-0000-000000000001",
) -> None:
    conn.execute(
        tables.allocations.insert().values(
            resource_provider_id=provider_id,
            consumer_id=consumer,
            resource_class_id=class_id,
            used=used,
        )
    )


def names(providers) -> list[str]:
    return [p.name for p in providers]


# --- create -----------------------------------------------------------------


def test_create_root_points_at_itself(db: Database) -> None:
    with db.write() as conn:
        provider = rps.create(conn, uuid(1), "one")
    assert provider.generation == 0
    assert provider.root_provider_uuid == uuid(1)
    assert provider.root_provider_id == provider.id
    assert provider.parent_provider_uuid is None
    assert provider.created_at is not None


def test_create_child_takes_parents_root(db: Database) -> None:
    with db.write() as conn:
        rps.create(conn, uuid(1), "root")
        rps.create(conn, uuid(2), "child", uuid(1))
        grandchild = rps.create(conn, uuid(3), "grandchild", uuid(2))
    assert grandchild.parent_provider_uuid == uuid(2)
    assert grandchild.root_provider_uuid == uuid(1)


@pytest.mark.parametrize("name, new_uuid", [("one", uuid(9)), ("other", uuid(1))])
def test_create_duplicate_name_or_uuid(db: Database, name: str, new_uuid: str) -> None:
    with db.write() as conn:
        rps.create(conn, uuid(1), "one")
    with pytest.raises(exc.DuplicateName), db.write() as conn:
        rps.create(conn, new_uuid, name)


def test_create_with_missing_or_self_parent_is_invalid(db: Database) -> None:
    with pytest.raises(exc.Invalid), db.write() as conn:
        rps.create(conn, uuid(1), "one", uuid(2))
    with pytest.raises(exc.Invalid), db.write() as conn:
        rps.create(conn, uuid(1), "one", uuid(1))
    with db.read() as conn:
        assert rps.find_filtered(conn) == []


# --- update -----------------------------------------------------------------


def _tree(db: Database) -> None:
    """1 -> 2 -> 3, and a separate root 4 with child 5."""
    with db.write() as conn:
        rps.create(conn, uuid(1), "r1")
        rps.create(conn, uuid(2), "c2", uuid(1))
        rps.create(conn, uuid(3), "g3", uuid(2))
        rps.create(conn, uuid(4), "r4")
        rps.create(conn, uuid(5), "c5", uuid(4))


def _update(db: Database, n: int, name: str, **kwargs):
    with db.write() as conn:
        return rps.update(conn, rps.get(conn, uuid(n)), name, **kwargs)


def test_rename_keeps_generation(db: Database) -> None:
    _tree(db)
    with db.write() as conn:
        provider = rps.get(conn, uuid(1))
        rps.increment_generation(conn, provider.id, 0)
    renamed = _update(db, 1, "renamed")
    assert renamed.name == "renamed"
    assert renamed.generation == 1
    assert renamed.updated_at is not None


def test_rename_to_taken_name(db: Database) -> None:
    _tree(db)
    with pytest.raises(exc.DuplicateName):
        _update(db, 1, "c2")
    assert _update(db, 1, "r1").name == "r1"


def test_root_adopts_parent_without_reparent_permission(db: Database) -> None:
    _tree(db)
    moved = _update(db, 4, "r4", set_parent=True, parent_uuid=uuid(3))
    assert moved.parent_provider_uuid == uuid(3)
    assert moved.root_provider_uuid == uuid(1)
    with db.read() as conn:
        assert rps.get(conn, uuid(5)).root_provider_uuid == uuid(1)
        assert names(rps.find_filtered(conn, ProviderFilter(in_tree=uuid(5)))) == [
            "r1",
            "c2",
            "g3",
            "r4",
            "c5",
        ]


def test_same_parent_is_no_change(db: Database) -> None:
    _tree(db)
    assert _update(db, 2, "c2", set_parent=True, parent_uuid=uuid(1)).parent_provider_uuid == uuid(
        1
    )


@pytest.mark.parametrize(
    ("new_parent", "refusal"),
    [
        (uuid(4), "update failed because: re-parenting"),
        (None, "update failed because: un-parenting"),
    ],
)
def test_reparent_and_unparent_need_permission(
    db: Database, new_parent: str | None, refusal: str
) -> None:
    _tree(db)
    with pytest.raises(exc.Invalid, match=refusal):
        _update(db, 2, "c2", set_parent=True, parent_uuid=new_parent)


def test_reparent_moves_whole_subtree(db: Database) -> None:
    _tree(db)
    moved = _update(db, 2, "c2", set_parent=True, parent_uuid=uuid(5), allow_reparent=True)
    assert moved.parent_provider_uuid == uuid(5)
    assert moved.root_provider_uuid == uuid(4)
    with db.read() as conn:
        assert rps.get(conn, uuid(3)).root_provider_uuid == uuid(4)
        assert rps.get(conn, uuid(1)).root_provider_uuid == uuid(1)


def test_unparent_makes_subtree_a_tree(db: Database) -> None:
    _tree(db)
    moved = _update(db, 2, "c2", set_parent=True, parent_uuid=None, allow_reparent=True)
    assert moved.parent_provider_uuid is None
    assert moved.root_provider_uuid == uuid(2)
    with db.read() as conn:
        assert rps.get(conn, uuid(3)).root_provider_uuid == uuid(2)


@pytest.mark.parametrize("n, parent", [(1, 3), (2, 3), (2, 2), (1, 1)])
def test_loops_are_rejected(db: Database, n: int, parent: int) -> None:
    _tree(db)
    with pytest.raises(exc.Invalid):
        _update(db, n, f"x{n}", set_parent=True, parent_uuid=uuid(parent), allow_reparent=True)


def test_missing_parent_is_invalid(db: Database) -> None:
    _tree(db)
    with pytest.raises(exc.Invalid, match="does not exist"):
        _update(db, 4, "r4", set_parent=True, parent_uuid=uuid(99))


# --- delete -----------------------------------------------------------------


def test_delete_removes_links_but_not_aggregates(db: Database) -> None:
    with db.write() as conn:
        provider = rps.create(conn, uuid(1), "one")
        inventory.replace_all(conn, provider, {"VCPU": Inventory("VCPU", 4)}, 0)
        link_aggregates(conn, provider.id, agg(1))
        link_traits(conn, provider.id, "HW_CPU_X86_AVX")
    with db.write() as conn:
        rps.delete(conn, rps.get(conn, uuid(1)))
    with db.read() as conn:
        assert rps.find(conn, uuid(1)) is None
        for table in (
            tables.inventories,
            tables.resource_provider_traits,
            tables.resource_provider_aggregates,
        ):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
        assert conn.execute(sa.select(tables.placement_aggregates.c.uuid)).scalar() == agg(1)


def test_delete_parent_refused(db: Database) -> None:
    _tree(db)
    with pytest.raises(exc.CannotDeleteParentProvider), db.write() as conn:
        rps.delete(conn, rps.get(conn, uuid(2)))
    with db.write() as conn:
        rps.delete(conn, rps.get(conn, uuid(3)))
        rps.delete(conn, rps.get(conn, uuid(2)))
    with db.read() as conn:
        assert names(rps.find_filtered(conn)) == ["r1", "r4", "c5"]


def test_delete_with_allocations_refused(db: Database) -> None:
    with db.write() as conn:
        provider = rps.create(conn, uuid(1), "one")
        inventory.replace_all(conn, provider, {"VCPU": Inventory("VCPU", 4)}, 0)
        allocate(conn, provider.id, 0, 1)
    with pytest.raises(exc.ResourceProviderInUse), db.write() as conn:
        rps.delete(conn, rps.get(conn, uuid(1)))
    with db.read() as conn:
        assert rps.find(conn, uuid(1)) is not None


def test_delete_with_stale_generation_loses(db: Database) -> None:
    with db.write() as conn:
        stale = rps.create(conn, uuid(1), "one")
        rps.increment_generation(conn, stale.id, 0)
    with pytest.raises(exc.ConcurrentUpdate), db.write() as conn:
        rps.delete(conn, stale)


def test_increment_generation_is_compare_and_swap(db: Database) -> None:
    with db.write() as conn:
        provider = rps.create(conn, uuid(1), "one")
        assert rps.increment_generation(conn, provider.id, 0) == 1
        with pytest.raises(exc.ResourceProviderConcurrentUpdate):
            rps.increment_generation(conn, provider.id, 0)
        assert rps.get(conn, uuid(1)).generation == 1


# --- filters ----------------------------------------------------------------


@pytest.fixture
def populated(db: Database) -> Database:
    """r1 (VCPU 8 x2, agg1, AVX) -> c2 (DISK 100 step 10, agg2, SSD); r4 (VCPU 4 used 3, agg1+2)."""
    with db.write() as conn:
        r1 = rps.create(conn, uuid(1), "r1")
        c2 = rps.create(conn, uuid(2), "c2", uuid(1))
        r4 = rps.create(conn, uuid(4), "r4")
        inventory.replace_all(
            conn,
            r1,
            {"VCPU": Inventory("VCPU", 8, reserved=2, max_unit=6, allocation_ratio=2.0)},
            0,
        )
        inventory.replace_all(
            conn, c2, {"DISK_GB": Inventory("DISK_GB", 100, min_unit=10, step_size=10)}, 0
        )
        inventory.replace_all(conn, r4, {"VCPU": Inventory("VCPU", 4)}, 0)
        allocate(conn, r4.id, 0, 3)
        link_aggregates(conn, r1.id, agg(1))
        link_aggregates(conn, c2.id, agg(2))
        link_aggregates(conn, r4.id, agg(1), agg(2))
        link_traits(conn, r1.id, "HW_CPU_X86_AVX")
        link_traits(conn, c2.id, "STORAGE_DISK_SSD")
    return db


def _find(db: Database, **kwargs) -> list[str]:
    with db.read() as conn:
        return names(rps.find_filtered(conn, ProviderFilter(**kwargs)))


def test_no_filter_lists_all_in_creation_order(populated: Database) -> None:
    assert _find(populated) == ["r1", "c2", "r4"]


def test_name_uuid_and_in_tree(populated: Database) -> None:
    assert _find(populated, name="c2") == ["c2"]
    assert _find(populated, uuid=uuid(4)) == ["r4"]
    assert _find(populated, in_tree=uuid(2)) == ["r1", "c2"]
    assert _find(populated, in_tree=uuid(99)) == []
    assert _find(populated, name="r1", uuid=uuid(4)) == []


def test_aggregate_filters_use_own_membership(populated: Database) -> None:
    a1, a2, a9 = frozenset({agg(1)}), frozenset({agg(2)}), frozenset({agg(9)})
    assert _find(populated, aggregates_any_of=(a1,)) == ["r1", "r4"]
    assert _find(populated, aggregates_any_of=(a1 | a2,)) == ["r1", "c2", "r4"]
    assert _find(populated, aggregates_any_of=(a1, a2)) == ["r4"]
    assert _find(populated, aggregates_none_of=a1) == ["c2"]
    assert _find(populated, aggregates_any_of=(a2,), aggregates_none_of=a1) == ["c2"]
    assert _find(populated, aggregates_any_of=(a9,)) == []


def test_trait_filters(populated: Database) -> None:
    avx, ssd = "HW_CPU_X86_AVX", "STORAGE_DISK_SSD"
    assert _find(populated, traits_any_of=(frozenset({avx}),)) == ["r1"]
    assert _find(populated, traits_any_of=(frozenset({avx, ssd}),)) == ["r1", "c2"]
    assert _find(populated, traits_forbidden=frozenset({avx})) == ["c2", "r4"]
    assert _find(populated, traits_any_of=(frozenset({avx}), frozenset({ssd}))) == []


def test_unknown_trait_raises(populated: Database) -> None:
    with pytest.raises(exc.TraitNotFound, match="CUSTOM_NOPE"):
        _find(populated, traits_forbidden=frozenset({"CUSTOM_NOPE"}))


def test_resources_capacity_and_units(populated: Database) -> None:
    # r1: capacity (8-2)*2 = 12, max_unit 6; r4: capacity 4 with 3 used.
    assert _find(populated, resources={"VCPU": 1}) == ["r1", "r4"]
    assert _find(populated, resources={"VCPU": 2}) == ["r1"]
    assert _find(populated, resources={"VCPU": 6}) == ["r1"]
    assert _find(populated, resources={"VCPU": 7}) == []
    # c2: min_unit 10, step 10.
    assert _find(populated, resources={"DISK_GB": 5}) == []
    assert _find(populated, resources={"DISK_GB": 15}) == []
    assert _find(populated, resources={"DISK_GB": 20}) == ["c2"]
    assert _find(populated, resources={"DISK_GB": 100}) == ["c2"]
    assert _find(populated, resources={"DISK_GB": 110}) == []
    # Every class must fit on the same provider.
    assert _find(populated, resources={"VCPU": 1, "DISK_GB": 10}) == []
    assert _find(populated, resources={"MEMORY_MB": 1}) == []


def test_resources_capacity_counts_every_consumer(populated: Database) -> None:
    with populated.write() as conn:
        r1 = rps.get(conn, uuid(1))
        allocate(conn, r1.id, 0, 5, "c0000000-0000-0000-0000-000000000001")
        allocate(conn, r1.id, 0, 5, "c0000000-0000-0000-0000-000000000002")
    assert _find(populated, resources={"VCPU": 2}) == ["r1"]
    assert _find(populated, resources={"VCPU": 3}) == []


def test_resources_fractional_ratio_is_not_truncated_early(db: Database) -> None:
    with db.write() as conn:
        provider = rps.create(conn, uuid(1), "one")
        inventory.replace_all(
            conn, provider, {"VCPU": Inventory("VCPU", 3, allocation_ratio=1.5)}, 0
        )
    assert _find(db, resources={"VCPU": 4}) == ["one"]
    assert _find(db, resources={"VCPU": 5}) == []


def test_unknown_class_raises(populated: Database) -> None:
    with pytest.raises(exc.ResourceClassNotFound):
        _find(populated, resources={"CUSTOM_NOPE": 1})
