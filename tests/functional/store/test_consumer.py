"""Consumers, projects, users and consumer types in the store, on every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.store import consumer as consumer_store
from allotment.store import tables
from allotment.store.engine import Database
from tests.functional.store.test_allocation import C1, C2, RP_A, cw, make_provider, put


def test_ensure_names_creates_missing_rows_once(db: Database) -> None:
    with db.write() as conn:
        first = consumer_store.ensure_projects(conn, ["p1", "p2"])
        again = consumer_store.ensure_projects(conn, ["p2", "p1", "p3"])
        assert again["p1"] == first["p1"] and again["p2"] == first["p2"]
        assert len(set(again.values())) == 3
        assert consumer_store.ensure_users(conn, []) == {}
        types = consumer_store.ensure_consumer_types(conn, ["INSTANCE"])
        assert consumer_store.ensure_consumer_types(conn, ["INSTANCE"]) == types


def test_create_find_and_duplicate(db: Database) -> None:
    with db.write() as conn:
        project = consumer_store.ensure_projects(conn, ["p"])["p"]
        user = consumer_store.ensure_users(conn, ["u"])["u"]
        ids = consumer_store.create_many(
            conn, [{"uuid": C1, "project_id": project, "user_id": user, "consumer_type_id": None}]
        )
    with db.read() as conn:
        found = consumer_store.find(conn, C1)
    assert found is not None and found.id == ids[C1]
    assert (found.project_id, found.user_id, found.generation, found.consumer_type) == (
        "p",
        "u",
        0,
        None,
    )
    with pytest.raises(consumer_store.RowCreatedConcurrently), db.write() as conn:
        consumer_store.create_many(
            conn, [{"uuid": C1, "project_id": project, "user_id": user, "consumer_type_id": None}]
        )


def test_generation_compare_and_swap(db: Database) -> None:
    with db.write() as conn:
        project = consumer_store.ensure_projects(conn, ["p"])["p"]
        user = consumer_store.ensure_users(conn, ["u"])["u"]
        ids = consumer_store.create_many(
            conn, [{"uuid": C1, "project_id": project, "user_id": user, "consumer_type_id": None}]
        )
        assert consumer_store.increment_generation(conn, ids[C1], 0, project, user) == 1
        with pytest.raises(exc.ConsumerGenerationConflict):
            consumer_store.increment_generation(conn, ids[C1], 0, project, user)


def test_delete_if_no_allocations_keeps_consumers_with_allocations(db: Database) -> None:
    make_provider(db, RP_A, VCPU={"total": 4})
    put(db, cw(C1, {RP_A: {"VCPU": 1}}))
    with db.write() as conn:
        project = consumer_store.ensure_projects(conn, ["p"])["p"]
        consumer_store.create_many(
            conn,
            [{"uuid": C2, "project_id": project, "user_id": project, "consumer_type_id": None}],
        )
        consumer_store.delete_if_no_allocations(conn, [C1, C2])
    with db.read() as conn:
        left = {row.uuid for row in conn.execute(sa.select(tables.consumers.c.uuid))}
    assert left == {C1}


def test_a_looked_up_name_longer_than_its_column_matches_nothing(db: Database) -> None:
    """The lookup's lists are arrays on PostgreSQL; a value longer than the
    column must not be cut down to a stored name by their cast."""
    stored = "p" * 255
    with db.write() as conn:
        consumer_store.ensure_projects(conn, [stored])
    with db.read() as conn:
        known = consumer_store.lookup(conn, [C1], [stored + "x"], ["user"], [])
        exact = consumer_store.lookup(conn, [C1], [stored], ["user"], [])
    assert known.projects == {}
    assert set(exact.projects) == {stored}
