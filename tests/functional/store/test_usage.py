"""Persistence of usages: per provider and per project/user/consumer type (every backend)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from allotment.model import Inventory
from allotment.store import inventory, tables, usage
from allotment.store import resource_provider as rps
from allotment.store.engine import Database
from allotment.store.usage import UsageGroup

VCPU, MEMORY_MB, DISK_GB = 0, 1, 2


def _ids(conn: Connection, table, key: str, value: str) -> int:
    row = conn.execute(table.select().where(table.c[key] == value)).first()
    if row is not None:
        return row.id
    return conn.execute(table.insert().values(**{key: value})).inserted_primary_key[0]


def add_consumer(
    conn: Connection,
    consumer: str,
    project: str,
    user: str,
    consumer_type: str | None,
    allocations: list[tuple[int, int, int]],
) -> None:
    """A consumer row and its allocations: (provider id, class id, used)."""
    conn.execute(
        tables.consumers.insert().values(
            uuid=consumer,
            project_id=_ids(conn, tables.projects, "external_id", project),
            user_id=_ids(conn, tables.users, "external_id", user),
            consumer_type_id=(
                _ids(conn, tables.consumer_types, "name", consumer_type) if consumer_type else None
            ),
            generation=1,
        )
    )
    for provider_id, class_id, used in allocations:
        conn.execute(
            tables.allocations.insert().values(
                resource_provider_id=provider_id,
                consumer_id=consumer,
                resource_class_id=class_id,
                used=used,
            )
        )


def c(n: int) -> str:
    return f"c0000000-0000-0000-0000-0000000000{n:02d}"


@pytest.fixture
def data(db: Database) -> dict[str, int]:
    """Two providers; consumers of projects p1/p2, users u1/u2, types INSTANCE/MIGRATION/none."""
    with db.write() as conn:
        a = rps.create(conn, "00000000-0000-0000-0000-000000000001", "a")
        b = rps.create(conn, "00000000-0000-0000-0000-000000000002", "b")
        inventory.replace_all(
            conn,
            a,
            {
                "VCPU": Inventory("VCPU", 64),
                "MEMORY_MB": Inventory("MEMORY_MB", 8192),
                "DISK_GB": Inventory("DISK_GB", 100),
            },
            0,
        )
        inventory.replace_all(conn, b, {"VCPU": Inventory("VCPU", 64)}, 0)
        add_consumer(
            conn,
            c(1),
            "p1",
            "u1",
            "INSTANCE",
            [(a.id, VCPU, 2), (a.id, MEMORY_MB, 512), (b.id, VCPU, 1)],
        )
        add_consumer(conn, c(2), "p1", "u2", "INSTANCE", [(a.id, VCPU, 4)])
        add_consumer(conn, c(3), "p1", "u1", "MIGRATION", [(b.id, VCPU, 8)])
        add_consumer(conn, c(4), "p1", "u2", None, [(a.id, MEMORY_MB, 256)])
        add_consumer(conn, c(5), "p2", "u1", "INSTANCE", [(b.id, VCPU, 16)])
    return {"a": a.id, "b": b.id}


def test_provider_usages_one_entry_per_inventory_class(db: Database, data) -> None:
    with db.read() as conn:
        assert usage.provider_usages(conn, data["a"]) == {"VCPU": 6, "MEMORY_MB": 768, "DISK_GB": 0}
        assert usage.provider_usages(conn, data["b"]) == {"VCPU": 25}


def test_provider_usages_hide_classes_without_inventory(db: Database, data) -> None:
    with db.write() as conn:
        conn.execute(
            tables.allocations.insert().values(
                resource_provider_id=data["b"], consumer_id=c(5), resource_class_id=DISK_GB, used=3
            )
        )
    with db.read() as conn:
        assert usage.provider_usages(conn, data["b"]) == {"VCPU": 25}


def test_provider_without_inventory_has_no_usages(db: Database) -> None:
    with db.write() as conn:
        provider = rps.create(conn, "00000000-0000-0000-0000-000000000003", "empty")
    with db.read() as conn:
        assert usage.provider_usages(conn, provider.id) == {}


def test_project_usages(db: Database, data) -> None:
    with db.read() as conn:
        assert usage.project_usages(conn, "p1") == {"VCPU": 15, "MEMORY_MB": 768}
        assert usage.project_usages(conn, "p1", "u1") == {"VCPU": 11, "MEMORY_MB": 512}
        assert usage.project_usages(conn, "p2", "u2") == {}
        assert usage.project_usages(conn, "nope") == {}


def test_project_usages_by_type(db: Database, data) -> None:
    with db.read() as conn:
        assert usage.project_usages_by_type(conn, "p1") == {
            "INSTANCE": UsageGroup({"VCPU": 7, "MEMORY_MB": 512}, 2),
            "MIGRATION": UsageGroup({"VCPU": 8}, 1),
            "unknown": UsageGroup({"MEMORY_MB": 256}, 1),
        }
        assert usage.project_usages_by_type(conn, "p1", "u1") == {
            "INSTANCE": UsageGroup({"VCPU": 3, "MEMORY_MB": 512}, 1),
            "MIGRATION": UsageGroup({"VCPU": 8}, 1),
        }


@pytest.mark.parametrize(
    "consumer_type, expected",
    [
        ("all", {"all": UsageGroup({"VCPU": 15, "MEMORY_MB": 768}, 4)}),
        ("unknown", {"unknown": UsageGroup({"MEMORY_MB": 256}, 1)}),
        ("MIGRATION", {"MIGRATION": UsageGroup({"VCPU": 8}, 1)}),
        ("INSTANCE", {"INSTANCE": UsageGroup({"VCPU": 7, "MEMORY_MB": 512}, 2)}),
        ("OTHER", {}),
    ],
)
def test_project_usages_for_one_type(db: Database, data, consumer_type: str, expected) -> None:
    with db.read() as conn:
        assert usage.project_usages_by_type(conn, "p1", consumer_type=consumer_type) == expected


def test_all_for_unknown_project_is_empty(db: Database, data) -> None:
    with db.read() as conn:
        assert usage.project_usages_by_type(conn, "nope", consumer_type="all") == {}
        assert usage.project_usages_by_type(conn, "p2", "u1", consumer_type="all") == {
            "all": UsageGroup({"VCPU": 16}, 1)
        }
