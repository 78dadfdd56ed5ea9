"""Resource classes in the store: ordering, custom ids, rename and delete rules."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.store import resource_class as store
from allotment.store.engine import Database, utcnow
from allotment.store.standard import STANDARD_RESOURCE_CLASSES
from allotment.store.tables import inventories
from tests.functional.store.test_trait import make_provider


def test_list_standard_first_then_custom_in_creation_order(db: Database) -> None:
    with db.write() as conn:
        store.create(conn, "CUSTOM_ZED")
        store.create(conn, "CUSTOM_ALPHA")
    with db.read() as conn:
        names = [rc.name for rc in store.list_all(conn)]
    assert names == [*STANDARD_RESOURCE_CLASSES, "CUSTOM_ZED", "CUSTOM_ALPHA"]


def test_custom_ids_start_at_10000_and_grow(db: Database) -> None:
    with db.write() as conn:
        first = store.create(conn, "CUSTOM_A")
        second = store.create(conn, "CUSTOM_B")
        assert (first.id, second.id) == (10000, 10001)
        assert store.id_for_name(conn, "CUSTOM_B") == 10001
        assert store.names_for_ids(conn, [10000, 0]) == {10000: "CUSTOM_A", 0: "VCPU"}
        with pytest.raises(exc.Exists):
            store.create(conn, "CUSTOM_A")


def test_create_retries_when_its_id_is_taken(db: Database, monkeypatch) -> None:
    with db.write() as conn:
        store.create(conn, "CUSTOM_A")
    real = store._next_custom_id
    picks: list[int] = []

    def stale_then_real(conn) -> int:  # noqa: ANN001
        # The first pick is what a creator racing CUSTOM_A's creator would have seen.
        picks.append(10000 if not picks else real(conn))
        return picks[-1]

    monkeypatch.setattr(store, "_next_custom_id", stale_then_real)
    with db.write() as conn:
        created = store.create(conn, "CUSTOM_B")
    assert picks == [10000, 10001]
    assert created.id == 10001


def test_concurrent_creators_all_succeed(db: Database) -> None:
    errors: list[BaseException] = []

    def creator(worker: int) -> None:
        try:
            for n in range(4):
                db.run_write(lambda conn, n=n: store.create(conn, f"CUSTOM_W{worker}_{n}"))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=creator, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as conn:
        custom = [rc for rc in store.list_all(conn) if not rc.standard]
    assert len(custom) == 12
    assert sorted(rc.id for rc in custom) == list(range(10000, 10012))


def test_ensure(db: Database) -> None:
    with db.write() as conn:
        created, was_created = store.ensure(conn, "CUSTOM_E")
        again, again_created = store.ensure(conn, "CUSTOM_E")
    assert was_created and not again_created
    assert created.id == again.id


def test_last_modified_of_standard_and_custom(db: Database) -> None:
    with db.write() as conn:
        custom = store.create(conn, "CUSTOM_T")
        assert store.get(conn, "VCPU").last_modified is None
        assert store.get(conn, "CUSTOM_T").last_modified == custom.created_at


def _add_inventory(conn, class_id: int) -> None:  # noqa: ANN001 - a Connection
    provider = make_provider(conn, f"rp-{class_id}")
    conn.execute(
        inventories.insert().values(
            resource_provider_id=provider.id,
            resource_class_id=class_id,
            total=1,
            reserved=0,
            min_unit=1,
            max_unit=1,
            step_size=1,
            allocation_ratio=1.0,
            created_at=utcnow(),
        )
    )


def test_rename_rules(db: Database) -> None:
    with db.write() as conn:
        old = store.create(conn, "CUSTOM_OLD")
        store.create(conn, "CUSTOM_TAKEN")
        _add_inventory(conn, old.id)
    with db.write() as conn:
        with pytest.raises(exc.NotFound):
            store.rename(conn, "CUSTOM_MISSING", "CUSTOM_NEW")
        with pytest.raises(exc.Invalid):
            store.rename(conn, "VCPU", "CUSTOM_NEW")
        with pytest.raises(exc.Exists):
            store.rename(conn, "CUSTOM_OLD", "CUSTOM_TAKEN")
        renamed = store.rename(conn, "CUSTOM_OLD", "CUSTOM_NEW")
        assert renamed.id == old.id and renamed.updated_at is not None
        assert store.find(conn, "CUSTOM_OLD") is None
        # Inventories refer to the id, so they follow the rename.
        used = conn.execute(sa.select(inventories.c.resource_class_id)).scalar()
        assert store.names_for_ids(conn, [used]) == {old.id: "CUSTOM_NEW"}


def test_delete_rules(db: Database) -> None:
    with db.write() as conn:
        used = store.create(conn, "CUSTOM_USED")
        store.create(conn, "CUSTOM_FREE")
        _add_inventory(conn, used.id)
    with db.write() as conn:
        with pytest.raises(exc.ResourceClassNotFound):
            store.delete(conn, "CUSTOM_MISSING")
        with pytest.raises(exc.Invalid):
            store.delete(conn, "VCPU")
        with pytest.raises(exc.Conflict):
            store.delete(conn, "CUSTOM_USED")
        store.delete(conn, "CUSTOM_FREE")
        assert store.find(conn, "CUSTOM_FREE") is None
        with pytest.raises(exc.ResourceClassNotFound):
            store.ids_for_names(conn, ["CUSTOM_FREE", "VCPU"])
        assert store.find(conn, "CUSTOM_\x00") is None
