"""Schema migrations and standard data, on every backend."""

from __future__ import annotations

import sqlalchemy as sa

from allotment.store import schema, standard, tables
from allotment.store.engine import Database


def test_upgrade_creates_every_table_at_head(db: Database) -> None:
    names = set(sa.inspect(db.engine).get_table_names())
    assert {t.name for t in tables.metadata.sorted_tables} <= names
    assert schema.current_revision(db) == schema.head_revision()
    assert schema.is_at_head(db)


def test_standard_classes_keep_upstream_ids(db: Database) -> None:
    with db.read() as conn:
        rows = dict(
            conn.execute(
                sa.select(tables.resource_classes.c.name, tables.resource_classes.c.id)
            ).all()
        )
    assert rows["VCPU"] == 0
    assert rows["MEMORY_MB"] == 1
    assert rows["DISK_GB"] == 2
    assert rows["NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC"] == 20
    assert len(rows) == len(standard.STANDARD_RESOURCE_CLASSES)


def test_standard_traits_present_and_sync_is_idempotent(db: Database) -> None:
    schema.sync_standard_data(db)
    with db.read() as conn:
        names = {row.name for row in conn.execute(sa.select(tables.traits.c.name))}
    assert names == set(standard.STANDARD_TRAITS)


def test_sync_adds_names_a_newer_package_brings(db: Database) -> None:
    with db.write() as conn:
        conn.execute(sa.delete(tables.traits).where(tables.traits.c.name == "HW_CPU_X86_AVX2"))
        conn.execute(
            sa.delete(tables.resource_classes).where(tables.resource_classes.c.name == "PCPU")
        )
    schema.sync_standard_data(db)
    with db.read() as conn:
        assert (
            conn.execute(
                sa.select(tables.traits.c.id).where(tables.traits.c.name == "HW_CPU_X86_AVX2")
            ).scalar()
            is not None
        )
        assert (
            conn.execute(
                sa.select(tables.resource_classes.c.id).where(
                    tables.resource_classes.c.name == "PCPU"
                )
            ).scalar()
            == 14
        )


def test_write_transaction_rolls_back_on_error(db: Database) -> None:
    try:
        with db.write() as conn:
            conn.execute(tables.projects.insert().values(external_id="p1"))
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.projects)).scalar() == 0
