"""Aggregates in the store: provider sets, on-demand creation, no garbage collection."""

from __future__ import annotations

import sqlalchemy as sa

from allotment.store import aggregate as store
from allotment.store.engine import Database
from allotment.store.tables import placement_aggregates
from tests.functional.store.test_trait import make_provider

AGG_1 = "11111111-1111-1111-1111-111111111111"
AGG_2 = "22222222-2222-2222-2222-222222222222"
AGG_3 = "33333333-3333-3333-3333-333333333333"


def _aggregate_count(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(placement_aggregates)).scalar()


def test_set_replaces_and_keeps_aggregates(db: Database) -> None:
    with db.write() as conn:
        provider = make_provider(conn, "rp")
        store.set_provider_aggregates(conn, provider.id, [AGG_2, AGG_1])
        assert store.provider_aggregates(conn, provider.id) == [AGG_1, AGG_2]
        store.set_provider_aggregates(conn, provider.id, [AGG_3, AGG_1])
        assert store.provider_aggregates(conn, provider.id) == [AGG_1, AGG_3]
        store.set_provider_aggregates(conn, provider.id, [])
        assert store.provider_aggregates(conn, provider.id) == []
        # Setting never touches the generation; the handler decides (1.19+).
        assert conn.execute(sa.text("select generation from resource_providers")).scalar() == 0
    assert _aggregate_count(db) == 3  # never garbage collected


def test_aggregates_are_shared_between_providers(db: Database) -> None:
    with db.write() as conn:
        first = make_provider(conn, "first")
        second = make_provider(conn, "second")
        store.set_provider_aggregates(conn, first.id, [AGG_1, AGG_2])
        store.set_provider_aggregates(conn, second.id, [AGG_2])
        assert store.uuids_by_provider(conn, [first.id, second.id]) == {
            first.id: {AGG_1, AGG_2},
            second.id: {AGG_2},
        }
        assert store.uuids_by_provider(conn, []) == {}
    assert _aggregate_count(db) == 2


def test_ensure_aggregates_tolerates_rows_created_meanwhile(db: Database) -> None:
    with db.write() as conn:
        ids = store.ensure_aggregates(conn, [AGG_1])
        # A concurrent writer's rows look exactly like this to the bulk insert:
        # one uuid already present, so the row-by-row fallback must skip it.
        store._insert_ignoring_duplicates(
            conn, placement_aggregates, [{"uuid": AGG_1}, {"uuid": AGG_2}]
        )
        both = store.ensure_aggregates(conn, [AGG_1, AGG_2, AGG_1])
    assert both[AGG_1] == ids[AGG_1]
    assert set(both) == {AGG_1, AGG_2}
    assert _aggregate_count(db) == 2
